// Package ruletest runs rule unit tests: sample tickets and what each named
// rule should do with them (match or not and why, the number, the text or
// WhatsApp template, the refusal), like `promtool test rules`. Support ops
// keep them beside rules.yaml and CI runs them with `bridge rules test`.
//
// A test file is YAML:
//
//	rules_file: ../rules.yaml        # relative to the test file
//	tests:
//	  - name: solved ticket texts the requester
//	    ticket: {ticket: {id: "12345", status: Solved, requester: {phone: "9123 4567"}}}
//	    # or: ticket_file: ticket.json (relative to the test file)
//	    invocation_id: inv-1         # optional, Zendesk's X-Zendesk-Webhook-Invocation-Id
//	    expect:
//	      solved-sms: {to: "+6591234567", text: "Hi there, ..."}
//	      vip-update-whatsapp: {matched: false, reason_contains: status}
//
// Each ticket goes through the same decoding, matching, rendering and number
// normalisation as a webhook (notify.Decide), so a test passes exactly when
// the bridge would do what it says. See examples/rules_test.yaml.
package ruletest

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/notify"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
)

// Run runs the tests in files against the rules each names, loaded with
// load (the bridge's own loader, so that tests see what it serves; nil
// loads with rules.Options{}).
//
// It writes a block for each expectation that does not hold, starting with a
// line `FAIL FILE:LINE: test "NAME", rule RULE`, then "N tests, M failed".
// failed is the number of tests with at least one failing expectation; a
// rules file that does not load fails every test that uses it.
//
// err is set, and nothing is run, when a test file is malformed (unreadable,
// not YAML, unknown keys, contradictory expectations, an unusable ticket):
// one line per problem, "FILE:LINE: what is wrong". It is also set when out
// cannot be written.
func Run(files []string, load func(string) (*rules.Set, error), out io.Writer) (failed int, err error) {
	if load == nil {
		load = func(file string) (*rules.Set, error) { return rules.Load(file, rules.Options{}) }
	}
	var suites []*suite
	var errs []error
	for _, f := range files {
		s, err := parseFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		suites = append(suites, s)
	}
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}

	w := &errWriter{w: out}
	total := 0
	for _, s := range suites {
		total += len(s.tests)
		set, err := load(s.rulesFile)
		if err != nil {
			w.printf("FAIL %srules_file %s does not load; every test in this file fails:\n%s\n",
				at(s.file, s.rulesLine), s.rulesFile, indent(err.Error(), "    "))
			failed += len(s.tests)
			continue
		}
		for _, t := range s.tests {
			if !runTest(w, s, set, t) {
				failed++
			}
		}
	}
	noun := "tests"
	if total == 1 {
		noun = "test"
	}
	w.printf("%d %s, %d failed\n", total, noun, failed)
	return failed, w.err
}

func runTest(w *errWriter, s *suite, set *rules.Set, t test) (ok bool) {
	ok = true
	for _, e := range t.expect {
		var ms []mismatch
		if r, found := set.Rule(e.rule); found {
			ms = check(e, notify.Decide(set, r, notify.Input{Data: t.body, InvocationID: t.invocationID, Now: time.Unix(0, 0)}))
		} else {
			ms = []mismatch{plain("rule", fmt.Sprintf("a rule named %q", e.rule),
				fmt.Sprintf("none in %s, whose rules are %s", s.rulesFile, names(set)))}
		}
		if len(ms) == 0 {
			continue
		}
		ok = false
		w.printf("FAIL %stest %q, rule %s\n", at(s.file, e.line), t.name, e.rule)
		for _, m := range ms {
			w.printf("  %s:\n", m.field)
			for _, l := range m.lines {
				w.printf("    %s\n", l)
			}
		}
	}
	return ok
}

func names(set *rules.Set) string {
	if len(set.Rules) == 0 {
		return "none"
	}
	n := make([]string, len(set.Rules))
	for i, r := range set.Rules {
		n[i] = r.Name
	}
	return strings.Join(n, ", ")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// errWriter keeps the first write error, so the report reads straight.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
