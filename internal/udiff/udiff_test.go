package udiff

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"new file", "", "a\nb\n", "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"one line changed in the middle",
			"1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
			"--- old\n+++ new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"},
		{"two changes far apart make two hunks",
			"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ntwelve\n",
			"--- old\n+++ new\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+twelve\n"},
		{"no newline at the end", "a\nb", "a\nb\n",
			"--- old\n+++ new\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Diff("old", "new", []byte(tt.old), []byte(tt.new)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// apply applies a diff made by Diff to old.
func apply(t *testing.T, old, diff string) string {
	t.Helper()
	a := lines(old)
	dl := strings.SplitAfter(diff, "\n")
	var out []string
	next := 0 // next line of a not yet copied
	for i := 2; i < len(dl) && dl[i] != ""; {
		h := dl[i]
		if !strings.HasPrefix(h, "@@ -") {
			t.Fatalf("bad hunk header %q in\n%s", h, diff)
		}
		rng := strings.Fields(h)[1][1:] // "N", "N,L"
		startS, lenS, hasLen := strings.Cut(rng, ",")
		start, _ := strconv.Atoi(startS)
		if !hasLen || lenS != "0" {
			start-- // "-N,0" inserts after line N; otherwise line N is the first of the hunk
		}
		for next < start {
			out = append(out, a[next])
			next++
		}
		i++
		for i < len(dl) && dl[i] != "" && !strings.HasPrefix(dl[i], "@@") {
			l := dl[i]
			if strings.HasPrefix(l, "\\") {
				i++
				continue
			}
			text := l[1:]
			if i+1 < len(dl) && strings.HasPrefix(dl[i+1], "\\") {
				text += dl[i+1]
			}
			switch l[0] {
			case ' ':
				if a[next] != text {
					t.Fatalf("context %q does not match %q", text, a[next])
				}
				out = append(out, text)
				next++
			case '-':
				if a[next] != text {
					t.Fatalf("removed %q does not match %q", text, a[next])
				}
				next++
			case '+':
				out = append(out, text)
			}
			i++
		}
	}
	out = append(out, a[next:]...)
	s := strings.Join(out, "")
	return strings.ReplaceAll(s, "\n\\ No newline at end of file\n", "")
}

// Random edits: the diff turns the old text into the new one, and GNU diff -u, when
// installed, writes the same number of changed lines (on the first 20: exec is slow).
func TestDiffApplies(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"a", "b", "c", "d", "e"}
	gnu, _ := exec.LookPath("diff")
	dir := t.TempDir()
	for n := 0; n < 100; n++ {
		gen := func() string {
			var b strings.Builder
			for i := r.IntN(25); i > 0; i-- {
				b.WriteString(words[r.IntN(len(words))] + "\n")
			}
			s := b.String()
			if s != "" && r.IntN(5) == 0 {
				s = s[:len(s)-1]
			}
			return s
		}
		old, new := gen(), gen()
		d := Diff("old", "new", []byte(old), []byte(new))
		if (d == "") != (old == new) {
			t.Fatalf("diff %q for %q → %q", d, old, new)
		}
		if d == "" {
			continue
		}
		if got := apply(t, old, d); got != new {
			t.Fatalf("applying\n%s\nto %q gives %q, want %q", d, old, got, new)
		}
		if gnu != "" && n < 20 {
			po, pn := filepath.Join(dir, "o"), filepath.Join(dir, "n")
			os.WriteFile(po, []byte(old), 0o644)
			os.WriteFile(pn, []byte(new), 0o644)
			ref, _ := exec.Command(gnu, "-u", po, pn).Output()
			if c, rc := changed(d), changed(string(ref)); c != rc {
				t.Errorf("%d lines changed, GNU diff %d:\n%s\n%s", c, rc, d, ref)
			}
		}
	}
}

func changed(d string) int {
	n := 0
	for _, l := range strings.Split(d, "\n") {
		if (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---") {
			n++
		}
	}
	return n
}
