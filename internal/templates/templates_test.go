package templates

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func ticket(fields map[string]any) map[string]any {
	return map[string]any{"ticket": fields}
}

func TestRender(t *testing.T) {
	e := New()
	data := ticket(map[string]any{
		"id":        int64(8447388090494),
		"id_text":   "12345",
		"score":     "1.50",
		"status":    "solved",
		"title":     "{{ 7 | plus: 1 }} {% if true %}x{% endif %}",
		"tags":      []any{"vip", "gold"},
		"requester": map[string]any{"first_name": "ann", "phone": "+6591234567"},
		"empty":     "",
		"big":       "99999999999999999999",
	})
	for _, tc := range []struct{ src, want string }{
		{"Ticket #{{ticket.id}}", "Ticket #8447388090494"},
		{"{{ ticket.id_text }} {{ ticket.score }}", "12345 1.50"},
		{"{{ ticket.id_text | plus: 1 }}", "12346"},
		// Integers stay exact integers, as in Shopify, not 8.447388090495e+12.
		{"{{ ticket.id | plus: 1 }} {{ ticket.id | minus: 1 }} {{ ticket.id | times: 10 }}", "8447388090495 8447388090493 84473880904940"},
		{"{{ 9007199254740993 | plus: 0 }} {{ ticket.id | modulo: 1000 }} {{ -7 | modulo: 3 }} {{ 7 | modulo: -3 }}", "9007199254740993 494 2 -2"},
		{"{{ -7 | divided_by: 2 }} {{ 7 | divided_by: -2 }} {{ -7.5 | modulo: 2 }}", "-4 -4 0.5"}, // Ruby's floor, as Shopify
		{"{{ ticket.score | plus: 1 }} {{ 5 | times: 0.5 }} {{ nothing | plus: 1 }}", "2.5 2.5 1"},
		{"{{ 9223372036854775807 | plus: 1 }} {{ ticket.big | plus: 1 }} {{ ticket.big | times: ticket.big }}", // beyond int64, still digits
			"9223372036854775808 100000000000000000000 9999999999999999999800000000000000000001"},
		{"{{ 10.5 | divided_by: 2 }} {{ ticket.id | divided_by: 2 }} {{ 7 | divided_by: ticket.id_text }} {{ 7 | divided_by: 2.0 }}", "5.25 4223694045247 0 3.5"},
		{"{{ ticket.title }}", "{{ 7 | plus: 1 }} {% if true %}x{% endif %}"},
		{"{{ ticket.requester.first_name | capitalize | default: 'there' }}", "Ann"},
		{"{{ ticket.requester.last_name | default: 'there' }}", "there"},
		{"{{ ticket.empty | default: 'none' }}", "none"},
		{"{{ ticket.status | upcase }}", "SOLVED"},
		{"{{ 'abcdefghij' | truncate: 6 }}", "abc..."},
		{"{{ ticket.missing.deeper }}|{{ nothing }}", "|"},
		{`{{ ticket.tags | first }}`, "vip"},
		{"{{ ticket.tags }}", "vipgold"},
		{`{{ ticket.tags | join: ", " }}`, "vip, gold"},
		{"{% for t in ticket.tags %}[{{ t }}]{% endfor %}", "[vip][gold]"},
		{"{% for i in (1..3) %}{{ i }}{% endfor %}", "123"},
		{`{{ (1..5) | join: "," }}`, "1,2,3,4,5"},
		{`{{ "a | b .. c" | upcase }}`, "A | B .. C"},
		{"{% if ticket.status == 'solved' %}done{% else %}open{% endif %}", "done"},
		{"{% raw %}{{ literal }}{% endraw %}", "{{ literal }}"},
		{"{% comment %}{{ x | nosuch }}{% endcomment %}ok", "ok"},
		{"", ""},
	} {
		tpl, err := e.Parse(tc.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.src, err)
			continue
		}
		got, err := tpl.Render(data)
		if err != nil || got != tc.want {
			t.Errorf("Render(%q) = %q, %v; want %q", tc.src, got, err, tc.want)
		}
		if tpl.Source() != tc.src {
			t.Errorf("Source() = %q, want %q", tpl.Source(), tc.src)
		}
		if err := tpl.Check(); err != nil {
			t.Errorf("Check(%q): %v", tc.src, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	e := New()
	for _, tc := range []struct{ src, want string }{
		{"{% if x %}", `unterminated "if" block in {% if x %}`},
		{"{% nosuch %}", `undefined tag "nosuch" in {% nosuch %}`},
		{"{{ x | }}", `syntax error in "x |" in {{ x | }}`},
		{"{{ x | nosuch }}", `undefined filter "nosuch" in {{ x | nosuch }}`},
		{"{% if a %}{% else %}{{ x | upcase | nosuch: 1 }}{% endif %}", `undefined filter "nosuch" in {{ x | upcase | nosuch: 1 }}`},
		{"{% assign y = x | nosuch %}", `undefined filter "nosuch" in {% assign y = x | nosuch %}`},
		{"{% for t in x | nosuch %}{% endfor %}", `undefined filter "nosuch" in {% for t in x | nosuch %}`},
		{"a\nb {{ x | nosuch }}", `line 2: undefined filter "nosuch" in {{ x | nosuch }}`},
		{"a\n{% if x %}", `line 2: unterminated "if" block in {% if x %}`},
		{`{% include "/etc/passwd" %}`, `the include tag is not available: templates cannot read files in {% include "/etc/passwd" %}`},
		{"Hi {{ ticket.id", `"{{" is never closed with "}}"; to print it, use {% raw %}{{{% endraw %}`},
		{"Hi {{ ticket.id }", `"{{" is never closed with "}}"; to print it, use {% raw %}{{{% endraw %}`},
		{"Hi {% if x", `"{%" is never closed with "%}"; to print it, use {% raw %}{%{% endraw %}`},
		{"{% for a in x %}{% for b in y %}{% endfor %}{% endfor %}", `a loop inside a loop is not allowed, so that rendering stays fast in {% for b in y %}`},
		{"{% for a in x %}{% if a %}{% tablerow b in y %}{% endtablerow %}{% endif %}{% endfor %}", `a loop inside a loop is not allowed, so that rendering stays fast in {% tablerow b in y %}`},
		{"{% for i in (1..100000000) %}{% endfor %}", `the range (1..100000000) has more than 1000 items in {% for i in (1..100000000) %}`},
		{"{% for i in (1..ticket.id) %}{% endfor %}", `a range must have whole numbers written in the template as bounds, like (1..5) in {% for i in (1..ticket.id) %}`},
		{"{% assign r = (n..5) %}", `a range must have whole numbers written in the template as bounds, like (1..5) in {% assign r = (n..5) %}`},
		{"{{ (1 .. 1001) | size }}", `the range (1..1001) has more than 1000 items in {{ (1 .. 1001) | size }}`},
		{"{% for a in x %}{% cycle 'a', 'b' %}{% endfor %}", `the cycle tag is not available in {% cycle 'a', 'b' %}`},
		{"{{ 99999999999999999999 }}", `the number 99999999999999999999 is too large`},
	} {
		_, err := e.Parse(tc.src)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q) error = %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	e := New()
	for _, tc := range []struct {
		src  string
		data map[string]any
		want string
	}{
		{"{{ 5 | divided_by: ticket.n }}", ticket(map[string]any{"n": int64(0)}), `error applying filter "divided_by" ("division by zero") in {{ 5 | divided_by: ticket.n }}`},
		{"{{ 7 | modulo: ticket.n }}", ticket(map[string]any{"n": "0"}), `error applying filter "modulo" ("division by zero") in {{ 7 | modulo: ticket.n }}`},
		{"{{ 7.5 | modulo: ticket.n }}", ticket(map[string]any{"n": 0.0}), `error applying filter "modulo" ("division by zero") in {{ 7.5 | modulo: ticket.n }}`},
		// The tag at fault, not the block around it, with its own line.
		{"{% if ticket.t %}\nHello\n{{ ticket.t | divided_by: ticket.n }}{% endif %}", ticket(map[string]any{"t": "5", "n": int64(0)}),
			`line 3: error applying filter "divided_by" ("division by zero") in {{ ticket.t | divided_by: ticket.n }}`},
		{"{{ 7 | modulo: ticket.n }}", ticket(map[string]any{"n": ""}), `error applying filter "modulo" ("the divisor is empty: the ticket has no value for it")`},
		{"{% for t in ticket.list %}{{ t | divided_by: 0 }}{% endfor %}", ticket(map[string]any{"list": []any{int64(1)}}),
			`error applying filter "divided_by" ("division by zero") in {{ t | divided_by: 0 }}`},
		{"a\n{{ ticket.t | times: 2 }}", ticket(map[string]any{"t": "abc"}), `line 2: error applying filter "times" ("can't convert string(abc) to type float64") in {{ ticket.t | times: 2 }}`},
		// tablerow panics when its writer fails; Render turns it into the error.
		{"{% tablerow i in (1..1000) %}{{ ticket.title }}{% endtablerow %}", ticket(map[string]any{"title": strings.Repeat("x", 100)}), "the rendered text is longer than 65536 bytes"},
		{"{% for i in (1..1000) %}{{ ticket.title }}{% endfor %}", ticket(map[string]any{"title": strings.Repeat("x", 100)}), "the rendered text is longer than 65536 bytes"},
		{"{{ ticket.title }}", ticket(map[string]any{"title": strings.Repeat("x", MaxOutput+1)}), "the rendered text is longer than 65536 bytes"},
		// The library panics on a number's size, recovers, and appends its
		// stack to the error; the admin gets the sentence only.
		{"{{ ticket.id.size }}", ticket(map[string]any{"id": json.Number("12")}), "interface conversion"},
	} {
		tpl, err := e.Parse(tc.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.src, err)
			continue
		}
		out, err := tpl.Render(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("Render(%q) = %q, %v\nwant error %s", tc.src, out, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), " in {% for t in {{") {
			t.Errorf("Render(%q) error is cut at the for tag's own \"in\": %q", tc.src, err)
		}
		if err != nil && (strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "goroutine")) {
			t.Errorf("Render(%q) error carries a stack trace or several lines: %q", tc.src, err)
		}
	}

	tpl := e.MustParseForTest(t, "{{ ticket.title }}")
	if out, err := tpl.Render(ticket(map[string]any{"title": strings.Repeat("x", MaxOutput)})); err != nil || len(out) != MaxOutput {
		t.Errorf("output of exactly MaxOutput bytes: len %d, %v", len(out), err)
	}
}

func TestCheck(t *testing.T) {
	e := New()
	for _, tc := range []struct{ src, want string }{
		{"{{ ticket.id | truncate: 1, 2, 3 }}", `error applying filter "truncate" ("wrong number of arguments (given 3, expected 2)") in {{ ticket.id | truncate: 1, 2, 3 }} (rendering with an empty ticket)`},
		{"{{ 5 | divided_by: 0 }}", `error applying filter "divided_by" ("division by zero") in {{ 5 | divided_by: 0 }} (rendering with an empty ticket)`},
		{"{% if ticket.id %}{{ ticket.title | times: 2 }}{% endif %}", `error applying filter "times" ("can't convert string(Printer on fire) to type float64") in {{ ticket.title | times: 2 }} (rendering with a sample ticket)`},
		{`{% if ticket.tags %}{{ ticket.tags | join: ", " | times: 2 }}{% endif %}`, `can't convert string(vip notify_customer_sms) to type []interface {} in {% if ticket.tags %} (rendering with a sample ticket)`},
	} {
		tpl, err := e.Parse(tc.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.src, err)
			continue
		}
		if err := tpl.Check(); err == nil || err.Error() != tc.want {
			t.Errorf("Check(%q) = %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

// A division by a field passes the load check, where no ticket has it;
// a division by a literal zero does not.
func TestCheckDivisionByAField(t *testing.T) {
	e := New()
	for _, src := range []string{"{{ 100 | divided_by: ticket.custom.seats }}", "{{ ticket.id | modulo: ticket.custom.n }}"} {
		if err := e.MustParseForTest(t, src).Check(); err != nil {
			t.Errorf("Check(%q) = %v; want it to pass", src, err)
		}
	}
	if err := e.MustParseForTest(t, "{{ 5 | modulo: 0 }}").Check(); err == nil {
		t.Error("Check passes a modulo by a literal zero")
	}
	// What follows the division is still checked.
	if err := e.MustParseForTest(t, `{{ 1 | divided_by: ticket.n }}{{ "a" | plus: "b" }}`).Check(); err == nil {
		t.Error("Check stopped at a division by a field and passed what can never render")
	}
	for _, src := range []string{
		"{% if ticket.id %}{{ 1 | divided_by: ticket.custom.n }}{{ 2 | modulo: ticket.m }}{% endif %}",
		// The value Check gives the field must not make its own failures.
		"{% assign r = 1 | minus: ticket.n %}{{ 5 | divided_by: ticket.n }}{{ 5 | divided_by: r }}",
		"{{ 5 | divided_by: ticket.n }}{% if ticket.n == 1 %}{{ 1 | divided_by: 0 }}{% endif %}",
	} {
		if err := e.MustParseForTest(t, src).Check(); err != nil {
			t.Errorf("Check(%q): %v; it renders for real tickets", src, err)
		}
	}
}

func TestRenderLeavesDataAlone(t *testing.T) {
	e := New()
	tags := []any{"b", "a"}
	data := ticket(map[string]any{"tags": tags, "id": int64(1)})
	tpl := e.MustParseForTest(t, `{% assign sorted = ticket.tags | sort %}{% assign ticket = "x" %}{{ sorted }}`)
	if _, err := tpl.Render(data); err != nil {
		t.Fatal(err)
	}
	tpl = e.MustParseForTest(t, `{{ ticket.tags | sort | join: "," }}`)
	if out, err := tpl.Render(data); err != nil || out != "a,b" {
		t.Fatalf("got %q, %v", out, err)
	}
	want := ticket(map[string]any{"tags": []any{"b", "a"}, "id": int64(1)})
	if !reflect.DeepEqual(data, want) {
		t.Errorf("data changed: %#v", data)
	}
}

func TestConcurrentRender(t *testing.T) {
	e := New()
	tpl := e.MustParseForTest(t, `{% for t in ticket.tags limit: 5 %}{% if forloop.first %}a{% else %}b{% endif %}{{ t | upcase }}{% endfor %}{{ ticket.tags | sort | join: "," }}{% capture c %}{{ ticket.id | plus: 1 }}{% endcapture %}{{ c }}{% case ticket.id %}{% when 1 %}one{% endcase %}`)
	data := ticket(map[string]any{"tags": []any{"z", "y"}, "id": int64(1)})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if out, err := tpl.Render(data); err != nil || out != "aZbYy,z2one" {
					t.Errorf("got %q, %v", out, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// MustParseForTest keeps the tests short.
func (e *Engine) MustParseForTest(t *testing.T, src string) *Template {
	t.Helper()
	tpl, err := e.Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return tpl
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"Ticket #{{ticket.id}} {{ ticket.title | truncate: 20 }}",
		"{% for t in ticket.tags %}{{ forloop.index }}{% cycle 'a','b' %}{% endfor %}",
		"{% if ticket.status == 'open' %}x{% elsif a %}y{% else %}z{% endif %}",
		"{% case ticket.id %}{% when 12345 %}a{% endcase %}{{ (1..3) | join }}",
		"{% capture c %}{{ ticket.requester.name }}{% endcapture %}{{ c | split: ' ' | first }}",
		"{{ ticket.id | plus: 1 | times: -3 | minus: ticket.title | modulo: 7 | divided_by: ticket.x }}",
	} {
		f.Add(s)
	}
	e := New()
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := e.Parse(src)
		if err != nil {
			return
		}
		_, _ = tpl.Render(sample("a b"))
		_, _ = tpl.Render(sample([]any{"a", int64(1), nil, map[string]any{}}))
		_, _ = tpl.Render(map[string]any{"forloop": "x", "ticket": []any{1}})
	})
}

func TestCheckAcceptsBothTagForms(t *testing.T) {
	e := New()
	for _, src := range []string{
		`{{ ticket.tags | join: ", " }}`,
		`{{ ticket.tags | split: " " | first }}`,
		`{% for t in ticket.tags %}{{ t }}{% endfor %}`,
		`{{ ticket.tags }}`,
	} {
		if err := e.MustParseForTest(t, src).Check(); err != nil {
			t.Errorf("Check(%q): %v", src, err)
		}
	}
}

func TestCapitalizeFollowsShopify(t *testing.T) {
	t.Parallel()
	tpl, err := New().Parse("{{ s | capitalize }}")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"OPEN": "Open", "open": "Open", "émile ZOLA": "Émile zola", "": "", "1st": "1st"} {
		got, err := tpl.Render(map[string]any{"s": in})
		if err != nil || got != want {
			t.Errorf("capitalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestTruncateFollowsShopify(t *testing.T) {
	t.Parallel()
	e := New()
	cases := []struct{ tpl, s, want string }{
		{"{{ s | truncate: 10 }}", "Ground control to Major Tom.", "Ground ..."},
		{"{{ s | truncate: 10 }}", "short", "short"},
		{"{{ s | truncate: 10 }}", "exactly 10", "exactly 10"},
		{`{{ s | truncate: 8, "" }}`, "Ground control", "Ground c"},
		{`{{ s | truncate: 9, "…" }}`, "Ground control", "Ground c…"},
		{"{{ s | truncate: 2 }}", "Ground control", "..."},
		{"{{ s | truncate: 5 }}", "line\nbreak here", "li..."},
		{"{{ s | truncate: 5 }}", "ééééééé", "éé..."},
		{"{{ s | truncate: 2000 }}", "fine", "fine"},
		{"{{ s | truncate }}", strings.Repeat("x", 60), strings.Repeat("x", 47) + "..."},
	}
	for _, c := range cases {
		tpl, err := e.Parse(c.tpl)
		if err != nil {
			t.Fatalf("%s: %v", c.tpl, err)
		}
		got, err := tpl.Render(map[string]any{"s": c.s})
		if err != nil || got != c.want {
			t.Errorf("%s with %q = %q, %v; want %q", c.tpl, c.s, got, err, c.want)
		}
	}
}

// Missing names what a typo prints as nothing; a default or a condition
// says the author expected it may be absent.
func TestMissing(t *testing.T) {
	t.Parallel()
	data := map[string]any{"ticket": map[string]any{"id": "7", "link": "https://x", "title": "", "via": nil}}
	for src, want := range map[string]string{
		"{{ ticket.id }} {{ ticket.link }} {{ ticket.title }}":                      "",
		"View: {{ticket.lnk}} ({{ ticket.id }}) {{ticket.lnk}}":                     "ticket.lnk",
		"{{ ticket.requester.name | upcase }} {{ ticket.via }}":                     "ticket.requester.name ticket.via",
		`{{ ticket.requester.name | default: "there" }}`:                            "",
		"{% if ticket.requester %}{{ ticket.requester.name }}{% endif %}":           "",
		"{{ ticket.id | append: ticket.nope }} {{ ticket.tags.size }} {{ 'text' }}": "ticket.tags.size",
		// Filters that print something for nothing, and assigned names.
		"{{ ticket.nope | size }} {{ ticket.nope | append: 'x' }}":                               "",
		"{{ ticket.lnk | append: 'default' }} {{ ticket.via | upcase | truncate: 5 }}":           "ticket.via",
		"Due {{ ticket.due_att | date: '%b %d' }}":                                               "ticket.due_att",
		"{% assign who = ticket.nope | default: 'there' %}Hi {{ who }}":                          "",
		"{% capture who %}{{ ticket.requester.name }}{% endcapture %}{{ who }} {{ ticket.lnk }}": "ticket.lnk",
	} {
		tpl, err := New().Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(tpl.Missing(data), " "); got != want {
			t.Errorf("%s: missing %q, want %q", src, got, want)
		}
	}
}

// date follows Shopify: nothing prints nothing (never "Jan 01" of year 1),
// a Unix time is a date, text that is no date prints as it is.
func TestDateFollowsShopify(t *testing.T) {
	t.Parallel()
	tpl, err := New().Parse("[{{ d | date: '%Y-%m-%d' }}]")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, "[]"},
		{"", "[]"},
		{"2026-11-27T10:30:00Z", "[2026-11-27]"},
		{"November 27, 2026", "[2026-11-27]"},
		{int64(1764239400), "[" + time.Unix(1764239400, 0).Format("2006-01-02") + "]"},
		{"1764239400", "[" + time.Unix(1764239400, 0).Format("2006-01-02") + "]"},
		{"next tuesday", "[next tuesday]"},
	} {
		got, err := tpl.Render(map[string]any{"d": c.in})
		if err != nil || got != c.want {
			t.Errorf("date(%#v) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	// A field the ticket lacks: nothing, not year 1.
	if got, err := tpl.Render(map[string]any{}); err != nil || got != "[]" {
		t.Errorf("date of a missing field = %q, %v", got, err)
	}
	now, err := New().Parse("{{ 'now' | date: '%Y' }}")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := now.Render(nil); err != nil || got != strconv.Itoa(time.Now().Year()) {
		t.Errorf("'now' | date: '%%Y' = %q, %v", got, err)
	}
}

// split reads tags sent as Zendesk's text or as a JSON array alike.
func TestSplitTakesTextOrList(t *testing.T) {
	t.Parallel()
	tpl, err := New().Parse(`{% assign tags = ticket.tags | split: " " %}{{ tags | first }}|{{ tags | size }}|{% for t in tags %}<{{t}}>{% endfor %}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tags := range []any{"vip  gold sms", " vip gold sms ", []any{"vip", "gold", "sms"}, []any{"vip gold", "sms"}} {
		got, err := tpl.Render(ticket(map[string]any{"tags": tags}))
		if want := "vip|3|<vip><gold><sms>"; err != nil || got != want {
			t.Errorf("tags %#v: %q, %v; want %q", tags, got, err, want)
		}
	}
	for src, want := range map[string]string{
		`{{ "a,b,," | split: "," | join: "+" }}`: "a+b",
		`{{ "abc" | split: "" | join: "+" }}`:    "a+b+c",
		`{{ nothing | split: " " | size }}`:      "0",
	} {
		tpl, err := New().Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := tpl.Render(nil); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", src, got, err, want)
		}
	}
}

// Objects names the outputs that would print a whole object.
func TestObjects(t *testing.T) {
	t.Parallel()
	data := map[string]any{"ticket": map[string]any{"id": "7", "requester": map[string]any{"name": "Mei", "phone": "+6591234567"}}}
	for src, want := range map[string]string{
		"{{ ticket.requester }} #{{ ticket.id }}":             "ticket.requester",
		"{{ ticket.requester | upcase }} {{ ticket }}":        "ticket.requester ticket",
		"{{ ticket.requester.name }} {{ ticket.id }}":         "",
		"{% if ticket.requester %}{{ ticket.id }}{% endif %}": "",
	} {
		tpl, err := New().Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(tpl.Objects(data), " "); got != want {
			t.Errorf("%s: objects %q, want %q", src, got, want)
		}
	}
}

// escape and escape_once write what Shopify writes.
func TestEscapeFollowsShopify(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		`{{ s | escape }}`:      "Tom &amp; &quot;Jerry&quot; &lt;b&gt; it&#39;s",
		`{{ s | escape_once }}`: "Tom &amp; &quot;Jerry&quot; &lt;b&gt; it&#39;s",
		`{{ e | escape_once }}`: "&lt;b&gt; &amp; &quot;",
	} {
		tpl, err := New().Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tpl.Render(map[string]any{"s": `Tom & "Jerry" <b> it's`, "e": "&lt;b&gt; &amp; &quot;"})
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", src, got, err, want)
		}
	}
}

// Arithmetic reads text only as a decimal number, and never prints NaN or
// Inf into a message.
func TestArithmeticRefusesNonNumbers(t *testing.T) {
	t.Parallel()
	tpl, err := New().Parse("{{ x | plus: 1 | times: 10 }}")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []any{"NaN", "Infinity", "Inf", "1_000", "0x10", "1e309", math.MaxFloat64} {
		if got, err := tpl.Render(map[string]any{"x": x}); err == nil {
			t.Errorf("%v | plus: 1 | times: 10 = %q, want an error", x, got)
		}
	}
	for x, want := range map[string]string{"2": "30", "2.5": "35", "-.5": "5", "1.5e1": "160"} {
		if got, err := tpl.Render(map[string]any{"x": x}); err != nil || got != want {
			t.Errorf("%q | plus: 1 | times: 10 = %q, %v; want %q", x, got, err, want)
		}
	}
}
