package rules

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/templates"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

// countries stands in for phone.Country.
func countries(code string) (string, bool) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if c == "UK" {
		c = "GB"
	}
	switch c {
	case "SG", "GB", "US", "MY":
		return c, true
	}
	return "", false
}

var opts = Options{Engine: templates.New(), Country: countries}

func TestLoadSpecExample(t *testing.T) {
	set, err := Load("testdata/valid.yaml", opts)
	if err != nil {
		t.Fatal(err)
	}
	if set.File != "testdata/valid.yaml" || set.Version != 1 {
		t.Errorf("File, Version = %q, %d", set.File, set.Version)
	}
	wantDefaults := Defaults{
		Country: "SG", OnceFor: 720 * time.Hour,
		SMS:      ChannelDefaults{Subaccount: "Acme_SMS", Source: "AcmeSupport"},
		WhatsApp: ChannelDefaults{Subaccount: "Acme_WA"},
	}
	if set.Defaults != wantDefaults {
		t.Errorf("Defaults = %+v, want %+v", set.Defaults, wantDefaults)
	}
	if len(set.Rules) != 2 {
		t.Fatalf("%d rules", len(set.Rules))
	}

	sms, ok := set.Rule("solved-sms")
	if !ok || sms.Line != 8 {
		t.Fatalf("solved-sms: %v, line %d", ok, sms.Line)
	}
	wantWhen := When{
		Status: []string{"solved"}, TagsAll: []string{"notify_customer_sms"}, TagsAny: []string{"vip", "gold"},
		TagsNone: []string{"no_sms"}, Fields: map[string][]string{"ticket.priority": {"urgent", "high"}},
	}
	if !reflect.DeepEqual(sms.When, wantWhen) {
		t.Errorf("When = %+v", sms.When)
	}
	if sms.To.Source() != "{{ticket.requester.phone}}" || sms.Country.Source() != "{{ticket.requester.country}}" ||
		sms.Once.Source() != "{{ticket.id}}" || sms.OnceFor != 720*time.Hour {
		t.Errorf("to %q country %q once %q for %v", sms.To.Source(), sms.Country.Source(), sms.Once.Source(), sms.OnceFor)
	}
	if sms.SMS == nil || sms.WhatsApp != nil || sms.SMS.Subaccount != "Acme_SMS" || sms.SMS.Source != "AcmeSupport" {
		t.Fatalf("SMS = %+v, WhatsApp = %+v", sms.SMS, sms.WhatsApp)
	}
	data := body(t, `{"ticket": {"id": 8447388090494, "status": "Solved", "link": "https://x/1"}}`)
	if text, err := sms.SMS.Text.Render(data); err != nil || text != "Update for ticket #8447388090494 (Solved). View: https://x/1" {
		t.Errorf("text = %q, %v", text, err)
	}

	wa, ok := set.Rule("update-whatsapp")
	if !ok {
		t.Fatal("no update-whatsapp")
	}
	if wa.SMS != nil || wa.WhatsApp == nil || wa.WhatsApp.Subaccount != "Acme_WA" || wa.WhatsApp.Text != nil {
		t.Fatalf("WhatsApp = %+v", wa.WhatsApp)
	}
	tpl := wa.WhatsApp.Template
	if tpl.Name != "ticket_update" || tpl.Language != "en_GB" || len(tpl.Body) != 2 || tpl.Body[1].Source() != "{{ticket.status}}" {
		t.Errorf("template = %+v", tpl)
	}
	if wa.To.Source() != DefaultTo || wa.Once.Source() != DefaultOnce || wa.Country != nil || wa.OnceFor != 720*time.Hour {
		t.Errorf("defaults not applied: %+v", wa)
	}
	if !reflect.DeepEqual(wa.When, When{}) {
		t.Errorf("When = %+v, want empty", wa.When)
	}
	// Names are unique ignoring case, so a lookup ignores case too.
	if r, ok := set.Rule("Solved-SMS"); !ok || r.Name != "solved-sms" {
		t.Error("Rule must find a name written in another case")
	}
	if _, ok := set.Rule("solved-sm"); ok {
		t.Error("Rule must not find a prefix")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/nosuch.yaml", opts)
	var le *LoadError
	if err == nil || errors.As(err, &le) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

const head = "version: 1\ndefaults:\n  sms: {subaccount: Acme_SMS}\n  whatsapp: {subaccount: Acme_WA}\nrules:\n"

// TestProblems asserts the exact lines a broken file produces. Snippets
// starting with "- " are rules appended to head, whose rules start at line 6.
func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"empty file", "", []string{"f.yaml:1: the file is empty; it needs version: 1 and a list of rules"}},
		{"comments only", "# nothing\n", []string{"f.yaml:1: the file is empty; it needs version: 1 and a list of rules"}},
		{"not a mapping", "- a\n- b\n", []string{"f.yaml:1: the file must be a mapping of keys and values, not a list"}},
		{"missing version", "rules: []\n", []string{"f.yaml:1: missing version; start the file with version: 1"}},
		{"version 2", "version: 2\nrules: []\n", []string{"f.yaml:1: unknown version 2; this bridge reads version 1"}},
		{"version text", "version: \"1\"\nrules: []\n", []string{"f.yaml:1: version must be written as the number 1: version: 1"}},
		{"missing rules", "version: 1\n", []string{"f.yaml:1: missing rules; write rules: [] to run with no rules"}},
		{"null rules", "version: 1\nrules:\n", []string{"f.yaml:2: rules is empty; write rules: [] to run with no rules"}},
		{"rules not a list", "version: 1\nrules: {a: 1}\n", []string{"f.yaml:2: rules must be a list of rules, each starting with - name:"}},
		{"two documents", "version: 1\nrules: []\n---\nversion: 1\n", []string{"f.yaml:4: a rules file holds one YAML document; remove everything from the second ---"}},
		{"unknown top key", "version: 1\nrule: []\nrules: []\n", []string{`f.yaml:2: unknown key "rule", did you mean "rules"?`}},
		{"unknown key, no suggestion", "version: 1\nrules: []\nfoo: 1\n", []string{`f.yaml:3: unknown key "foo"; valid keys here: version, defaults, rules`}},
		{"duplicate top key", "version: 1\nversion: 1\nrules: []\n", []string{`f.yaml:2: duplicate key "version" (first at line 1)`}},
		{"yaml syntax", "version: 1\nrules: [\n", []string{"f.yaml:2: not valid YAML: sequence end token ']' not found"}},
		{"unquoted template", head + "- name: a\n  to: {{ticket.requester.phone}}\n  sms: {text: hi}\n",
			[]string{`f.yaml:7: not valid YAML: could not find flow map content; a value that starts with {{ must be in quotes, like "{{ticket.id}}"`}},
		// The usual causes of a syntax error, said in an editor's terms.
		{"tab", head + "- name: a\n\tsms: {text: hi}\n",
			[]string{`f.yaml:7: not valid YAML: a tab character; YAML indents with spaces only, so replace the tab with spaces`}},
		{"double quotes in double quotes", head + "- name: a\n  sms:\n    text: \"Hi {{ x | default: \"there\" }}\"\n",
			[]string{`f.yaml:8: not valid YAML: value is not allowed in this context. map key-value is pre-defined; this value is in double quotes and holds double quotes too: put it in single quotes ('... "there" ...') or write the inner ones \"`}},
		{"single quotes in single quotes", head + "- name: a\n  sms:\n    text: 'Hi {{ x | default: 'there' }}'\n",
			[]string{`f.yaml:8: not valid YAML: value is not allowed in this context. map key-value is pre-defined; this value is in single quotes and holds single quotes too: put it in double quotes ("... 'there' ...") or double the inner ones ('')`}},
		{"indentation", head + "- name: a\n  when:\n    status: [solved]\n   sms: {text: hi}\n",
			[]string{`f.yaml:9: not valid YAML: value is not allowed in this context; check this line's indentation against the lines above: the keys of one mapping start in the same column`}},
		{"a rule's key at the top", head + "- name: a\nsms: {text: hi}\n", []string{
			`f.yaml:6: rule a: needs sms or whatsapp: what should it send?`,
			`f.yaml:7: unknown key "sms" at the top of the file; it is a rule's key: indent it like the name of the rule it belongs to`}},
		{"a condition beside when", head + "- name: a\n  when: {tags_any: [x]}\n  status: [solved]\n  sms: {text: hi}\n",
			[]string{`f.yaml:8: rule a: unknown key "status" beside when; it is a condition: indent it under when:`}},
		{"tags that can never match", head + "- name: a\n  when:\n    tags_all: [vip]\n    tags_any: [gold]\n    tags_none: [VIP, gold]\n  sms: {text: hi}\n", []string{
			`f.yaml:10: rule a: when: tag vip is in both tags_all and tags_none, so the rule can never match`,
			`f.yaml:10: rule a: when: every tag of tags_any is also in tags_none, so the rule can never match`,
		}},
		{"text cut at an unquoted #", head + "- name: a\n  sms:\n    text: Your ticket #{{ticket.id}} is solved\n" +
			"- name: b\n  sms:\n    text: Order #1234 shipped\n- name: c\n  sms:\n    text: Your ticket\n      is #{{ticket.id}}   solved\n" +
			"- name: d\n  whatsapp:\n    template:\n      name: t\n      language: en\n      body:\n        - Ticket #{{ticket.id}}\n", []string{
			`f.yaml:8: rule a: sms.text is cut short at " #": YAML reads an unquoted " #" and everything after it as a comment, so sms.text would be "Your ticket"; put the whole value in quotes: "Your ticket #{{ticket.id}} is solved"`,
			`f.yaml:11: rule b: sms.text is cut short at " #": YAML reads an unquoted " #" and everything after it as a comment, so sms.text would be "Order"; put the whole value in quotes: "Order #1234 shipped"`,
			`f.yaml:14: rule c: sms.text is cut short at " #": YAML reads an unquoted " #" and everything after it as a comment, so sms.text would be "Your ticket is"; put the whole value in quotes: "Your ticket is #{{ticket.id}}   solved"`,
			`f.yaml:22: rule d: whatsapp.template.body[1] is cut short at " #": YAML reads an unquoted " #" and everything after it as a comment, so whatsapp.template.body[1] would be "Ticket"; put the whole value in quotes: "Ticket #{{ticket.id}}"`,
		}},

		{"invalid default subaccount is not also missing", "version: 1\ndefaults: {sms: {subaccount: a}}\nrules:\n- name: a\n  sms: {text: hi}\n", []string{
			`f.yaml:2: defaults.sms.subaccount "a" is not an 8x8 subaccount id (3 to 50 letters, digits, -, ., _ or &)`,
		}},
		{"defaults", "version: 1\ndefaults:\n  country: XX\n  once_for: 0s\n  sms: {subaccount: a, source: ThisIsFarTooLongASender}\n  whatsapp: {subaccount: ok_1, source: x}\n  timezone: UTC\nrules: []\n", []string{
			`f.yaml:3: defaults.country: unknown country "XX"; use an ISO 3166 alpha-2 code such as SG or GB`,
			`f.yaml:4: defaults.once_for: "0s" must be longer than zero`,
			`f.yaml:5: defaults.sms.subaccount "a" is not an 8x8 subaccount id (3 to 50 letters, digits, -, ., _ or &)`,
			`f.yaml:5: defaults.sms.source "ThisIsFarTooLongASender" is longer than 8x8's 16 characters`,
			`f.yaml:6: unknown key "source"; valid keys here: subaccount`,
			`f.yaml:7: unknown key "timezone"; valid keys here: country, once_for, sms, whatsapp`,
		}},
		{"templated source", head + "- name: a\n  sms: {text: hi, source: \"{{ticket.brand}}\"}\n", []string{
			"f.yaml:7: rule a: sms.source is sent as written, not rendered: give the sender name or number itself, not a template",
		}},
		{"a byte order mark is not part of the first key", "\ufeffversion: 2\nrules: []\n", []string{"f.yaml:1: unknown version 2; this bridge reads version 1"}},
		{"defaults country template", "version: 1\ndefaults: {country: \"{{ticket.country}}\"}\nrules: []\n", []string{
			"f.yaml:2: defaults.country must be a country code such as SG, not a template",
		}},
		{"defaults once_for number", "version: 1\ndefaults: {once_for: 3600}\nrules: []\n", []string{
			"f.yaml:2: defaults.once_for needs a unit, like 720h or 30d",
		}},

		{"rule not a mapping", head + "- solved\n", []string{"f.yaml:6: rule #1: a rule must be a mapping of keys and values, not a String"}},
		{"missing name", head + "- sms: {text: hi}\n", []string{"f.yaml:6: rule #1: missing name"}},
		{"bad name", head + "- name: solved sms!\n  sms: {text: hi}\n", []string{`f.yaml:6: rule "solved sms!": name may contain only letters, digits, - and _`}},
		{"long name", head + "- name: " + strings.Repeat("a", 65) + "\n  sms: {text: hi}\n", []string{"f.yaml:6: rule " + strings.Repeat("a", 65) + ": name is longer than 64 characters"}},
		{"duplicate names", head + "- name: a\n  sms: {text: hi}\n- name: A\n  sms: {text: hi}\n", []string{
			"f.yaml:8: rule A: duplicate rule name (first at line 6); names must be unique, ignoring case",
		}},
		{"unknown rule keys", head + "- name: a\n  tag_all: [x]\n  sms: {text: hi, txt: x}\n  when: {tags_al: [x], Status: [open], foo: 1}\n", []string{
			`f.yaml:7: rule a: unknown key "tag_all"; valid keys here: name, when, to, country, once, once_for, sms, whatsapp`,
			`f.yaml:8: rule a: unknown key "txt", did you mean "text"?`,
			`f.yaml:9: rule a: unknown key "tags_al", did you mean "tags_all"?`,
			`f.yaml:9: rule a: unknown key "Status", did you mean "status"?`,
			`f.yaml:9: rule a: unknown key "foo"; valid keys here: status, tags_all, tags_any, tags_none, fields`,
		}},
		{"unknown key before the name", head + "- tag_all: [x]\n  name: late\n  sms: {text: hi}\n", []string{
			`f.yaml:6: rule late: unknown key "tag_all"; valid keys here: name, when, to, country, once, once_for, sms, whatsapp`,
		}},
		{"when typo", head + "- name: a\n  when:\n    tag_all: [x]\n  sms: {text: hi}\n", []string{
			`f.yaml:8: rule a: unknown key "tag_all", did you mean "tags_all"?`,
		}},
		{"neither channel", head + "- name: a\n  to: \"{{ticket.requester.phone}}\"\n", []string{"f.yaml:6: rule a: needs sms or whatsapp: what should it send?"}},
		{"both channels", head + "- name: a\n  sms: {text: hi}\n  whatsapp: {text: hi}\n", []string{
			"f.yaml:6: rule a: has both sms and whatsapp; a rule sends one message, so write two rules",
		}},
		{"sms problems", "version: 1\nrules:\n- name: a\n  sms:\n    source: \"\"\n", []string{
			"f.yaml:4: rule a: sms has no subaccount: set sms.subaccount or defaults.sms.subaccount",
			"f.yaml:4: rule a: sms needs a text",
			"f.yaml:5: rule a: sms.source is empty",
		}},
		{"empty sms", "version: 1\nrules:\n- name: a\n  sms:\n", []string{
			"f.yaml:4: rule a: sms has no subaccount: set sms.subaccount or defaults.sms.subaccount",
			"f.yaml:4: rule a: sms needs a text",
		}},
		{"a rules test file", "# tests\nrules_file: rules.yaml\ntests: []\n", []string{
			"f.yaml:2: this is a rules test file (it has rules_file or tests), not a rules file: run it with bridge rules test"}},
		{"sms is a list", head + "- name: a\n  sms: [hi]\n", []string{"f.yaml:7: rule a: sms must be a mapping of keys and values, not a list"}},
		{"whatsapp both", head + "- name: a\n  whatsapp:\n    text: hi\n    template: {name: x, language: en}\n", []string{
			"f.yaml:7: rule a: whatsapp has both template and text; use one",
		}},
		{"whatsapp neither", "version: 1\nrules:\n- name: a\n  whatsapp: {}\n", []string{
			"f.yaml:4: rule a: whatsapp has no subaccount: set whatsapp.subaccount or defaults.whatsapp.subaccount",
			"f.yaml:4: rule a: whatsapp needs a template (pre-approved) or a text (freeform)",
		}},
		{"whatsapp template", head + "- name: a\n  whatsapp:\n    template:\n      body: [\"{{ticket.id}}\", \"\", \"{{ x | nosuch }}\", [1]]\n", []string{
			"f.yaml:8: rule a: whatsapp.template needs a name",
			"f.yaml:8: rule a: whatsapp.template needs a language, such as en or en_GB",
			"f.yaml:9: rule a: whatsapp.template.body[2] is empty",
			`f.yaml:9: rule a: whatsapp.template.body[3]: undefined filter "nosuch" in {{ x | nosuch }}`,
			"f.yaml:9: rule a: whatsapp.template.body[4] must be text, not a list",
		}},
		{"whatsapp template names", head + "- name: a\n  whatsapp:\n    template: {name: Ticket Update, language: English}\n", []string{
			`f.yaml:8: rule a: whatsapp.template.name "Ticket Update" may contain only letters, digits and _, as in the template's name in WhatsApp Manager`,
			`f.yaml:8: rule a: whatsapp.template.language "English" is not a language code such as en or en_GB`,
		}},
		{"templates", head + "- name: a\n  to: \"{{ ticket.requester.phone\"\n  once: \"{% if %}\"\n  sms:\n    text: |\n      Hi {{ ticket.requester.name }}\n      {{ ticket.id | nosuch }}\n", []string{
			`f.yaml:7: rule a: to: "{{" is never closed with "}}"; to print it, use {% raw %}{{{% endraw %}`,
			`f.yaml:8: rule a: once: unterminated "if" block in {% if %}`,
			`f.yaml:10: rule a: sms.text: line 2: undefined filter "nosuch" in {{ ticket.id | nosuch }}`,
		}},
		{"template fails its trial render", head + "- name: a\n  sms: {text: \"{{ ticket.id | truncate: 1, 2, 3 }}\"}\n", []string{
			`f.yaml:7: rule a: sms.text: error applying filter "truncate" ("wrong number of arguments (given 3, expected 2)") in {{ ticket.id | truncate: 1, 2, 3 }} (rendering with an empty ticket)`,
		}},
		{"empty templates", head + "- name: a\n  to: \"\"\n  once: \" \"\n  sms: {text: }\n", []string{
			"f.yaml:7: rule a: to is empty",
			"f.yaml:8: rule a: once is empty",
			"f.yaml:9: rule a: sms.text is empty",
		}},
		{"country", head + "- name: a\n  country: ZZ\n  sms: {text: hi}\n- name: b\n  country: \"{{ ticket.x | nosuch }}\"\n  sms: {text: hi}\n", []string{
			`f.yaml:7: rule a: country: unknown country "ZZ"; use an ISO 3166 alpha-2 code such as SG or GB`,
			`f.yaml:10: rule b: country: undefined filter "nosuch" in {{ ticket.x | nosuch }}`,
		}},
		{"once", head + "- name: a\n  once: true\n  sms: {text: hi}\n- name: b\n  once: false\n  once_for: 1h\n  sms: {text: hi}\n- name: c\n  once: [x]\n  sms: {text: hi}\n- name: d\n  once: \"false\"\n  sms: {text: hi}\n", []string{
			`f.yaml:7: rule a: once must be a template such as "{{ticket.id}}", or false`,
			"f.yaml:11: rule b: once_for has no effect with once: false; remove one of them",
			"f.yaml:14: rule c: once must be text, not a list",
			`f.yaml:17: rule d: once "false" is text, not the value false: write once: false, without quotes, to turn fire-once off`,
		}},
		{"once_for", head + "- name: a\n  once_for: soon\n  sms: {text: hi}\n- name: b\n  once_for: -1h\n  sms: {text: hi}\n- name: c\n  once_for: 99999999999d\n  sms: {text: hi}\n", []string{
			`f.yaml:7: rule a: once_for: "soon" is not a duration; write it like 720h, 90m or 30d`,
			`f.yaml:10: rule b: once_for: "-1h" must be longer than zero`,
			`f.yaml:13: rule c: once_for: "99999999999d" is too long`,
		}},
		{"when values", head + "- name: a\n  when:\n    status: []\n    tags_all: [\"vip gold\"]\n    tags_any: [x, {a: 1}]\n    tags_none: [\"\"]\n    fields: {\"ticket..x\": [a], ticket.y: []}\n  sms: {text: hi}\n", []string{
			"f.yaml:8: rule a: when.status is an empty list; remove it or list at least one value",
			`f.yaml:9: rule a: when.tags_all: tag "vip gold" contains a space; list each tag on its own, like [vip, gold]`,
			"f.yaml:10: rule a: when.tags_any must list plain values, like [a, b]",
			"f.yaml:11: rule a: when.tags_none has an empty value",
			`f.yaml:12: rule a: when.fields: "ticket..x" is not a dotted path such as ticket.priority`,
			"f.yaml:12: rule a: when.fields.ticket.y is an empty list; remove it or list at least one value",
		}},
		{"when not a mapping", head + "- name: a\n  when: [solved]\n  sms: {text: hi}\n", []string{
			"f.yaml:7: rule a: when must be a mapping of keys and values, not a list",
		}},
		{"unknown alias", head + "- name: *nosuch\n  sms: {text: hi}\n", []string{
			"f.yaml:6: unknown alias *nosuch; define it first with &nosuch",
			"f.yaml:6: rule #1: name is empty",
		}},
		{"merge loop", head + "- &r\n  <<: [*r, *r]\n  name: a\n  sms: {text: hi}\n", []string{
			"f.yaml:7: rule a: << merges a mapping into itself",
		}},
		{"merged problems once", head + "- &r\n  name: a\n  sms: {text: hi, txt: x}\n- <<: *r\n  name: b\n", []string{
			`f.yaml:8: rule a: unknown key "txt", did you mean "text"?`,
			`f.yaml:8: rule b: unknown key "txt", did you mean "text"?`,
		}},
		{"every problem at once", "version: 3\nrules:\n- name: a\n  sms: {text: \"{{ x | nosuch }}\"}\n- name: a\n- name: b c\n  whatsapp: {text: hi}\n", []string{
			"f.yaml:1: unknown version 3; this bridge reads version 1",
			"f.yaml:4: rule a: sms has no subaccount: set sms.subaccount or defaults.sms.subaccount",
			`f.yaml:4: rule a: sms.text: undefined filter "nosuch" in {{ x | nosuch }}`,
			"f.yaml:5: rule a: needs sms or whatsapp: what should it send?",
			"f.yaml:5: rule a: duplicate rule name (first at line 3); names must be unique, ignoring case",
			`f.yaml:6: rule "b c": name may contain only letters, digits, - and _`,
			`f.yaml:7: rule "b c": whatsapp has no subaccount: set whatsapp.subaccount or defaults.whatsapp.subaccount`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := Parse("f.yaml", []byte(tc.src), opts)
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a *LoadError", err)
			}
			if set != nil {
				t.Error("a Set with problems")
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
			if le.File != "f.yaml" || len(le.Problems) != len(tc.want) {
				t.Errorf("File %q, %d problems", le.File, len(le.Problems))
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		check     func(t *testing.T, s *Set)
	}{
		{"no rules", "version: 1\nrules: []\n", func(t *testing.T, s *Set) {
			if len(s.Rules) != 0 || s.Defaults.OnceFor != DefaultOnceFor || s.Defaults.Country != "" {
				t.Errorf("%+v", s)
			}
		}},
		{"rule overrides", "version: 1\ndefaults:\n  country: uk\n  once_for: 30d\n  sms: {subaccount: Acme_SMS, source: Acme}\nrules:\n" +
			"- name: a\n  country: my\n  once_for: 1d12h\n  sms: {text: hi, subaccount: Other_SMS, source: 12345}\n" +
			"- name: b\n  once: false\n  sms: {text: \"{{ ticket.title | default: 'x' | upcase }}\"}\n", func(t *testing.T, s *Set) {
			if s.Defaults.Country != "GB" || s.Defaults.OnceFor != 30*24*time.Hour {
				t.Errorf("defaults %+v", s.Defaults)
			}
			a, b := s.Rules[0], s.Rules[1]
			if a.Country.Source() != "MY" || a.OnceFor != 36*time.Hour || a.SMS.Subaccount != "Other_SMS" || a.SMS.Source != "12345" {
				t.Errorf("a = %+v %+v", a, a.SMS)
			}
			if b.Once != nil || b.OnceFor != 0 || b.SMS.Subaccount != "Acme_SMS" || b.SMS.Source != "Acme" {
				t.Errorf("b = %+v %+v", b, b.SMS)
			}
		}},
		{"single values and odd scalars", "version: 1\nrules:\n- name: a\n  when:\n    status: Solved\n    tags_any: VIP\n    fields: {ticket.group_id: 360001, ticket.is_public: [true], ticket.priority: [\" High \"]}\n" +
			"  whatsapp:\n    subaccount: Acme_WA\n    text: |\n      Hello\n      #{{ticket.id}}\n", func(t *testing.T, s *Set) {
			w := s.Rules[0].When
			want := When{Status: []string{"solved"}, TagsAny: []string{"vip"},
				Fields: map[string][]string{"ticket.group_id": {"360001"}, "ticket.is_public": {"true"}, "ticket.priority": {"high"}}}
			if !reflect.DeepEqual(w, want) {
				t.Errorf("When = %+v", w)
			}
			if s.Rules[0].WhatsApp.Text.Source() != "Hello\n#{{ticket.id}}\n" {
				t.Errorf("text %q", s.Rules[0].WhatsApp.Text.Source())
			}
		}},
		{"comments everywhere, and quoted or spaced ones after values", "# rules for Acme\nversion: 1 # the only one\ndefaults:\n  # SMS first\n  sms: {subaccount: Acme_SMS}\n" +
			"  once_for: 720h #30 days\nrules:\n  # the first rule\n  - name: a # solved tickets\n    when:\n      status: [solved] # only\n" +
			"    sms:\n      text: 'Ticket #{{ticket.id}} solved' #{{kept as a comment}}\n  # the second rule\n  - name: b\n    sms:\n      text: \"Order #1\" # fine\n" +
			"  - name: e\n    sms: {text: Hello, source: Acme} #note\n  - name: c\n    country: SG #sg\n    sms:\n      text: Thanks # TODO add {{ticket.link}} later\n# the end\n", func(t *testing.T, s *Set) {
			if len(s.Rules) != 4 || s.Defaults.OnceFor != 720*time.Hour || s.Rules[0].When.Status[0] != "solved" {
				t.Fatalf("%+v", s)
			}
			for i, want := range []string{"Ticket #{{ticket.id}} solved", "Order #1", "Hello", "Thanks"} {
				if got := s.Rules[i].SMS.Text.Source(); got != want {
					t.Errorf("rule %d text %q, want %q", i, got, want)
				}
			}
		}},
		{"anchors and merge keys", "version: 1\ndefaults:\n  sms: {subaccount: Acme_SMS}\nrules:\n" +
			"- &base\n  name: a\n  when: &vip {tags_any: [vip]}\n  sms: {text: hi}\n" +
			"- <<: *base\n  name: b\n  when: *vip\n", func(t *testing.T, s *Set) {
			if len(s.Rules) != 2 || s.Rules[1].Name != "b" || s.Rules[1].SMS.Text.Source() != "hi" || s.Rules[1].When.TagsAny[0] != "vip" {
				t.Errorf("%+v", s.Rules[1])
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("f.yaml", []byte(tc.src), opts)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

func TestParseWithoutOptions(t *testing.T) {
	s, err := Parse("f.yaml", []byte("version: 1\ndefaults: {country: uk}\nrules:\n- name: a\n  country: Zz\n  sms: {subaccount: abc, text: hi}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Defaults.Country != "GB" || s.Rules[0].Country.Source() != "ZZ" {
		t.Errorf("%+v", s)
	}
	if _, err := Parse("f.yaml", []byte("version: 1\ndefaults: {country: SGP}\nrules: []\n"), Options{}); err == nil {
		t.Error("three letters must be refused")
	}
}

func body(t *testing.T, s string) map[string]any {
	t.Helper()
	data, err := zendesk.DecodeBody([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestMatch(t *testing.T) {
	set, err := Parse("f.yaml", []byte(head+
		"- name: full\n  when:\n    status: [solved, closed]\n    tags_all: [notify_customer_sms]\n    tags_any: [vip, gold]\n    tags_none: [no_sms]\n"+
		"    fields: {ticket.priority: [urgent, high], ticket.group_id: [360001]}\n  sms: {text: hi}\n"+
		"- name: always\n  sms: {text: hi}\n"+
		"- name: list-field\n  when: {fields: {ticket.brands: [acme]}}\n  sms: {text: hi}\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := set.Rule("full")
	for _, tc := range []struct{ name, body, reason string }{
		{"all hold", `{"ticket": {"status": "Solved", "tags": "VIP notify_customer_sms", "priority": "HIGH", "group_id": 360001}}`, ""},
		{"a number written another way", `{"ticket": {"status": "solved", "tags": "vip notify_customer_sms", "priority": "high", "group_id": 360001.0}}`, ""},
		{"a number with an exponent", `{"ticket": {"status": "solved", "tags": "vip notify_customer_sms", "priority": "high", "group_id": 3.60001e5}}`, ""},
		{"tags as array, id as string", `{"ticket": {"status": " closed ", "tags": ["gold", "Notify_Customer_SMS"], "priority": "urgent", "group_id": "360001"}}`, ""},
		{"wrong status", `{"ticket": {"status": "open", "tags": "vip notify_customer_sms", "priority": "high", "group_id": 360001}}`,
			"status is open, wanted one of solved, closed"},
		{"missing tag", `{"ticket": {"status": "solved", "tags": "vip", "priority": "high", "group_id": 360001}}`,
			"missing tag notify_customer_sms"},
		{"none of any", `{"ticket": {"status": "solved", "tags": "notify_customer_sms", "priority": "high", "group_id": 360001}}`,
			"has none of the tags vip, gold"},
		{"has excluded tag", `{"ticket": {"status": "solved", "tags": "vip notify_customer_sms no_sms", "priority": "high", "group_id": 360001}}`,
			"has tag no_sms"},
		{"wrong field", `{"ticket": {"status": "solved", "tags": "vip notify_customer_sms", "priority": "low", "group_id": 360001}}`,
			"field ticket.priority is low, wanted one of urgent, high"},
		{"everything wrong", `{"ticket": {"status": "", "tags": "no_sms", "group_id": 1}}`,
			"status is empty, wanted one of solved, closed; missing tag notify_customer_sms; has none of the tags vip, gold; has tag no_sms; " +
				"field ticket.group_id is 1, wanted one of 360001; field ticket.priority is missing, wanted one of urgent, high"},
		{"a number in a field is masked", `{"ticket": {"status": "solved", "tags": "vip notify_customer_sms", "priority": "+65 9876 5432", "group_id": 3600012345}}`,
			"field ticket.group_id is 360•••••45, wanted one of 360001; field ticket.priority is +65 9••• ••32, wanted one of urgent, high"},
		// A reason is said once per rule and logged: a long value is cut.
		{"long values are cut", `{"ticket": {"status": "` + strings.Repeat("é", 500) + `", "tags": "vip notify_customer_sms", "priority": "` + strings.Repeat("x", 70) + `", "group_id": 360001}}`,
			"status is " + strings.Repeat("é", 63) + "…, wanted one of solved, closed; field ticket.priority is " + strings.Repeat("x", 63) + "…, wanted one of urgent, high"},
		{"no ticket", `{}`,
			"status is missing, wanted one of solved, closed; missing tag notify_customer_sms; has none of the tags vip, gold; " +
				"field ticket.group_id is missing, wanted one of 360001; field ticket.priority is missing, wanted one of urgent, high"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := full.Match(body(t, tc.body))
			if ok != (tc.reason == "") || reason != tc.reason {
				t.Errorf("Match = %v, %q\nwant reason %q", ok, reason, tc.reason)
			}
		})
	}
	always, _ := set.Rule("always")
	if ok, reason := always.Match(map[string]any{}); !ok || reason != "" {
		t.Errorf("always: %v %q", ok, reason)
	}
	list, _ := set.Rule("list-field")
	if ok, _ := list.Match(body(t, `{"ticket": {"brands": ["Other", "ACME"]}}`)); !ok {
		t.Error("a list field matches when one item does")
	}
	if ok, reason := list.Match(body(t, `{"ticket": {"brands": ["other", 2]}}`)); ok || reason != "field ticket.brands is [other, 2], wanted one of acme" {
		t.Errorf("list-field: %v %q", ok, reason)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"720h", 720 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"30d", 30 * 24 * time.Hour, ""},
		{" 1d12h ", 36 * time.Hour, ""},
		{"0d", 0, `"0d" must be longer than zero`},
		{"1d-1h", 0, `"1d-1h" is not a duration; write it like 720h, 90m or 30d`},
		{"1w", 0, `"1w" is not a duration; write it like 720h, 90m or 30d`},
		{"106752d", 0, `"106752d" is too long`},
		{"106751d24h", 0, `"106751d24h" is too long`},
	} {
		got, err := ParseDuration(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseDuration(%q) error = %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestNearest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"tag_all", "tags_all"}, {"tags_al", "tags_all"}, {"stauts", "status"}, {"Status", "status"},
		{"whatsap", "whatsapp"}, {"onec", "once"}, {"foo", ""}, {"to", "to"}, {"ot", ""}, {"x", ""},
	} {
		got, _ := Nearest(tc.in, append(append(append([]string{}, ruleKeys...), whenKeys...), topKeys...))
		if got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	seed, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	for _, s := range []string{
		"", "version: 1\nrules: []\n", head + "- name: a\n  sms: {text: hi}\n",
		"a: &x [*x]\n", "version: 1\nrules:\n- &r {name: a, sms: {text: hi}}\n- <<: [*r, *r]\n  name: b\n",
		"version: 1\nrules:\n- <<: *nosuch\n", "? [a]\n: b\n", "!!map {a: 1}", "version: 1\nrules: [{name: a, when: {fields: {x: [{}]}}}]",
		"# c\nversion: 1 #c\nrules:\n  # c\n  - name: a # c\n    sms:\n      text: a #{{b}}\n# c\n", "#\n#\n",
	} {
		f.Add([]byte(s))
	}
	o := Options{Engine: templates.New(), Country: countries}
	f.Fuzz(func(t *testing.T, src []byte) {
		set, err := Parse("fuzz.yaml", src, o)
		if (set == nil) == (err == nil) {
			t.Fatalf("set %v, err %v", set, err)
		}
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || len(le.Problems) == 0 || strings.Contains(err.Error(), internalError) {
				t.Fatalf("err %v", err)
			}
			return
		}
		for _, r := range set.Rules {
			if (r.SMS == nil) == (r.WhatsApp == nil) || r.To == nil || r.Name == "" {
				t.Fatalf("bad rule %+v", r)
			}
			r.Match(map[string]any{"ticket": map[string]any{"tags": "a b", "status": int64(1)}})
		}
	})
}

// What loads but is likely a mistake is a warning, with its line: the rule
// still loads as written.
func TestWarnings(t *testing.T) {
	t.Parallel()
	src := head + "- name: a\n  when:\n    status: [solved, sovled, Hold]\n    fields: {priority: [high], ticket.via: [web], custom.x: [1]}\n  sms: {text: hi}\n" +
		// 8x8's own example name has capitals; a BCP 47 hyphen is not
		// WhatsApp's way, and is sent the way WhatsApp writes it.
		"- name: b\n  whatsapp:\n    template: {name: ticket_update_en_US, language: en-US}\n" +
		// A list filter on the tags as the shipped body sends them.
		"- name: c\n  sms: {text: \"{{ ticket.tags | join: ', ' }} {{ ticket.tags | split: ' ' | first }}\"}\n" +
		// A loop over them; and one over the split tags, which is fine.
		"- name: d\n  sms: {text: \"{% for t in ticket.tags %}{{t}}{% endfor %}\"}\n" +
		"- name: e\n  sms: {text: \"{% assign tags = ticket.tags | split: ' ' %}{% for t in tags %}{{t}}{% endfor %}\"}\n"
	set, err := Parse("f.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`f.yaml:8: rule a: warning: when.status "sovled" is not one of Zendesk's statuses (new, open, pending, hold, solved, closed), so it matches only if the body sends that word. Did you mean "solved"?`,
		`f.yaml:9: rule a: warning: when.fields "priority" is a key at the top of the body; the ticket's fields are under ticket (ticket.priority)`,
		`f.yaml:13: rule b: warning: whatsapp.template.language "en-US" is sent as en_US, as WhatsApp writes it; write it so`,
		`f.yaml:15: rule c: warning: sms.text: "ticket.tags | join" needs ticket.tags as a JSON array, but the shipped body sends Zendesk's space-separated text, ` +
			`on which it fails (422); write {{ ticket.tags | split: " " | ... }}, which reads both`,
		`f.yaml:17: rule d: warning: sms.text: "{% for t in ticket.tags %}" loops over nothing when ticket.tags arrives as the shipped body's space-separated text; ` +
			`split it first, which reads an array too: {% assign tags = ticket.tags | split: " " %}{% for tag in tags %}`,
	}
	if got := set.WarningLines(); !slices.Equal(got, want) {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(set.Rules) != 5 || !slices.Contains(set.Rules[0].When.Status, "sovled") || set.Rules[1].WhatsApp.Template.Language != "en_US" {
		t.Fatalf("the rule did not load as written: %+v", set.Rules)
	}
}

// Quotes in a trailing comment are not the value's.
func TestSyntaxMessageIgnoresCommentQuotes(t *testing.T) {
	t.Parallel()
	msg := "value is not allowed in this context"
	if got := SyntaxMessage(msg, `    text: "Hi there" # say "hi" to them`); strings.Contains(got, "holds double quotes") {
		t.Errorf("a comment's quotes were counted: %s", got)
	}
	if got := SyntaxMessage(msg, `    text: "Say "hi" now" # a comment`); !strings.Contains(got, "holds double quotes") {
		t.Errorf("quotes inside the value were missed: %s", got)
	}
	if got := SyntaxMessage(msg, `    text: 'It''s' # don't`); strings.Contains(got, "holds single quotes") {
		t.Errorf("a comment's apostrophe was counted: %s", got)
	}
}
