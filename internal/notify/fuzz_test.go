package notify

import (
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/templates"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

const fuzzRules = `version: 1
defaults:
  country: SG
  once_for: 720h
  sms: {subaccount: Acme_SMS, source: AcmeSupport}
  whatsapp: {subaccount: Acme_WA}
rules:
  - name: solved-sms
    when:
      status: [solved]
      tags_all: [notify]
      tags_none: [no_sms]
      fields: {ticket.priority: [urgent, high]}
    country: "{{ticket.requester.country}}"
    sms:
      text: "Hi {{ticket.requester.first_name | default: 'there' | truncate: 20}} #{{ticket.id}} {{ticket.title | upcase}}"
  - name: wa
    once: false
    whatsapp:
      template:
        name: ticket_update
        language: en_GB
        body: ["{{ticket.id}}", "{{ticket.status}}"]
  - name: wa-text
    once: "{{ticket.id}}-{{ticket.status}}"
    whatsapp:
      text: "{% if ticket.tags contains 'vip' %}VIP {% endif %}{{ticket.link}}"
`

// FuzzPipeline drives body → match → render → normalise: it must never
// panic, and whatever it decides must be consistent.
func FuzzPipeline(f *testing.F) {
	set, err := rules.Parse("fuzz.yaml", []byte(fuzzRules), rules.Options{Engine: templates.New(), Country: phone.Country})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"ticket":{"id":12345,"status":"Solved","tags":"notify vip","priority":"High","requester":{"phone":"9123 4567","first_name":"Mei"}}}`,
		`{"ticket":{"id":"8447388090494","status":"solved","tags":["notify"],"priority":"urgent","requester":{"phone":"+44 7400 123456","country":"UK"}}}`,
		`{"ticket":{"id":1.5e3,"title":"{{ 7 | plus: 1 }}","requester":{"phone":"0065 9123 4567 ext 1"}}}`,
		`{"ticket":{"requester":{"phone":["a","b"],"country":{"x":1}},"status":null,"tags":5}}`,
		`{"ticket":"string"}`, `[]`, `{}`, `{"a":`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data, err := zendesk.DecodeBody(body)
		if err != nil {
			return
		}
		for _, d := range Plan(set, Input{Data: data, InvocationID: "inv", Now: time.Unix(1700000000, 0)}) {
			if !d.Ready() {
				continue
			}
			m := d.Message
			if m.To == "" || m.To[0] != '+' || m.Subaccount == "" || len(m.ClientMessageID) > 50 || d.ID == "" {
				t.Fatalf("ready decision with a bad message: %+v", d)
			}
			if m.Template == nil && m.Text == "" {
				t.Fatalf("ready decision with nothing to say: %+v", d)
			}
			if m.Template != nil {
				for _, p := range m.Template.Body {
					if p == "" {
						t.Fatalf("empty template parameter: %+v", d)
					}
				}
			}
		}
	})
}
