package templates

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

// fastData is a ticket with every kind of value a decoded body can hold, and
// a few that only Go callers could pass.
func fastData() map[string]any {
	return map[string]any{
		"ticket": map[string]any{
			"id":         int64(8447388090494),
			"negative":   int64(-42),
			"small":      int(7),
			"num":        json.Number("8447388090494"),
			"decimal":    json.Number("1.50"),
			"exponent":   json.Number("1.5e+300"),
			"negnum":     json.Number("-0.0"),
			"float":      1.5,
			"bigfloat":   1e21,
			"inf":        math.Inf(-1),
			"status":     "open",
			"title":      "Café ☕ — ünïcödé {{ 7 | plus: 1 }} {% if true %}x{% endif %}",
			"link":       "https://example.zendesk.com/agent/tickets/12345",
			"empty":      "",
			"spaces":     " \t\n padded \u00a0\u2003",
			"yes":        true,
			"no":         false,
			"null":       nil,
			"tags":       []any{"vip", "gold"},
			"mixed":      []any{" a ", nil, int64(1), json.Number("2.5"), true, []any{"x", []any{" y"}}, ""},
			"none":       []any{},
			"first-name": "Ann",
			"ok?":        "yes?",
			"in":         "in",
			"true":       "not a literal",
			"requester":  map[string]any{"phone": "+65 9123 4567", "name": "Ann Lee", "first": "F"},
			"sized":      map[string]any{"size": "custom", "a": nil},
			"nested":     map[string]any{"a": map[string]any{"b": map[string]any{"c": "deep"}}},
			// Values the fast path leaves to the library.
			"strings": []string{"a", "b"},
			"maps":    []any{map[string]any{"a": int64(1)}},
			"typed":   map[string]string{"a": "b"},
			"int32":   int32(5),
		},
		"s":     "top",
		"size":  int64(3),
		"first": "top-first",
	}
}

// fastTemplates all take the fast path.
var fastTemplates = []string{
	"",
	"literal only, with }} and a single { brace and % too",
	"Update for ticket #{{ticket.id}} ({{ticket.status}}). View: {{ticket.link}}",
	"{{ticket.requester.phone}}",
	"{{ticket.id}}",
	"{{  ticket.title  }}",
	"{{\tticket.status\n}}",
	"{{ticket.id}}{{ticket.status}}{{ticket.empty}}{{ticket.null}}{{ticket.id}}",
	"{{ ticket.negative }} {{ ticket.small }} {{ ticket.num }} {{ ticket.decimal }} {{ ticket.exponent }} {{ ticket.negnum }}",
	"{{ ticket.float }} {{ ticket.bigfloat }} {{ ticket.inf }}",
	"{{ ticket.yes }}/{{ ticket.no }}/{{ ticket.null }}",
	"[{{ ticket.missing }}][{{ ticket.missing.deeper }}][{{ nothing }}][{{ ticket.status.deeper }}]",
	"[{{ ticket.id.x }}][{{ ticket.decimal.x }}][{{ ticket.yes.x }}][{{ ticket.null.x }}][{{ ticket.float.x }}][{{ ticket.small.x }}]",
	"{{ ticket.tags }}|{{ ticket.mixed }}|{{ ticket.none }}",
	"{{ ticket.tags.size }} {{ ticket.tags.first }} {{ ticket.tags.last }} {{ ticket.none.first }}{{ ticket.none.last }} {{ ticket.none.size }}",
	"{{ ticket.mixed.last }} {{ ticket.mixed.first.size }} {{ ticket.tags.other }}",
	"{{ ticket.title.size }} {{ ticket.empty.size }} {{ ticket.status.first }}",
	"{{ ticket.requester.size }} {{ ticket.requester.first }} {{ ticket.sized.size }} {{ ticket.sized.a }}{{ ticket.sized.a.size }}",
	"{{ ticket.size }} {{ size }} {{ first }} {{ s }} {{ s.size }}",
	"{{ ticket.nested.a.b.c }} {{ ticket.nested.a.b.c.size }} {{ ticket.nested.a.x.c }}",
	"{{ ticket.first-name }} {{ ticket.ok? }} {{ ticket.in }} {{ ticket.true }}",
	"a  {{- ticket.id -}}  b",
	"a  {{- ticket.null -}}  b",
	"a  {{- ticket.empty -}}  b",
	"a  {{ ticket.empty }}{{- ticket.id }} {{ ticket.id -}}{{ ticket.empty }}  b",
	"a  {{ ticket.null }}{{- ticket.id }} {{ ticket.id -}}{{ ticket.null }}  b",
	"{{ ticket.spaces -}} {{- ticket.spaces }}|{{- ticket.spaces -}}|",
	"x \n{{- ticket.mixed -}}\n y {{- ticket.tags -}} z",
	"{{- ticket.spaces -}}",
	"\u2003 {{- ticket.id -}} \u00a0",
	"{%- comment -%} c {%- endcomment -%}  {{ ticket.id }}",
	"{% comment %}{{ x | nosuch }}{% endcomment %}{{ticket.id}}",
	"a\nb {{ ticket.status }}\n",
}

func TestFastPathMatchesLiquid(t *testing.T) {
	e := New()
	datas := []map[string]any{
		fastData(),
		nil,
		{},
		{"ticket": "a string"},
		{"ticket": []any{"a", "b"}},
		{"ticket": json.Number("12")},
		{"ticket": map[string]any{"id": nil, "status": map[string]any{}, "tags": nil, "title": []any{}}},
	}
	fast := 0
	for _, src := range fastTemplates {
		tpl := e.MustParseForTest(t, src)
		if tpl.plan == nil {
			t.Errorf("%q does not take the fast path", src)
			continue
		}
		for i, data := range datas {
			want, wantErr := tpl.renderLiquid(data)
			got, err := tpl.plan.render(data)
			if err == errSlowPath {
				continue
			}
			fast++
			if got != want || errText(err) != errText(wantErr) {
				t.Errorf("%q with data %d:\nfast    %q, %v\nliquid  %q, %v", src, i, got, err, want, wantErr)
			}
		}
	}
	if fast < len(fastTemplates)*len(datas)*9/10 {
		t.Errorf("only %d renders took the fast path", fast)
	}
}

// TestFastPathFallsBack checks the values a plan leaves to the library: the
// result is the library's, error included.
func TestFastPathFallsBack(t *testing.T) {
	e := New()
	data := fastData()
	for _, src := range []string{
		"{{ ticket.strings }}",
		"{{ ticket.maps }}",
		"{{ ticket.requester }}",
		"{{ ticket.typed.a }}",
		"{{ ticket.int32 }}",
		"{{ ticket.num.size }}", // panics in the library
		"a {{ ticket.id }} {{ ticket.tags }} {{ ticket.nested }}",
	} {
		tpl := e.MustParseForTest(t, src)
		if tpl.plan == nil {
			t.Fatalf("%q does not take the fast path", src)
		}
		if _, err := tpl.plan.render(data); err != errSlowPath {
			t.Errorf("%q: the plan rendered it (%v), want the library", src, err)
		}
		got, err := tpl.Render(data)
		want, wantErr := tpl.renderLiquid(data)
		if got != want || errText(err) != errText(wantErr) {
			t.Errorf("%q: Render %q, %v; library %q, %v", src, got, err, want, wantErr)
		}
	}
}

// errText is an error's first line: a library panic carries a stack trace
// that differs from call to call.
func errText(err error) string {
	if err == nil {
		return ""
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// TestFastPathTaken fails if the optimisation silently stops applying to the
// templates rules.yaml is made of, or starts applying to what it cannot do.
func TestFastPathTaken(t *testing.T) {
	e := New()
	data, err := zendesk.DecodeBody([]byte(`{"ticket":{"id":12345,"status":"solved","link":"https://x.zendesk.com/agent/tickets/12345","score":1.5,"tags":["vip"],"requester":{"phone":"+6591234567","first_name":"Mei"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ src, want string }{
		{"{{ticket.requester.phone}}", "+6591234567"},
		{"{{ticket.id}}", "12345"},
		{"Update for ticket #{{ticket.id}} ({{ticket.status}}). View: {{ticket.link}}", "Update for ticket #12345 (solved). View: https://x.zendesk.com/agent/tickets/12345"},
		{"Hi {{ ticket.requester.first_name }}, {{ ticket.score }} {{ ticket.tags }} {{ ticket.missing }}", "Hi Mei, 1.5 vip "},
		{"{{- ticket.id -}}", "12345"},
		{"", ""},
	} {
		tpl := e.MustParseForTest(t, tc.src)
		if tpl.plan == nil {
			t.Errorf("%q does not take the fast path", tc.src)
			continue
		}
		if out, err := tpl.plan.render(data); err != nil || out != tc.want {
			t.Errorf("%q: plan rendered %q, %v; want %q", tc.src, out, err, tc.want)
		}
	}
	for _, src := range []string{
		"{{ ticket.id | plus: 1 }}",
		"{{ ticket.tags[0] }}",
		"{{ ticket['id'] }}",
		"{{ 'text' }}",
		"{{ 42 }}",
		"{{ true }}",
		"{{ nil }}",
		"{{ in }}",
		"{{ true.x }}",
		"{{ ticket. id }}",
		"{{ ticket .id }}",
		"{{ ticket.1 }}",
		"{{ tïcket }}",
		"{{\vticket.id}}",
		"{{ a == b }}",
		"{% if ticket.id %}x{% endif %}",
		"{% assign x = 1 %}{{ x }}",
		"{% raw %}{{ x }}{% endraw %}",
	} {
		tpl, err := e.Parse(src)
		if err != nil {
			continue // refused at load: no path at all
		}
		if tpl.plan != nil {
			t.Errorf("%q takes the fast path", src)
		}
	}
}

func TestFastPathMaxOutput(t *testing.T) {
	e := New()
	wide := strings.Repeat("x", MaxOutput)
	for _, tc := range []struct {
		src     string
		title   any
		tooLong bool
	}{
		{"{{ ticket.title }}", wide, false},
		{"{{ ticket.title }}!", wide, true},
		{"{{ ticket.title }}{{ ticket.title }}", wide, true},
		// The trailing spaces go over the limit, but a "{{-" takes them back.
		{"{{ ticket.title }}{{- ticket.null }}", wide + "   ", false},
		{"{{ ticket.title }}{{- ticket.null }} ", wide + "   ", true},
		{"{{ ticket.null -}}{{ ticket.title }}", "   " + wide, false},
		{"{{ ticket.title -}} {{ ticket.null }}", "   " + wide, true},
		// The last bytes of one value and the first of the next make one
		// U+2003 EM SPACE in the trimWriter's buffer, which "{{-" trims.
		{"{{ ticket.title -}}{{ ticket.more }}{{- ticket.null }}", wide[1:] + "\xe2", false},
		{"{{ ticket.title }}", []any{wide, "y"}, true},
		{"{{ ticket.title }}", []any{wide, "y", "z", map[string]any{}}, true}, // the plan stops before the map
	} {
		tpl := e.MustParseForTest(t, tc.src)
		data := ticket(map[string]any{"title": tc.title, "more": "\x80\x83"})
		got, err := tpl.plan.render(data)
		want, wantErr := tpl.renderLiquid(data)
		if got != want || errText(err) != errText(wantErr) || (err != nil) != tc.tooLong {
			t.Errorf("%q: fast %d bytes, %v; library %d bytes, %v", tc.src, len(got), err, len(want), wantErr)
		}
		if tc.tooLong && err != errTooLong {
			t.Errorf("%q: error %v, want errTooLong", tc.src, err)
		}
	}
}

// FuzzFastPath checks that whenever a plan renders, it writes what the
// library writes.
func FuzzFastPath(f *testing.F) {
	for _, src := range fastTemplates {
		f.Add(src, "Ünïcödé {{x}}", "12", int64(-3), 2.5, true)
	}
	for _, seed := range []struct {
		src, s, num string
		i           int64
		fl          float64
		b           bool
	}{
		{"{{ s }} {{ n }} {{ i }} {{ f }} {{ b }} {{ z }}", "", "1e-7", 0, 0, false},
		{"{{ a }}{{ a.first }}{{ a.last.size }}{{ a.size }}", " ", "-1", 1, -0.0, true},
		{"{{ m.s }}{{ m.size }}{{ q.size }}{{ m.m.x }}{{ m.a.first }}", "\u00a0x\u2003", "0.10", math.MaxInt64, 1e-300, false},
		{"a {{- s -}} b {{- z -}} c {{- e -}} d", " \t", "", math.MinInt64, 1e21, false},
		{"{{ s }}{{- s -}}{{ s }}", "\u0085 x \u0085", "+1", 5, 123456789.0, true},
		{"{{ s.size }} {{ n.x }} {{ i.x }} {{ e.size }} {{ e.first }}", "\xff\xfe", "1.0E+2", 7, 0.1, true},
		{"{%- comment -%} {{ s }} {%- endcomment -%} {{ s }}", "s", "n", 1, 1, true},
		// Bytes of two values that join into U+2003 EM SPACE, and into
		// U+0085 NEL, which "{{-" then trims as one space.
		{"{{ s -}}{{ n }}{{- z }}!", "x \xe2", "\x80\x83", 1, 1, true},
		{"{{ s -}}{{ n }} {{- s -}}{{ n }}{{- z }}", "x\xc2", "\x85 ", 1, 1, true},
		{"{{ w -}}{{ n }}{{- z }}!", "abc\xe2", "\x80\x83", 1, 1, true},
		{"{{ w }} {{ s }}{{- z -}} {{ n }}", "\t", " ", 1, 1, true},
	} {
		f.Add(seed.src, seed.s, seed.num, seed.i, seed.fl, seed.b)
	}
	e := New()
	// w is a value that ends 4 bytes short of MaxOutput before s, so that
	// templates using it meet the limit.
	pad := strings.Repeat("x", MaxOutput-4)
	f.Fuzz(func(t *testing.T, src, s, num string, i int64, fl float64, b bool) {
		tpl, err := e.Parse(src)
		if err != nil || tpl.plan == nil {
			return
		}
		list := []any{s, json.Number(num), nil, i, fl, b, []any{s, nil, ""}, ""}
		data := map[string]any{
			"s": s, "n": json.Number(num), "i": i, "k": int(i), "f": fl, "b": b, "z": nil,
			"a": list, "e": []any{},
			"m": map[string]any{"s": s, "n": json.Number(num), "size": s, "first": i, "m": map[string]any{"x": s}, "a": list},
			"q": map[string]any{"a": s, "b": nil},
			"w": pad + s,
			s:   s,
		}
		got, err := tpl.plan.render(data)
		if err == errSlowPath {
			return
		}
		want, wantErr := tpl.renderLiquid(data)
		if got != want || errText(err) != errText(wantErr) {
			t.Errorf("%q with s=%q num=%q i=%d f=%v b=%v:\nfast    %q, %v\nliquid  %q, %v", src, s, num, i, fl, b, got, err, want, wantErr)
		}
	})
}

func BenchmarkRender(b *testing.B) {
	tpl, err := New().Parse("Update for ticket #{{ticket.id}} ({{ticket.status}}). View: {{ticket.link}}")
	if err != nil {
		b.Fatal(err)
	}
	data, err := zendesk.DecodeBody([]byte(`{"ticket":{"id":12345,"status":"solved","link":"https://example.zendesk.com/agent/tickets/12345","requester":{"phone":"+6591234567"}}}`))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		render func(map[string]any) (string, error)
	}{
		{"fast", tpl.Render},
		{"liquid", tpl.renderLiquid},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.render(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
