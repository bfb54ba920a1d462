package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/templates"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

func testSet(t *testing.T) *rules.Set {
	t.Helper()
	set, err := rules.Parse("fuzz.yaml", []byte(fuzzRules), rules.Options{Engine: templates.New(), Country: phone.Country})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func decide(t *testing.T, set *rules.Set, rule, body, invocation string) Decision {
	t.Helper()
	data, err := zendesk.DecodeBody([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := set.Rule(rule)
	if !ok {
		t.Fatalf("no rule %s", rule)
	}
	return Decide(set, r, Input{Data: data, InvocationID: invocation, Now: time.Unix(1700000000, 0)})
}

func TestDecide(t *testing.T) {
	t.Parallel()
	set := testSet(t)
	const solved = `{"ticket":{"id":12345,"status":"SOLVED","tags":"Notify vip","priority":"High","title":"{{ 7 | plus: 1 }}","requester":{"phone":"9123 4567","first_name":"Mei"}}}`
	cases := []struct {
		name, rule, body, invocation string
		matched                      bool
		why, refusal                 string
		check                        func(t *testing.T, d Decision)
	}{
		{name: "sms rendered, ticket data is not template code", rule: "solved-sms", body: solved, matched: true,
			check: func(t *testing.T, d Decision) {
				m := d.Message
				if m.Channel != sender.SMS || m.To != "+6591234567" || m.Subaccount != "Acme_SMS" || m.Source != "AcmeSupport" ||
					m.Text != "Hi Mei #12345 {{ 7 | PLUS: 1 }}" {
					t.Fatalf("message %+v", m)
				}
				if !d.Once || d.Key.String() != "solved-sms/12345" || d.ID != d.Key.ID() || d.Window != 720*time.Hour {
					t.Fatalf("key %+v", d)
				}
				if !strings.HasPrefix(m.ClientMessageID, "zd-"+d.ID) || len(m.ClientMessageID) > 50 {
					t.Fatalf("clientMessageId %q", m.ClientMessageID)
				}
			}},
		{name: "status differs", rule: "solved-sms", body: `{"ticket":{"id":1,"status":"open","tags":"notify","priority":"high","requester":{"phone":"91234567"}}}`,
			why: "status"},
		{name: "a required tag missing", rule: "solved-sms", body: `{"ticket":{"id":1,"status":"solved","tags":"vip","priority":"high","requester":{"phone":"91234567"}}}`,
			why: "notify"},
		{name: "tags as an array, a forbidden tag", rule: "solved-sms", body: `{"ticket":{"id":1,"status":"solved","tags":["notify","NO_SMS"],"priority":"high","requester":{"phone":"91234567"}}}`,
			why: "no_sms"},
		{name: "tags as an object cannot satisfy tags_none", rule: "solved-sms", body: `{"ticket":{"id":1,"status":"solved","tags":{"notify":true,"no_sms":true},"priority":"high","requester":{"phone":"91234567"}}}`,
			why: "ticket.tags"},
		{name: "field not in list", rule: "solved-sms", body: `{"ticket":{"id":1,"status":"solved","tags":"notify","priority":"low","requester":{"phone":"91234567"}}}`,
			why: "priority"},
		{name: "per-ticket country", rule: "solved-sms", body: `{"ticket":{"id":1,"status":"solved","tags":"notify","priority":"urgent","requester":{"phone":"07400 123456","country":"UK"}}}`,
			matched: true, check: func(t *testing.T, d Decision) {
				if d.Message.To != "+447400123456" {
					t.Fatalf("to %s", d.Message.To)
				}
			}},
		{name: "unknown per-ticket country", rule: "solved-sms", body: `{"ticket":{"id":1,"status":"solved","tags":"notify","priority":"urgent","requester":{"phone":"07400 123456","country":"XX"}}}`,
			matched: true, refusal: "invalid_country"},
		{name: "fixed line", rule: "solved-sms", body: `{"ticket":{"id":1,"status":"solved","tags":"notify","priority":"urgent","requester":{"phone":"6123 4567"}}}`,
			matched: true, refusal: "invalid_phone", check: func(t *testing.T, d Decision) {
				if d.Refusal.Reason != "fixed line cannot receive SMS" {
					t.Fatalf("reason %q", d.Refusal.Reason)
				}
			}},
		{name: "fixed line, whatsapp", rule: "wa", body: `{"ticket":{"id":1,"status":"open","requester":{"phone":"6123 4567"}}}`,
			matched: true, refusal: "invalid_phone", check: func(t *testing.T, d Decision) {
				if d.Refusal.Reason != "fixed line cannot receive WhatsApp messages" {
					t.Fatalf("reason %q", d.Refusal.Reason)
				}
			}},
		{name: "no phone", rule: "solved-sms", body: `{"ticket":{"id":1,"status":"solved","tags":"notify","priority":"urgent"}}`,
			matched: true, refusal: "invalid_phone", check: func(t *testing.T, d Decision) {
				if want := "the recipient (to: {{ticket.requester.phone}}) rendered empty: the ticket has no number there"; d.Refusal.Reason != want {
					t.Fatalf("reason %q, want %q", d.Refusal.Reason, want)
				}
			}},
		{name: "template parameter with line breaks", rule: "wa", body: `{"ticket":{"id":7,"status":"Open\n\tnow","requester":{"phone":"+65 9123 4567"}}}`,
			matched: true, check: func(t *testing.T, d Decision) {
				if got := strings.Join(d.Message.Template.Body, "|"); got != "7|Open now" {
					t.Fatalf("parameters %q", got)
				}
			}},
		{name: "empty template parameter", rule: "wa", body: `{"ticket":{"id":7,"requester":{"phone":"+65 9123 4567"}}}`,
			matched: true, refusal: "empty_parameter"},
		{name: "empty once key", rule: "solved-sms", body: `{"ticket":{"status":"solved","tags":"notify","priority":"high","requester":{"phone":"+65 9123 4567"}}}`,
			matched: true, refusal: "empty_key"},
		{name: "whatsapp template with invocation key for once:false", rule: "wa", invocation: "inv-9",
			body: `{"ticket":{"id":8447388090494,"status":"Open","requester":{"phone":"+65 9123 4567"}}}`, matched: true,
			check: func(t *testing.T, d Decision) {
				m := d.Message
				if m.Channel != sender.WhatsApp || m.Subaccount != "Acme_WA" || m.Template == nil || m.Template.Name != "ticket_update" ||
					strings.Join(m.Template.Body, "|") != "8447388090494|Open" {
					t.Fatalf("message %+v %+v", m, m.Template)
				}
				if !d.Once || !d.Key.Invocation || d.Window != 24*time.Hour {
					t.Fatalf("once:false with an invocation id must dedupe on it: %+v", d)
				}
			}},
		{name: "once:false without invocation claims nothing", rule: "wa",
			body: `{"ticket":{"id":8,"status":"Open","requester":{"phone":"+65 9123 4567"}}}`, matched: true,
			check: func(t *testing.T, d Decision) {
				if d.Once || d.ID == "" {
					t.Fatalf("%+v", d)
				}
			}},
		{name: "whatsapp text", rule: "wa-text", body: `{"ticket":{"id":9,"status":"open","tags":"vip","link":"https://x/9","requester":{"phone":"+65 9123 4567"}}}`,
			matched: true, check: func(t *testing.T, d Decision) {
				if d.Message.Text != "VIP https://x/9" || d.Message.Template != nil || d.Key.String() != "wa-text/9-open" {
					t.Fatalf("%+v", d)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d := decide(t, set, c.rule, c.body, c.invocation)
			if c.why != "" {
				if d.Matched || !strings.Contains(strings.ToLower(d.Why), c.why) {
					t.Fatalf("matched=%v why=%q, want not matched mentioning %q", d.Matched, d.Why, c.why)
				}
				return
			}
			if d.Matched != c.matched {
				t.Fatalf("matched=%v (%s)", d.Matched, d.Why)
			}
			if c.refusal != "" {
				if d.Refusal == nil || d.Refusal.Code != c.refusal || d.Ready() {
					t.Fatalf("refusal %+v, want %s", d.Refusal, c.refusal)
				}
				if strings.Contains(d.Refusal.Reason, "9123") || strings.Contains(d.Refusal.Reason, "6123") {
					t.Fatalf("the reason quotes the number: %s", d.Refusal.Reason)
				}
				if c.check != nil {
					c.check(t, d)
				}
				return
			}
			if d.Refusal != nil || !d.Ready() {
				t.Fatalf("refused: %+v", d.Refusal)
			}
			if c.check != nil {
				c.check(t, d)
			}
		})
	}
}

func TestSameTicketSameDelivery(t *testing.T) {
	t.Parallel()
	set := testSet(t)
	body := `{"ticket":{"id":"12345","status":"solved","tags":"notify","priority":"high","requester":{"phone":"9123 4567"}}}`
	a := decide(t, set, "solved-sms", body, "inv-1")
	b := decide(t, set, "solved-sms", strings.Replace(body, `"12345"`, `12345`, 1), "inv-2")
	if a.ID != b.ID {
		t.Fatal("the same ticket as a string and as a number claims different keys")
	}
}

// WhatsApp refuses template parameters with line breaks, tabs or more than
// four spaces in a row; they become one space.
func TestTemplateParameter(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Printer broken":          "Printer broken",
		"Printer broken\nurgent":  "Printer broken urgent",
		"a\r\n\r\nb\tc":           "a b c",
		"a    b":                  "a    b", // four: allowed
		"a     b":                 "a b",
		"  padded  ":              "padded",
		" \n\t ":                  "",
		"non\u00a0breaking stays": "non\u00a0breaking stays",
		"line one  \n  line two":  "line one line two",
	} {
		if got := templateParameter(in); got != want {
			t.Errorf("templateParameter(%q) = %q, want %q", in, got, want)
		}
	}
}
