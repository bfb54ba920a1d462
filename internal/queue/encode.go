package queue

import (
	"encoding/json"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/jsonappend"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
)

// encode is d's payload: exactly json.Marshal(d) (TestEncodeIsJSONMarshal
// holds it to that), written without reflection because every accepted
// webhook stores one. Payloads are decoded with json.Unmarshal.
func encode(d Delivery) ([]byte, error) {
	m := d.Message
	size := 240 + len(d.ID) + len(d.Rule) + len(d.Ticket) + len(d.Key) + len(m.Subaccount) + len(m.To) +
		len(m.ClientMessageID) + len(m.Text) + len(m.Source) + len(d.Firing) + len(d.Invocation)
	if m.Template != nil {
		size += 48 + len(m.Template.Name) + len(m.Template.Language)
		for _, p := range m.Template.Body {
			size += 3 + len(p)
		}
	}
	b := make([]byte, 0, size)
	b = append(b, '{')
	b = jsonappend.StringField(b, "id", d.ID, false)
	b = jsonappend.StringField(b, "rule", d.Rule, false)
	b = jsonappend.StringField(b, "ticket", d.Ticket, false)
	b = jsonappend.StringField(b, "key", d.Key, true)
	b = appendMessage(jsonappend.Field(b, "message"), d.Message)
	b, ok := jsonappend.Time(jsonappend.Field(b, "accepted_at"), d.AcceptedAt)
	if !ok {
		return json.Marshal(d) // for its error
	}
	if d.Window != 0 {
		b = jsonappend.Int(jsonappend.Field(b, "window"), int64(d.Window))
	}
	b = jsonappend.StringField(b, "firing", d.Firing, true)
	b = jsonappend.StringField(b, "invocation", d.Invocation, true)
	return append(b, '}'), nil
}

func appendMessage(b []byte, m sender.Message) []byte {
	b = append(b, '{')
	b = jsonappend.StringField(b, "channel", string(m.Channel), false)
	b = jsonappend.StringField(b, "subaccount", m.Subaccount, false)
	b = jsonappend.StringField(b, "to", m.To, false)
	b = jsonappend.StringField(b, "client_message_id", m.ClientMessageID, false)
	b = jsonappend.StringField(b, "text", m.Text, true)
	b = jsonappend.StringField(b, "source", m.Source, true)
	if t := m.Template; t != nil {
		b = append(jsonappend.Field(b, "template"), '{')
		b = jsonappend.StringField(b, "name", t.Name, false)
		b = jsonappend.StringField(b, "language", t.Language, false)
		if len(t.Body) > 0 {
			b = append(jsonappend.Field(b, "body"), '[')
			for i, p := range t.Body {
				if i > 0 {
					b = append(b, ',')
				}
				b = jsonappend.String(b, p)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}
