package ruletest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/templates"
)

// load is the bridge's own loader (cmd/bridge's loadRules).
func load(file string) (*rules.Set, error) {
	return rules.Load(file, rules.Options{Engine: templates.New(), Country: phone.Country})
}

func TestRulesTestPasses(t *testing.T) {
	var out bytes.Buffer
	failed, err := Run([]string{"testdata/pass_test.yaml"}, load, &out)
	if err != nil || failed != 0 {
		t.Fatalf("failed %d, err %v\n%s", failed, err, out.String())
	}
	if got, want := out.String(), "3 tests, 0 failed\n"; got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}

// A test file saved with a byte order mark (Notepad) reads as without one.
func TestRulesTestReadsAByteOrderMark(t *testing.T) {
	src, err := os.ReadFile("testdata/pass_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"rules.yaml", "ticket.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "bom_test.yaml")
	if err := os.WriteFile(file, append([]byte("\ufeff"), src...), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if failed, err := Run([]string{file}, load, &out); err != nil || failed != 0 {
		t.Fatalf("failed %d, err %v\n%s", failed, err, out.String())
	}
}

// The report is for people: this is its exact text.
func TestRulesTestReportsEachFailure(t *testing.T) {
	var out bytes.Buffer
	failed, err := Run([]string{"testdata/fail_test.yaml"}, load, &out)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 5 {
		t.Errorf("failed = %d, want 5", failed)
	}
	want := `FAIL testdata/fail_test.yaml:6: test "wrong words and number", rule solved-sms
  to:
    want: "+6591234568"
    got:  "+6591234567"
                     ^
  text:
    want: "Hi Mei, ticket #12345 was solved."
    got:  "Hi Mei, ticket #12345 is solved."
                                 ^
FAIL testdata/fail_test.yaml:9: test "wrong words and number", rule vip-template
  template.name:
    want: "ticket_updated"
    got:  "ticket_update"
                        ^
  template.body parameter 2:
    want: "solved"
    got:  "Solved"
           ^
  once_key:
    want: "vip-template/12345"
    got:  "vip-template/12345-Solved"
                             ^
FAIL testdata/fail_test.yaml:16: test "not what happens", rule solved-sms
  matched:
    want: true
    got:  false: status is open, wanted one of solved; has tag no_sms
FAIL testdata/fail_test.yaml:17: test "not what happens", rule vip-template
  matched:
    want: false
    got:  true: it sends WhatsApp template ticket_update (en_GB) ["9", "Open"] to +6591234567
FAIL testdata/fail_test.yaml:18: test "not what happens", rule every-update
  reason:
    want: contains "status"
    got:  "missing tag notify_every_update"
FAIL testdata/fail_test.yaml:19: test "not what happens", rule solved-smss
  rule:
    want: a rule named "solved-smss"
    got:  none in testdata/rules.yaml, whose rules are solved-sms, vip-template, every-update
FAIL testdata/fail_test.yaml:24: test "refusals", rule solved-sms
  error:
    want: none
    got:  invalid_phone: fixed line cannot receive SMS
FAIL testdata/fail_test.yaml:25: test "refusals", rule vip-template
  error:
    want: empty_parameter
    got:  invalid_phone: fixed line cannot receive WhatsApp messages
FAIL testdata/fail_test.yaml:26: test "refusals", rule every-update
  reason:
    want: contains "not valid"
    got:  "fixed line cannot receive WhatsApp messages"
FAIL testdata/fail_test.yaml:31: test "channels", rule solved-sms
  text:
    want: "Hi 美玲, ticket #10 is solved!"
    got:  "Hi 美玲, ticket #10 is solved."
                                        ^
FAIL testdata/fail_test.yaml:32: test "channels", rule vip-template
  text:
    want: "Ticket #10 is now solved"
    got:  none: it sends WhatsApp template ticket_update (en_GB) ["10", "Solved"] to +6591234567
FAIL testdata/fail_test.yaml:33: test "channels", rule every-update
  template:
    want: ticket_update
    got:  none: it sends WhatsApp text "Ticket #10 is now solved" to +6591234567
  once_key:
    want: "every-update/10"
    got:  none: the rule has once: false and the test no invocation_id
FAIL testdata/fail_test.yaml:38: test "sends after all", rule solved-sms
  error:
    want: invalid_phone
    got:  none: it sends SMS "Hi there, ticket #11 is solved." to +6591234567
5 tests, 5 failed
`
	if got := out.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestRulesTestCountsEveryFile(t *testing.T) {
	var out bytes.Buffer
	failed, err := Run([]string{"testdata/pass_test.yaml", "testdata/fail_test.yaml"}, load, &out)
	if err != nil || failed != 5 {
		t.Fatalf("failed %d, err %v", failed, err)
	}
	if !strings.HasSuffix(out.String(), "\n8 tests, 5 failed\n") {
		t.Fatalf("output:\n%s", out.String())
	}
}

// Broken rules are what the tests are there to catch: every test of the
// file fails, with the loader's own FILE:LINE report.
func TestRulesTestRulesThatDoNotLoad(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "rules.yaml", "version: 1\nrules:\n  - name: a\n    sms: {text: hi}\n")
	file := write(t, dir, "t.yaml", `rules_file: rules.yaml
tests:
  - {name: one, ticket: {ticket: {id: "1"}}, expect: {a: {matched: false}}}
  - {name: two, ticket: {ticket: {id: "2"}}, expect: {a: {matched: false}}}
`)
	var out bytes.Buffer
	failed, err := Run([]string{file}, load, &out)
	if err != nil || failed != 2 {
		t.Fatalf("failed %d, err %v", failed, err)
	}
	rulesFile := filepath.Join(dir, "rules.yaml")
	want := "FAIL " + file + ":1: rules_file " + rulesFile + " does not load; every test in this file fails:\n" +
		"    " + rulesFile + ":4: rule a: sms has no subaccount: set sms.subaccount or defaults.sms.subaccount\n" +
		"2 tests, 2 failed\n"
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// A malformed test file is refused before anything runs, with FILE:LINE.
func TestRulesTestMalformedFiles(t *testing.T) {
	const head = "rules_file: rules.yaml\ntests:\n  - name: t\n"
	for _, tc := range []struct {
		name, src string
		want      []string // each after "FILE:"; a line-less one starts with a space
	}{
		{"unknown key", head + "    ticket: {ticket: {id: \"1\"}}\n    expect:\n      a:\n        matched: false\n        reson_contains: x\n",
			[]string{`8: unknown key "reson_contains", did you mean "reason_contains"?`}},
		{"wrong type", head + "    ticket: {ticket: {id: \"1\"}}\n    expect:\n      a: {matched: yes}\n",
			[]string{`6: matched must be true or false, not text`}},
		{"not a list", "rules_file: rules.yaml\ntests:\n  name: t\n",
			[]string{`3: tests must be a list, not a mapping`}},
		{"duplicate rule", head + "    ticket: {ticket: {id: \"1\"}}\n    expect:\n      a: {matched: false}\n      a: {matched: true}\n",
			[]string{`7: "a" is given twice (first at line 6)`}},
		{"not YAML", head + "    ticket: {ticket: {id: \"1\"}\n    expect: x\n",
			[]string{`5: not valid YAML: ',' or '}' must be specified`}},
		{"a tab, said as rules check says it", head + "    ticket: {ticket: {id: \"1\"}}\n\texpect: {a: {matched: false}}\n",
			[]string{`5: not valid YAML: a tab character; YAML indents with spaces only, so replace the tab with spaces`}},
		{"two documents", head + "    ticket: {ticket: {id: \"1\"}}\n    expect: {a: {matched: false}}\n---\nmore: 1\n",
			[]string{`7: a test file holds one YAML document; remove everything from the second ---`}},
		{"nothing", "", []string{
			` missing rules_file: the rules to test, relative to this file (rules_file: ../rules.yaml)`,
			` no tests: list them under tests:, each with a name, a ticket and what to expect`}},
		{"no ticket, no expectation", head + "    expect:\n      a:\n", []string{
			`3: test "t": needs a ticket (the body, inline) or a ticket_file`,
			`5: test "t": rule a: say what to expect: matched, to, text, template, once_key, error or reason_contains`}},
		{"both tickets, no name, no expect", "rules_file: rules.yaml\ntests:\n  - ticket: {ticket: {}}\n    ticket_file: t.json\n", []string{
			`3: test #1 needs a name`,
			`3: test #1: give ticket or ticket_file, not both`,
			`3: test #1: expect names no rules: under expect:, give each rule to check and what it should do`}},
		{"contradictions", head + "    ticket: {ticket: {id: \"1\"}}\n    expect:\n" +
			"      a: {matched: false, to: \"+6591234567\"}\n" +
			"      b: {error: invalid_phone, text: hi}\n" +
			"      c: {reason_contains: x}\n" +
			"      d: {text: hi, template: {name: x}}\n", []string{
			`6: test "t": rule a: matched: false cannot go with to, text, template, once_key or error, which only a matched rule has`,
			`7: test "t": rule b: a refused rule sends nothing: error cannot go with to, text, template or once_key`,
			`8: test "t": rule c: reason_contains needs matched: false (the reason the rule does not match) or error (the reason it is refused)`,
			`9: test "t": rule d: a message is text or a template, not both`}},
		{"numbers meant as text", head + "    ticket: {ticket: {id: 0012, requester: {phone: +6591234567}}}\n    expect: {a: {matched: false}}\n", []string{
			`4: test "t": ticket: 0012 reads as a number in YAML, and would arrive as 10; quote it: "0012"`,
			`4: test "t": ticket: +6591234567 reads as a number in YAML, and would arrive as 6591234567; quote it: "+6591234567"`}},
		{"decimals written as a body would not send them", head + "    ticket: {ticket: {id: 1, amount: 12345.0, rate: 1.50, ok: 1.5, sci: 1e3}}\n    expect: {a: {matched: false}}\n", []string{
			`4: test "t": ticket: 12345.0 reads as a number in YAML, and would arrive as 12345; quote it: "12345.0"`,
			`4: test "t": ticket: 1.50 reads as a number in YAML, and would arrive as 1.5; quote it: "1.50"`}},
		{"ticket not a body", head + "    ticket: [1]\n    expect: {a: {matched: false}}\n", []string{
			`4: test "t": ticket must be the body Zendesk would send, a mapping like {ticket: {id: "123", status: solved}}`}},
		{"rules file missing", "rules_file: nope.yaml\ntests:\n  - name: t\n    ticket: {ticket: {id: \"1\"}}\n    expect: {a: {matched: false}}\n", []string{
			`1: rules_file nope.yaml: no such file (relative to this test file: DIR/nope.yaml)`}},
		{"a rules file", "version: 1\nrules:\n  - name: a\n    sms: {text: hi}\n", []string{
			`2: this is a rules file (it has rules), not a rules test file: check it with bridge rules check; bridge rules test takes a test file such as examples/rules_test.yaml`}},
		{"ticket file not JSON", head + "    ticket_file: rules.yaml\n    expect: {a: {matched: false}}\n", []string{
			`4: test "t": ticket_file DIR/rules.yaml: the body is not valid JSON: invalid character 'v' looking for beginning of value (byte offset 0)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "rules.yaml", "version: 1\n")
			file := write(t, dir, "t.yaml", tc.src)
			var out bytes.Buffer
			failed, err := Run([]string{file}, load, &out)
			if err == nil {
				t.Fatalf("no error; failed %d, output:\n%s", failed, out.String())
			}
			if out.Len() != 0 {
				t.Errorf("a malformed file ran tests:\n%s", out.String())
			}
			var want []string
			for _, w := range tc.want {
				want = append(want, file+":"+strings.ReplaceAll(w, "DIR", dir))
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Fatalf("error:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}

func TestRulesTestMissingFile(t *testing.T) {
	_, err := Run([]string{"testdata/nope.yaml"}, load, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "testdata/nope.yaml: ") {
		t.Fatalf("err = %v", err)
	}
}

// The caret sits under the first difference as a terminal shows it: quotes
// and escapes counted as printed, wide characters as two columns.
func TestRuleTestCaretColumn(t *testing.T) {
	for _, tc := range []struct {
		want, got string
		col       int
	}{
		{"abc", "abd", 3},
		{"abc", "abcd", 4},
		{"", "x", 1},
		{"a\nb", "a\nc", 4},
		{"美玲 x", "美玲 y", 6},
		{"😀a", "😀b", 3},
	} {
		m := diffText("text", tc.want, tc.got)
		if caret := m.lines[2]; caret != strings.Repeat(" ", len("got:  ")+tc.col)+"^" {
			t.Errorf("%q vs %q: caret line %q, want column %d", tc.want, tc.got, caret, tc.col)
		}
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
