// Package templates renders the Liquid in rules.yaml (recipient, fire-once
// key, message text) against a webhook body.
//
// It wraps osteele/liquid with the standard filters and tags, and adds what a
// notification bridge needs and the library lacks:
//
//   - Values from the ticket are data, never template code: Liquid never parses
//     what a variable holds, so a title of "{{ 7 | plus: 1 }}" stays literal.
//   - A template is refused at load time, not at send time, for what it can
//     never do right: an unknown filter (which the library reports only when
//     that expression runs), {% include %} (which would read files from the
//     bridge's disk), {% cycle %} (which races between concurrent renders in
//     osteele/liquid v1.6.0), a "{{" or "{%" that is never closed (which the
//     library prints as text), a loop inside a loop, and a range whose size
//     is not written in the template, like (1..ticket.count).
//   - Rendering is bounded: output stops with an error at MaxOutput bytes, and
//     with no nested loops and literal ranges of at most MaxRange items, the
//     work is linear in the template and the body. A template written to blow
//     up on purpose ({% assign s = s | append: s %} in a loop) can still use
//     memory; rules.yaml is trusted configuration.
//   - Render never panics: library panics become errors.
//
// A list renders as its items run together ("vipgold"), as in Shopify's
// Liquid, which Zendesk uses; write {{ ticket.tags | join: ", " }} for a
// separated list. List filters (join, first, sort) need a JSON array: on
// ticket.tags sent as Zendesk's space-separated text they fail at render
// time, where {{ ticket.tags | split: " " | join: ", " }} works (split
// here also takes a list; rules check warns of the first form). Nothing is
// registered beyond the library's standard filters and tags, and a few of
// them are replaced where the library departs from Shopify (capitalize,
// truncate, date, split, and the arithmetic in arith.go). date reads "now"
// from the clock, in the process's time zone (UTC in the image), as
// Shopify does on its server.
//
// A template of only text and plain variables ({{ ticket.id }}) renders
// without the library's evaluator, to the same bytes (see fast.go).
package templates

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/render"
)

const (
	// MaxOutput is the most one template may render, in bytes. An SMS is
	// at most a few hundred bytes; this bound only stops a runaway loop.
	MaxOutput = 64 << 10
	// MaxRange is the most items a literal range such as (1..5) may have.
	MaxRange = 1000
)

// Engine parses templates. It is safe for concurrent use.
type Engine struct {
	liquid *liquid.Engine

	mu      sync.Mutex
	filters map[string]bool // filter name → defined, learned by probing
}

// New returns an engine with Liquid's standard filters and tags.
func New() *Engine {
	e := liquid.NewEngine()
	// osteele/liquid's capitalize upper-cases the first byte only: "OPEN"
	// stays "OPEN" (Shopify and Zendesk give "Open") and a non-ASCII first
	// letter is cut into invalid UTF-8. This one follows Shopify, by rune.
	e.RegisterFilter("capitalize", capitalize)
	// Its truncate compiles a regexp on every call (a fifth of a webhook's
	// rendering time), panics when the length is shorter than the ellipsis
	// or over 1000, and does not count across newlines.
	e.RegisterFilter("truncate", truncate)
	// Its arithmetic is done in floats, and divided_by mixes the two: see
	// arith.go.
	e.RegisterFilter("plus", plus)
	e.RegisterFilter("minus", minus)
	e.RegisterFilter("times", times)
	e.RegisterFilter("modulo", modulo)
	e.RegisterFilter("divided_by", dividedBy)
	// Its date prints "Jan 01" for a missing value: see date.go.
	e.RegisterFilter("date", date)
	// Its split prints a list as Go does before splitting it: see split.go.
	e.RegisterFilter("split", split)
	// Its escape writes " as &#34; where Shopify writes &quot;, and its
	// escape_once wants a second argument.
	e.RegisterFilter("escape", escapeHTML.Replace)
	e.RegisterFilter("escape_once", func(s string) string { return escapeHTML.Replace(html.UnescapeString(s)) })
	return &Engine{liquid: e, filters: map[string]bool{}}
}

// truncate is Shopify's: at most length characters, the ellipsis included.
func truncate(s string, length func(int) int, ellipsis func(string) string) string {
	n, el := length(50), ellipsis("...")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	keep := max(n-utf8.RuneCountInString(el), 0)
	r := []rune(s)
	return string(r[:keep]) + el
}

// escapeHTML is Ruby's CGI.escapeHTML, which Shopify's escape uses.
var escapeHTML = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(unicode.ToTitle(r)) + strings.ToLower(s[size:])
}

// Template is a parsed template. It is safe for concurrent use.
type Template struct {
	src string
	tpl *liquid.Template
	// plan renders the template without the library when it is only text
	// and plain variables (see fast.go); nil otherwise.
	plan *plan
	// printed are the variables the template prints at its top level
	// without a default filter (see Missing).
	printed [][]string
}

// Parse parses src and refuses what could only fail or misbehave later (see
// the package comment). The error is the library's message without its
// "Liquid error" prefix; for a template of several lines it starts with the
// line within the template.
func (e *Engine) Parse(src string) (t *Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			// The library's lexer panics on an integer literal beyond int64.
			if ne, ok := r.(*strconv.NumError); ok {
				t, err = nil, fmt.Errorf("the number %s is too large", ne.Num)
				return
			}
			t, err = nil, fmt.Errorf("the template could not be parsed: %v", r)
		}
	}()
	multiline := strings.Contains(src, "\n")
	tpl, serr := e.liquid.ParseTemplateLocation([]byte(src), "", 1)
	if serr != nil {
		return nil, errors.New(message(serr, multiline))
	}
	v := validator{engine: e, multiline: multiline}
	v.walk(tpl.GetRoot(), false)
	if v.err != nil {
		return nil, v.err
	}
	return &Template{src: src, tpl: tpl, plan: compile(tpl.GetRoot()), printed: printedPaths(tpl.GetRoot())}, nil
}

// Missing lists, as dotted paths, the variables the template prints that
// are absent (or null) in data, in order and once each: each prints
// nothing, as in Zendesk, which is how a typo such as {{ ticket.lnk }}
// goes unseen. Only outputs that then print nothing are listed: a plain
// variable, or one through filters that turn nothing into nothing (upcase,
// truncate, ...). A variable printed with a default (or size, append...),
// inside a tag such as {% if %}, or set by assign or capture, is not.
func (t *Template) Missing(data map[string]any) []string {
	var out []string
	for _, path := range t.printed {
		if v, ok := lookup(data, path); ok && v == nil {
			if p := strings.Join(path, "."); !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Objects lists, as dotted paths, the variables the template prints that
// are objects in data ({{ ticket.requester }} where the body has
// requester: {name, phone}): an object prints as Go writes a map, all its
// fields run together, which is never the message meant.
func (t *Template) Objects(data map[string]any) []string {
	var out []string
	for _, path := range t.printed {
		v, ok := lookup(data, path)
		if !ok {
			continue
		}
		if _, isObject := v.(map[string]any); isObject {
			if p := strings.Join(path, "."); !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// printedPaths finds the {{ variable }} outputs at the top level of a
// parsed template that print nothing when the variable is absent.
func printedPaths(root render.Node) [][]string {
	seq, ok := root.(*render.SeqNode)
	if !ok {
		return nil
	}
	assigned := map[string]bool{}
	var out [][]string
	for _, n := range seq.Children {
		switch n := n.(type) {
		case *render.TagNode:
			if n.Name == "assign" {
				name, _, _ := strings.Cut(n.Args, "=")
				assigned[strings.TrimSpace(name)] = true
			}
		case *render.BlockNode:
			if n.Name == "capture" {
				assigned[strings.TrimSpace(n.Args)] = true
			}
		case *render.ObjectNode:
			expr, filters, _ := strings.Cut(n.Args, "|")
			if !emptyStaysEmpty(filters) {
				continue
			}
			if path := variablePath(strings.TrimSpace(expr)); path != nil && !assigned[path[0]] {
				out = append(out, path)
			}
		}
	}
	return out
}

// emptyStaysEmpty reports whether every filter of a chain ("upcase |
// truncate: 20") prints nothing for nothing. Filters written with literal
// strings are not split exactly, which only errs towards not listing.
func emptyStaysEmpty(chain string) bool {
	if strings.TrimSpace(chain) == "" {
		return true
	}
	for f := range strings.SplitSeq(chain, "|") {
		name, _, _ := strings.Cut(f, ":")
		switch strings.TrimSpace(name) {
		case "upcase", "downcase", "capitalize", "strip", "lstrip", "rstrip", "strip_html",
			"strip_newlines", "escape", "escape_once", "url_encode", "truncate", "truncatewords", "date":
		default:
			return false
		}
	}
	return true
}

// Source returns the template text as written.
func (t *Template) Source() string { return t.src }

var errTooLong = fmt.Errorf("the rendered text is longer than %d bytes", MaxOutput)

// Render renders the template with data as its variables. data is not
// modified. A missing variable renders as nothing, as in Zendesk.
func (t *Template) Render(data map[string]any) (string, error) {
	if t.plan != nil {
		// A plan cannot panic: it only switches on types and indexes what
		// it has checked the length of.
		if out, err := t.plan.render(data); err != errSlowPath {
			return out, err
		}
	}
	return t.renderLiquid(data)
}

// renderLiquid renders with osteele/liquid, whatever the template.
func (t *Template) renderLiquid(data map[string]any) (out string, err error) {
	w := &limitWriter{max: MaxOutput}
	defer func() {
		if r := recover(); r != nil {
			out, err = "", errors.New(dropStack(fmt.Sprintf("the template failed: %v", r)))
		}
		if w.exceeded { // the library may report it wrapped, or panic with it
			out, err = "", errTooLong
		}
	}()
	if data == nil {
		data = map[string]any{}
	}
	if serr := t.tpl.FRender(w, data); serr != nil {
		return "", errors.New(message(pinpoint(serr, t.tpl.GetRoot()), strings.Contains(t.src, "\n")))
	}
	return w.buf.String(), nil
}

// Check renders the template with an empty ticket and with a sample ticket,
// so that what parses but cannot render (a filter given the wrong number of
// arguments, a division by a literal zero) is reported when rules load, not
// when a customer should have been notified.
//
// The sample is tried with ticket.tags both as Zendesk's space-separated
// string and as a JSON array, since a body may carry either: a template
// passes if it renders with one of them ({{ ticket.tags | join: ", " }} needs
// the array, {{ ticket.tags | split: " " }} the string).
//
// A division by a field neither ticket has (errNoDivisor) is the data's
// doing, not the template's: it passes.
func (t *Template) Check() error {
	if err := t.checkWith(map[string]any{}); err != nil {
		return fmt.Errorf("%w (rendering with an empty ticket)", err)
	}
	err := t.checkWith(sample("vip notify_customer_sms"))
	if err == nil {
		return nil
	}
	if err2 := t.checkWith(sample([]any{"vip", "notify_customer_sms"})); err2 == nil {
		return nil
	}
	return fmt.Errorf("%w (rendering with a sample ticket)", err)
}

// checkWith renders with data for Check. A division by a field data lacks
// (errNoDivisor) is the data's doing: the field is given a value and the
// render tried again, so that what follows the division is checked too.
// What then fails counts only if it fails with two values (1 and 7): a
// value can itself lead to a zero or a branch real tickets never take.
func (t *Template) checkWith(data map[string]any) error {
	err := t.checkFilled(data, 1)
	if err == nil || t.checkFilled(data, 7) == nil {
		return nil
	}
	return err
}

func (t *Template) checkFilled(data map[string]any, fill int64) error {
	for range 32 {
		_, err := t.Render(data)
		if err == nil || !strings.Contains(err.Error(), errNoDivisor.Error()) {
			return err
		}
		filled := false
		for _, m := range divisorPath.FindAllStringSubmatch(err.Error(), -1) {
			path := strings.Split(m[1], ".")
			if _, ok := lookupPath(data, path); !ok {
				data = withPath(data, path, fill)
				filled = true
			}
		}
		if !filled {
			return nil // a divisor not named by a plain path: leave it to the ticket
		}
	}
	return nil
}

var divisorPath = regexp.MustCompile(`(?:divided_by|modulo):\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)`)

func lookupPath(data map[string]any, path []string) (any, bool) {
	var v any = data
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok || v == nil || v == "" {
			return nil, false
		}
	}
	return v, true
}

// withPath is a copy of data with value at path (maps on the way copied,
// so that the sample is not changed for the next check).
func withPath(data map[string]any, path []string, value any) map[string]any {
	out := make(map[string]any, len(data)+1)
	for k, v := range data {
		out[k] = v
	}
	if len(path) == 1 {
		out[path[0]] = value
		return out
	}
	inner, _ := out[path[0]].(map[string]any)
	out[path[0]] = withPath(inner, path[1:], value)
	return out
}

// sample is a ticket as the recommended webhook body delivers it.
func sample(tags any) map[string]any {
	return map[string]any{
		"ticket": map[string]any{
			"id":       int64(12345),
			"title":    "Printer on fire",
			"status":   "open",
			"priority": "normal",
			"tags":     tags,
			"link":     "https://example.zendesk.com/agent/tickets/12345",
			"via":      "Web form",
			"requester": map[string]any{
				"id":         int64(8447388090494),
				"name":       "Ann Lee",
				"first_name": "Ann",
				"phone":      "+65 9123 4567",
				"language":   "English",
				"country":    "SG",
			},
		},
	}
}

// message drops the library's "Liquid error" prefix, and keeps the line only
// when the template has more than one.
func message(err error, multiline bool) string {
	s := dropStack(err.Error())
	if rest, ok := strings.CutPrefix(s, "Liquid error: "); ok {
		return rest
	}
	if rest, ok := strings.CutPrefix(s, "Liquid error (line "); ok {
		if n, msg, ok := strings.Cut(rest, "): "); ok {
			if multiline {
				return "line " + n + ": " + msg
			}
			return msg
		}
	}
	return s
}

// pinpoint names the tag at fault in a filter's error. The library reports
// an error inside a block at the block's opening tag ("in {% if x %}"), not
// at the {{ }} inside it that failed; when exactly one output or tag in the
// template uses the failing filter, the error names that one instead.
func pinpoint(err error, root render.Node) error {
	msg := dropStack(err.Error())
	m := failedFilter.FindStringSubmatch(msg)
	if m == nil {
		return err
	}
	uses := regexp.MustCompile(`\|\s*` + regexp.QuoteMeta(m[1]) + `\b`)
	var found []render.Node
	var walk func(render.Node)
	walk = func(n render.Node) {
		switch n := n.(type) {
		case *render.SeqNode:
			for _, c := range n.Children {
				walk(c)
			}
		case *render.BlockNode:
			if uses.MatchString(n.Args) {
				found = append(found, n)
			}
			for _, c := range n.Body {
				walk(c)
			}
			for _, c := range n.Clauses {
				walk(c)
			}
		case *render.TagNode:
			if uses.MatchString(n.Args) {
				found = append(found, n)
			}
		case *render.ObjectNode:
			if uses.MatchString(n.Args) {
				found = append(found, n)
			}
		}
	}
	walk(root)
	if len(found) != 1 {
		return err
	}
	loc := found[0].SourceLocation()
	src := found[0].SourceText()
	in := strings.LastIndex(msg, " in {") // not an "in" within a for tag
	if in < 0 || strings.HasSuffix(msg, " in "+src) {
		return err
	}
	// The line is the tag's own, as the library writes it.
	head := msg[:in]
	if loc.LineNo > 0 {
		if rest, ok := strings.CutPrefix(head, "Liquid error (line "); ok {
			if _, after, ok := strings.Cut(rest, "): "); ok {
				head = "Liquid error (line " + strconv.Itoa(loc.LineNo) + "): " + after
			}
		}
	}
	return errors.New(head + " in " + src)
}

var failedFilter = regexp.MustCompile(`error applying filter "([^"]+)"`)

// dropStack cuts the goroutine stack the library appends to a panic it
// recovered (and sometimes panics with again): source paths and addresses
// are no answer for an admin.
func dropStack(s string) string {
	if before, _, ok := strings.Cut(s, "\nOriginal stacktrace:"); ok {
		return strings.TrimSpace(before)
	}
	return s
}

type limitWriter struct {
	buf      bytes.Buffer
	max      int
	exceeded bool
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		w.exceeded = true
		return 0, errTooLong
	}
	return w.buf.Write(p)
}

// validator walks a parsed template for what Parse refuses. It stops at the
// first problem.
type validator struct {
	engine    *Engine
	multiline bool
	err       error
}

func (v *validator) fail(line int, source, format string, args ...any) {
	if v.err != nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if source != "" {
		msg += " in " + source
	}
	if v.multiline && line > 0 {
		msg = "line " + strconv.Itoa(line) + ": " + msg
	}
	v.err = errors.New(msg)
}

func (v *validator) walk(n render.Node, inLoop bool) {
	switch n := n.(type) {
	case *render.SeqNode:
		for _, c := range n.Children {
			v.walk(c, inLoop)
		}
	case *render.BlockNode:
		loop := n.Name == "for" || n.Name == "tablerow"
		if loop && inLoop {
			v.fail(n.SourceLoc.LineNo, n.Source, "a loop inside a loop is not allowed, so that rendering stays fast")
		}
		v.expression(n.SourceLoc.LineNo, n.Source, n.Args)
		for _, c := range n.Body {
			v.walk(c, inLoop || loop)
		}
		for _, c := range n.Clauses {
			v.walk(c, inLoop || loop)
		}
	case *render.TagNode:
		switch n.Name {
		case "include":
			v.fail(n.SourceLoc.LineNo, n.Source, "the include tag is not available: templates cannot read files")
		case "cycle":
			// osteele/liquid v1.6.0's cycle writes a variable shared by every
			// render of the template: a data race under concurrent webhooks.
			v.fail(n.SourceLoc.LineNo, n.Source, "the cycle tag is not available")
		}
		v.expression(n.SourceLoc.LineNo, n.Source, n.Args)
	case *render.ObjectNode:
		v.expression(n.SourceLoc.LineNo, n.Source, n.Args)
	case *render.TextNode:
		// The library prints an unclosed "{{ x" as text; here it is a typo.
		for _, open := range []string{"{{", "{%"} {
			if strings.Contains(n.Source, open) {
				closing := map[string]string{"{{": "}}", "{%": "%}"}[open]
				v.fail(n.SourceLoc.LineNo, "", "%q is never closed with %q; to print it, use {%% raw %%}%s{%% endraw %%}", open, closing, open)
			}
		}
	}
}

var (
	// A range with literal bounds, after string literals are blanked out.
	literalRange = regexp.MustCompile(`\(\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*\)`)
	// A filter application: "| name" (the name as the library's lexer reads it).
	filterName = regexp.MustCompile(`\|\s*([A-Za-z_][A-Za-z0-9_-]*\??)`)
)

// expression checks the ranges and filters of a tag's arguments or an
// object's expression.
func (v *validator) expression(line int, source, expr string) {
	code := blankStrings(expr)
	for _, m := range literalRange.FindAllStringSubmatch(code, -1) {
		lo, err1 := strconv.Atoi(m[1])
		hi, err2 := strconv.Atoi(m[2])
		if err1 != nil || err2 != nil || hi-lo+1 > MaxRange {
			v.fail(line, source, "the range %s has more than %d items", strings.Join(strings.Fields(m[0]), ""), MaxRange)
		}
	}
	if strings.Contains(literalRange.ReplaceAllString(code, ""), "..") {
		v.fail(line, source, "a range must have whole numbers written in the template as bounds, like (1..5)")
	}
	for _, m := range filterName.FindAllStringSubmatch(code, -1) {
		if !v.engine.hasFilter(m[1]) {
			v.fail(line, source, "undefined filter %q", m[1])
		}
	}
}

// blankStrings replaces the text of string literals with spaces, so that a
// "|" or ".." inside quotes is not read as code. Liquid strings have no
// escapes; a quote without its closing partner is an ordinary character, as
// in the library's lexer.
func blankStrings(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		if b[i] != '"' && b[i] != '\'' {
			continue
		}
		end := bytes.IndexByte(b[i+1:], b[i])
		if end < 0 {
			continue
		}
		for j := i + 1; j <= i+end; j++ {
			b[j] = ' '
		}
		i += end + 1
	}
	return string(b)
}

// hasFilter says whether the engine defines the named filter, by rendering a
// probe: the library has no way to list its filters.
func (e *Engine) hasFilter(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if known, ok := e.filters[name]; ok {
		return known
	}
	known := e.probe(name)
	e.filters[name] = known
	return known
}

// probe renders {{ nil | name }}; anything but "undefined filter" (a parse
// error, a panic) counts as defined and is left to Check or Render to report.
func (e *Engine) probe(name string) (known bool) {
	defer func() {
		if recover() != nil {
			known = true
		}
	}()
	tpl, err := e.liquid.ParseString("{{ nil | " + name + " }}")
	if err != nil {
		return true
	}
	_, err = tpl.RenderString(map[string]any{})
	return !isUndefinedFilter(err)
}

func isUndefinedFilter(err error) bool {
	for err != nil {
		var uf expressions.UndefinedFilter
		if errors.As(err, &uf) {
			return true
		}
		c, ok := err.(interface{ Cause() error })
		if !ok {
			return false
		}
		err = c.Cause()
	}
	return false
}
