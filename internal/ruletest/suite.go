package ruletest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

// The file as written. Decoding is strict: a key not named here is an error,
// so a typo (reson_contains) cannot silently check nothing.
type fileYAML struct {
	RulesFile string     `yaml:"rules_file"`
	Tests     []testYAML `yaml:"tests"`
}

type testYAML struct {
	Name         string                 `yaml:"name"`
	Ticket       any                    `yaml:"ticket"`
	TicketFile   string                 `yaml:"ticket_file"`
	InvocationID string                 `yaml:"invocation_id"`
	Expect       map[string]*expectYAML `yaml:"expect"`
}

type expectYAML struct {
	Matched        *bool         `yaml:"matched"`
	To             *string       `yaml:"to"`
	Text           *string       `yaml:"text"`
	Template       *templateYAML `yaml:"template"`
	Error          *string       `yaml:"error"`
	ReasonContains *string       `yaml:"reason_contains"`
	OnceKey        *string       `yaml:"once_key"`
}

type templateYAML struct {
	Name     *string   `yaml:"name"`
	Language *string   `yaml:"language"`
	Body     *[]string `yaml:"body"`
}

// sends says whether the expectation describes a message or a refusal, which
// only a matched rule has.
func (e *expectYAML) sends() bool {
	return e.To != nil || e.Text != nil || e.Template != nil || e.Error != nil || e.OnceKey != nil
}

// matched is what the expectation says about the rule's `when`: matched as
// written, else true when it describes a message or a refusal.
func (e *expectYAML) matched() bool {
	if e.Matched != nil {
		return *e.Matched
	}
	return true
}

// suite is one test file, read and checked, ready to run.
type suite struct {
	file      string // as given on the command line
	rulesFile string // resolved against the test file's directory
	rulesLine int
	tests     []test
}

type test struct {
	name         string
	line         int
	body         map[string]any
	invocationID string
	expect       []expectation // in file order
}

type expectation struct {
	rule string
	line int
	*expectYAML
}

// parseFile reads a test file. Any problem is an error of lines
// "FILE:LINE: what is wrong".
func parseFile(file string) (*suite, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	// The decoded values say what; the syntax tree says where and in which
	// order (a map forgets both).
	src = rules.WithoutBOM(src)
	tree, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, yamlError(file, src, nil, err)
	}
	var top ast.Node
	if len(tree.Docs) > 0 {
		top = tree.Docs[0].Body
	}
	if _, tests := lookup(top, "tests"); tests == nil {
		if l, _ := lookup(top, "rules"); l > 0 {
			return nil, fmt.Errorf("%sthis is a rules file (it has rules), not a rules test file: check it with bridge rules check; "+
				"bridge rules test takes a test file such as examples/rules_test.yaml", at(file, l))
		}
	}
	var f fileYAML
	if err := yaml.UnmarshalWithOptions(src, &f, yaml.Strict()); err != nil {
		return nil, yamlError(file, src, top, err)
	}

	if len(tree.Docs) > 1 {
		return nil, fmt.Errorf("%sa test file holds one YAML document; remove everything from the second ---", at(file, firstLine(tree.Docs[1].Body, 0)))
	}

	r := &reader{file: file, dir: filepath.Dir(file)}
	s := &suite{file: file}
	s.rulesLine, _ = lookup(top, "rules_file")
	if strings.TrimSpace(f.RulesFile) == "" {
		r.bad(s.rulesLine, "missing rules_file: the rules to test, relative to this file (rules_file: ../rules.yaml)")
	} else {
		s.rulesFile = resolve(r.dir, f.RulesFile)
		// A path that leads nowhere is this file's mistake, not the rules':
		// malformed (exit 2) rather than every test failed (exit 1).
		if _, err := os.Stat(s.rulesFile); err != nil {
			r.bad(s.rulesLine, "rules_file %s: no such file (relative to this test file: %s)", f.RulesFile, s.rulesFile)
		}
	}
	testsLine, testsNode := lookup(top, "tests")
	if len(f.Tests) == 0 {
		r.bad(testsLine, "no tests: list them under tests:, each with a name, a ticket and what to expect")
	}
	var items []ast.Node
	if seq, ok := testsNode.(*ast.SequenceNode); ok {
		items = seq.Values
	}
	for i, ty := range f.Tests {
		var node ast.Node
		if i < len(items) {
			node = unwrap(items[i])
		}
		s.tests = append(s.tests, r.test(i, ty, node, testsLine))
	}
	if len(r.probs) > 0 {
		return nil, errors.New(strings.Join(r.probs, "\n"))
	}
	return s, nil
}

// reader collects a file's problems, so that one run reports them all.
type reader struct {
	file, dir string
	probs     []string
}

func (r *reader) bad(line int, format string, args ...any) {
	r.probs = append(r.probs, at(r.file, line)+fmt.Sprintf(format, args...))
}

// test checks the i-th test, whose syntax tree is node (nil when the tree
// does not show it, as with a merge).
func (r *reader) test(i int, ty testYAML, node ast.Node, fallbackLine int) test {
	t := test{name: strings.TrimSpace(ty.Name), line: firstLine(node, fallbackLine), invocationID: ty.InvocationID}
	label := fmt.Sprintf("test %q: ", t.name)
	if t.name == "" {
		label = fmt.Sprintf("test #%d: ", i+1)
		r.bad(t.line, "test #%d needs a name", i+1)
	}

	ticketLine, ticketNode := lookup(node, "ticket")
	fileLine, _ := lookup(node, "ticket_file")
	switch {
	case ty.Ticket != nil && ty.TicketFile != "":
		r.bad(or(ticketLine, t.line), "%sgive ticket or ticket_file, not both", label)
	case ty.Ticket != nil:
		t.body = r.inlineBody(or(ticketLine, t.line), label, ty.Ticket, ticketNode)
	case ty.TicketFile != "":
		path := resolve(r.dir, ty.TicketFile)
		b, err := os.ReadFile(path)
		if err != nil {
			r.bad(or(fileLine, t.line), "%sticket_file: %v", label, err)
		} else if t.body, err = zendesk.DecodeBody(b); err != nil {
			r.bad(or(fileLine, t.line), "%sticket_file %s: %v", label, path, err)
		}
	default:
		r.bad(t.line, "%sneeds a ticket (the body, inline) or a ticket_file", label)
	}

	expectLine, expectNode := lookup(node, "expect")
	if len(ty.Expect) == 0 {
		r.bad(firstLine(expectNode, t.line), "%sexpect names no rules: under expect:, give each rule to check and what it should do", label)
	}
	for _, name := range keysInOrder(expectNode, ty.Expect) {
		e := expectation{rule: name, expectYAML: ty.Expect[name]}
		e.line, _ = lookup(expectNode, name)
		e.line = or(e.line, or(expectLine, t.line))
		for _, p := range e.problems() {
			r.bad(e.line, "%srule %s: %s", label, name, p)
		}
		t.expect = append(t.expect, e)
	}
	return t
}

// inlineBody turns a ticket written in YAML into the body a webhook would
// carry: JSON first, so that numbers arrive as they would from Zendesk.
func (r *reader) inlineBody(line int, label string, v any, node ast.Node) map[string]any {
	for _, n := range numbersMeantAsText(node) {
		tok := n.GetToken()
		r.bad(tok.Position.Line, "%sticket: %s reads as a number in YAML, and would arrive as %v; quote it: %q",
			label, tok.Value, decoded(n), tok.Value)
	}
	if _, ok := v.(map[string]any); !ok {
		r.bad(line, "%sticket must be the body Zendesk would send, a mapping like {ticket: {id: \"123\", status: solved}}", label)
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		r.bad(line, "%sticket cannot be written as JSON: %v", label, err)
		return nil
	}
	body, err := zendesk.DecodeBody(b)
	if err != nil {
		r.bad(line, "%sticket: %v", label, err)
	}
	return body
}

func or(line, fallback int) int {
	if line > 0 {
		return line
	}
	return fallback
}

// problems are expectations that contradict themselves or check nothing.
func (e expectation) problems() []string {
	if e.expectYAML == nil {
		return []string{"say what to expect: matched, to, text, template, once_key, error or reason_contains"}
	}
	var out []string
	if e.Matched != nil && !*e.Matched && e.sends() {
		out = append(out, "matched: false cannot go with to, text, template, once_key or error, which only a matched rule has")
	}
	if e.Error != nil && (e.To != nil || e.Text != nil || e.Template != nil || e.OnceKey != nil) {
		out = append(out, "a refused rule sends nothing: error cannot go with to, text, template or once_key")
	}
	if e.Error != nil && strings.TrimSpace(*e.Error) == "" {
		out = append(out, "error is empty; give the refusal code, such as invalid_phone")
	}
	if e.Text != nil && e.Template != nil {
		out = append(out, "a message is text or a template, not both")
	}
	if e.Template != nil && e.Template.Name == nil && e.Template.Language == nil && e.Template.Body == nil {
		out = append(out, "template is empty; give its name, language or body")
	}
	if e.ReasonContains != nil && e.matched() && e.Error == nil {
		out = append(out, "reason_contains needs matched: false (the reason the rule does not match) or error (the reason it is refused)")
	}
	return out
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func at(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d: ", file, line)
	}
	return file + ": "
}

// unwrap looks through anchors and tags to the node itself.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

// lookup finds key in mapping m: the key's line and the value. It returns
// zeros when m is not a mapping or has no such key (a merge, say).
func lookup(m ast.Node, key string) (int, ast.Node) {
	mm, ok := unwrap(m).(*ast.MappingNode)
	if !ok {
		return 0, nil
	}
	for _, kv := range mm.Values {
		if tok := kv.Key.GetToken(); tok != nil && tok.Value == key {
			return tok.Position.Line, unwrap(kv.Value)
		}
	}
	return 0, nil
}

// firstLine is where node starts, or fallback when unknown.
func firstLine(n ast.Node, fallback int) int {
	if mm, ok := n.(*ast.MappingNode); ok && len(mm.Values) > 0 {
		n = mm.Values[0].Key
	}
	if n != nil {
		if tok := n.GetToken(); tok != nil && tok.Position != nil && tok.Position.Line > 0 {
			return tok.Position.Line
		}
	}
	return fallback
}

// keysInOrder lists the keys of decoded in the order the file writes them;
// keys the tree does not show (merged in), after them, sorted.
func keysInOrder[V any](n ast.Node, decoded map[string]V) []string {
	var out []string
	seen := map[string]bool{}
	if mm, ok := n.(*ast.MappingNode); ok {
		for _, kv := range mm.Values {
			if tok := kv.Key.GetToken(); tok != nil {
				if _, ok := decoded[tok.Value]; ok && !seen[tok.Value] {
					out = append(out, tok.Value)
					seen[tok.Value] = true
				}
			}
		}
	}
	var rest []string
	for k := range decoded {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// numbersMeantAsText finds the unquoted scalars in a ticket that YAML reads
// as numbers though a person meant text: "+6591234567" becomes 6591234567,
// "0091234567" or "012" lose their leading zeros. A real Zendesk body
// carries placeholders in quotes, so these are always strings there.
func numbersMeantAsText(n ast.Node) []ast.Node {
	var out []ast.Node
	var walk func(ast.Node)
	walk = func(n ast.Node) {
		switch v := unwrap(n).(type) {
		case *ast.MappingNode:
			for _, kv := range v.Values {
				walk(kv.Value)
			}
		case *ast.MappingValueNode:
			walk(v.Value)
		case *ast.SequenceNode:
			for _, item := range v.Values {
				walk(item)
			}
		case *ast.IntegerNode:
			if s := v.GetToken().Value; leadingSignOrZero.MatchString(s) {
				out = append(out, v)
			}
		case *ast.FloatNode:
			if s := v.GetToken().Value; leadingSignOrZero.MatchString(s) || !sameDecimal(s, v.Value) {
				out = append(out, v)
			}
		}
	}
	if n != nil {
		walk(n)
	}
	return out
}

// sameDecimal says whether the number written as text in a JSON body
// would render as YAML's float f renders: "1.5" does, "12345.0" and "1.50"
// do not (a body keeps them as written, YAML makes them 12345 and 1.5).
func sameDecimal(text string, f float64) bool {
	if strings.ContainsAny(text, "eE") { // a body writes these out too
		if d, ok := zendesk.Decimal(text); ok {
			text = d
		}
	}
	return text == strconv.FormatFloat(f, 'f', -1, 64)
}

var leadingSignOrZero = regexp.MustCompile(`^(\+|-?0[0-9xXoObB_])`)

// decoded is the value YAML reads n as.
func decoded(n ast.Node) any {
	var v any
	if err := yaml.NodeToValue(n, &v); err != nil {
		return n.GetToken().Value
	}
	return v
}
