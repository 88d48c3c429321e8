package duration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{`"30s"`, 30 * time.Second, ""},
		{`"1h30m"`, 90 * time.Minute, ""},
		{`"0s"`, 0, ""},
		{`"-1m"`, -time.Minute, ""},
		{`30`, 0, `want a duration string such as "30s"`},
		{`"30"`, 0, `invalid duration "30"`},
		{`true`, 0, "want a duration string"},
	}
	for _, tt := range tests {
		var d Duration
		err := json.Unmarshal([]byte(tt.in), &d)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "time.Duration") {
				t.Errorf("%s: error names a Go type: %v", tt.in, err)
			}
			continue
		}
		if err != nil || d.Duration != tt.want {
			t.Errorf("%s: got %v, %v; want %v", tt.in, d, err, tt.want)
			continue
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Duration
		if err := json.Unmarshal(out, &back); err != nil || back != d {
			t.Errorf("%s: round trip gave %s → %v, %v", tt.in, out, back, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`"1m"`, `"1.5h"`, `12`, `"x"`, `null`, `"9223372036854775807ns"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d Duration
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			return
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal %v: %v", d, err)
		}
		var back Duration
		if err := json.Unmarshal(out, &back); err != nil || back != d {
			t.Fatalf("%q: round trip %s gave %v, %v", s, out, back, err)
		}
	})
}
