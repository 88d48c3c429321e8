// Package udiff shows how one text becomes another as a unified diff (diff -u), for
// people reading what a command would change in a small file.
package udiff

import (
	"fmt"
	"strings"
)

// context is how many unchanged lines surround each change.
const context = 3

// maxCells bounds the work of the line matching; beyond it the whole text is shown as
// replaced (a configuration file is far smaller).
const maxCells = 1 << 22

// Diff returns the unified diff that turns old (named oldName) into new (newName), or
// "" when they are equal. A text that does not end in a newline is marked as diff
// marks it.
func Diff(oldName, newName string, old, new []byte) string {
	if string(old) == string(new) {
		return ""
	}
	a, b := lines(string(old)), lines(string(new))
	ops := edits(a, b)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", oldName, newName)
	for _, h := range hunks(ops) {
		writeHunk(&out, h, a, b)
	}
	return out.String()
}

// lines splits s after each newline; a last line without one keeps a marker.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.SplitAfter(s, "\n")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	} else {
		parts[len(parts)-1] += "\n\\ No newline at end of file\n"
	}
	return parts
}

// op is one line of the edit script: kept (' '), removed ('-') or added ('+'), with its
// index in a (for ' ' and '-') or b (for '+').
type op struct {
	kind byte
	a, b int // line indexes in old and new before this op
}

// edits is a shortest edit script from a to b, by longest common subsequence.
func edits(a, b []string) []op {
	n, m := len(a), len(b)
	var ops []op
	if n*m > maxCells {
		for i := range a {
			ops = append(ops, op{'-', i, 0})
		}
		for j := range b {
			ops = append(ops, op{'+', n, j})
		}
		return ops
	}
	// lcs[i][j] is the length of the LCS of a[i:] and b[j:].
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', i, j})
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
			ops = append(ops, op{'+', i, j})
			j++
		default:
			ops = append(ops, op{'-', i, j})
			i++
		}
	}
	return ops
}

// hunks groups the script into runs of changes with their context.
func hunks(ops []op) [][]op {
	var out [][]op
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-context, 0)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			// a run of kept lines: does another change come within 2*context?
			k := end
			for k < len(ops) && ops[k].kind == ' ' {
				k++
			}
			if k == len(ops) || k-end > 2*context {
				break
			}
			end = k
		}
		stop := min(end+context, len(ops))
		out = append(out, ops[start:stop])
		i = stop
	}
	return out
}

func writeHunk(out *strings.Builder, h []op, a, b []string) {
	aStart, bStart := h[0].a, h[0].b
	var aLen, bLen int
	for _, o := range h {
		switch o.kind {
		case ' ':
			aLen++
			bLen++
		case '-':
			aLen++
		case '+':
			bLen++
		}
	}
	fmt.Fprintf(out, "@@ -%s +%s @@\n", span(aStart, aLen), span(bStart, bLen))
	for _, o := range h {
		switch o.kind {
		case ' ':
			out.WriteString(" " + a[o.a])
		case '-':
			out.WriteString("-" + a[o.a])
		case '+':
			out.WriteString("+" + b[o.b])
		}
	}
}

// span is a hunk range as diff writes it: "start,len", 1-based; an empty range names
// the line before it.
func span(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}
