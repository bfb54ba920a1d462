package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The shipped rule tests pass against the shipped rules.yaml, as CI runs them.
func TestRulesTestCommandOnShippedExample(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	getenv := func(string) string { return "" }
	err := run(context.Background(), []string{"rules", "test", "../../examples/rules_test.yaml"}, getenv, nil, &out, io.Discard)
	if err != nil {
		t.Fatalf("exit %d: %v\n%s", exitCode(err), err, out.String())
	}
	if !strings.HasSuffix(out.String(), " tests, 0 failed\n") || strings.Contains(out.String(), "FAIL") {
		t.Fatalf("output:\n%s", out.String())
	}
}

// A failing test exits 1 and says which; a malformed file exits 2 with
// FILE:LINE; no file at all is a usage error.
func TestRulesTestCommandExitCodes(t *testing.T) {
	t.Parallel()
	// rules_file is relative to the test file, which lives elsewhere here.
	rulesFile, err := filepath.Abs("../../rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	failing := writeRulesTest(t, dir, "failing_test.yaml", "rules_file: "+rulesFile+`
tests:
  - name: an open ticket is not texted
    ticket: {ticket: {id: "1", status: open, requester: {phone: "9123 4567"}}}
    expect:
      solved-sms: {to: "+6591234567"}
`)
	malformed := writeRulesTest(t, dir, "malformed_test.yaml", "rules_file: "+rulesFile+"\ntests:\n  - name: x\n    tikcet: {}\n")
	getenv := func(string) string { return "" }

	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a substring
		err    string // a substring
	}{
		{[]string{"rules", "test", failing}, 1,
			"FAIL " + failing + ":6: test \"an open ticket is not texted\", rule solved-sms\n  matched:\n    want: true\n    got:  false: status is open, wanted one of solved\n1 test, 1 failed\n",
			"rule tests failed"},
		{[]string{"rules", "test", malformed}, 2, "", malformed + `:4: unknown key "tikcet", did you mean "ticket"?`},
		{[]string{"rules", "test"}, 2, "", "usage: bridge rules check [FILE...] | bridge rules test FILE..."},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, getenv, nil, &out, io.Discard)
		if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: exit %d, err %v; want exit %d, err containing %q", tc.args, exitCode(err), err, tc.code, tc.err)
		}
		if !strings.Contains(out.String(), tc.stdout) {
			t.Errorf("%v: output:\n%s\nwant it to contain:\n%s", tc.args, out.String(), tc.stdout)
		}
	}
}

func writeRulesTest(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
