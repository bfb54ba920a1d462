package rules

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// LoadError lists every problem found in a rules file. Error gives one line
// per problem: "FILE:LINE: rule NAME: what is wrong", without the rule part
// for problems outside `rules`.
type LoadError struct {
	File     string
	Problems []Problem
}

// Problem is one thing wrong in a rules file.
type Problem struct {
	Line int    // 1-based; 0 when the problem has no line
	Rule string // the rule's name, "#N" for a rule without a usable name, "" outside `rules`
	Msg  string
}

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.format(e.File)
	}
	return strings.Join(lines, "\n")
}

func (p Problem) format(file string) string {
	var b strings.Builder
	b.WriteString(file)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Rule != "" {
		b.WriteString("rule " + p.Rule + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

type problems []Problem

func (ps *problems) add(line int, rule, format string, args ...any) {
	*ps = append(*ps, Problem{Line: line, Rule: rule, Msg: fmt.Sprintf(format, args...)})
}

func (ps problems) err(file string) error {
	if len(ps) == 0 {
		return nil
	}
	return &LoadError{File: file, Problems: ps.tidy()}
}

// tidy orders ps by line, and says once what a mapping merged into
// several places reported in each.
func (ps problems) tidy() []Problem {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	seen := map[Problem]bool{}
	unique := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			unique = append(unique, p)
		}
	}
	return unique
}

// unknownKey words the problem of a key the schema does not have.
func unknownKey(key string, valid []string) string {
	if s, ok := Nearest(key, valid); ok {
		return fmt.Sprintf("unknown key %q, did you mean %q?", key, s)
	}
	return fmt.Sprintf("unknown key %q; valid keys here: %s", key, strings.Join(valid, ", "))
}

// Nearest returns the candidate closest to s by edit distance, when it is
// close enough to be the likely intent: at most 2 edits, and fewer than half
// the letters. Every "did you mean" of the project uses it.
func Nearest(s string, candidates []string) (string, bool) {
	best, bestD := "", -1
	for _, c := range candidates {
		d := distance(strings.ToLower(s), c)
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > 2 || bestD*2 >= len(best) {
		return "", false
	}
	return best, true
}

// distance is the Levenshtein distance with adjacent transpositions counted
// as one edit (optimal string alignment), on bytes: keys are ASCII.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20 // a key that long is no typo of ours
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

var days = regexp.MustCompile(`^(\d+)d(.*)$`)

// ParseDuration reads a once_for value: a Go duration ("720h", "90m",
// "1h30m") or a number of days, alone or followed by a Go duration ("30d",
// "1d12h"). It must be longer than zero.
func ParseDuration(s string) (time.Duration, error) {
	orig := strings.TrimSpace(s)
	rest := orig
	var total time.Duration
	if m := days.FindStringSubmatch(orig); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > int64(maxDuration/(24*time.Hour)) {
			return 0, fmt.Errorf("%q is too long", orig)
		}
		total = time.Duration(n) * 24 * time.Hour
		if m[2] == "" {
			return positive(orig, total)
		}
		rest = m[2]
	}
	d, err := time.ParseDuration(rest)
	if err != nil || (rest != orig && d < 0) {
		return 0, fmt.Errorf("%q is not a duration; write it like 720h, 90m or 30d", orig)
	}
	if d > 0 && total > maxDuration-d {
		return 0, fmt.Errorf("%q is too long", orig)
	}
	return positive(orig, total+d)
}

const maxDuration = time.Duration(1<<63 - 1)

func positive(s string, d time.Duration) (time.Duration, error) {
	if d <= 0 {
		return 0, fmt.Errorf("%q must be longer than zero", s)
	}
	return d, nil
}
