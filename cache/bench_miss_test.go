package cache

import (
	"context"
	"testing"
	"time"
)

// BenchmarkFetchMissAndStore is the cache's part of a cold invocation: the entry has
// expired, so Fetch takes the key's lock, calls upstream (in memory here) and stores
// the new entry.
func BenchmarkFetchMissAndStore(b *testing.B) {
	c := &clock{t: time.Now()}
	s := newStore(b, c, Options{SweepInterval: 100000 * time.Hour})
	u := &upstream{c: c}
	key := gkey("gcr.io")
	b.ReportAllocs()
	for b.Loop() {
		c.Add(2 * time.Hour) // the last entry has expired
		if _, err := s.Fetch(context.Background(), key, u.fetch); err != nil {
			b.Fatal(err)
		}
	}
}
