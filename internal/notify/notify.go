// Package notify decides, for one ticket, what each rule would send: it
// matches, renders, normalises the number and names the fire-once key. The
// webhook queues what it decides; /test shows it.
package notify

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/dedupe"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/templates"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

// Refusal says why a matched rule cannot send for this ticket: the input is
// unusable (422 when nothing else could be queued).
type Refusal struct {
	Code   string // invalid_phone, invalid_country, template_error, empty_text, empty_parameter, empty_key
	Reason string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Reason }

// Decision is one rule's verdict on one ticket.
type Decision struct {
	Rule    string
	Matched bool
	// Why is the reason the rule did not match.
	Why string
	// Refusal is set when the rule matched but cannot send.
	Refusal *Refusal
	// Once is false when the rule claims no key (once: false and no
	// invocation id to deduplicate on).
	Once bool
	Key  dedupe.Key
	// ID is the delivery id: the key's when there is one, else random.
	ID      string
	Window  time.Duration
	Ticket  string
	Message sender.Message
}

// newID is the id of a delivery that claims nothing.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Ready reports whether the decision can be queued.
func (d Decision) Ready() bool { return d.Matched && d.Refusal == nil }

// Input is the ticket and what came with it.
type Input struct {
	Data map[string]any
	// InvocationID is Zendesk's X-Zendesk-Webhook-Invocation-Id, if any.
	InvocationID string
	// Now stamps the clientMessageId so a key that fires again after
	// once_for gets a new one.
	Now time.Time
	// To, when set, is the E.164 number to send to instead of the rule's
	// rendered `to` (a /test send to a test phone).
	To string
}

// Plan decides for every rule in set, in file order.
func Plan(set *rules.Set, in Input) []Decision {
	out := make([]Decision, 0, len(set.Rules))
	for _, r := range set.Rules {
		out = append(out, Decide(set, r, in))
	}
	return out
}

// Decide decides for one rule.
func Decide(set *rules.Set, r *rules.Rule, in Input) Decision {
	d := Decision{Rule: r.Name, Ticket: ticketID(in.Data)}
	d.Matched, d.Why = r.Match(in.Data)
	if !d.Matched {
		return d
	}
	if err := render(set, r, in, &d); err != nil {
		var ref *Refusal
		if !errors.As(err, &ref) {
			ref = &Refusal{Code: "template_error", Reason: err.Error()}
		}
		d.Refusal = ref
	}
	return d
}

func render(set *rules.Set, r *rules.Rule, in Input, d *Decision) error {
	text := func(what string, t *templates.Template) (string, error) {
		s, err := t.Render(in.Data)
		if err != nil {
			return "", &Refusal{Code: "template_error", Reason: fmt.Sprintf("%s: %v", what, err)}
		}
		return strings.TrimSpace(s), nil
	}

	e164, err := recipient(set, r, in, text)
	if err != nil {
		return err
	}

	switch {
	case r.Once != nil:
		k, err := text("once", r.Once)
		if err != nil {
			return err
		}
		if k == "" {
			return &Refusal{Code: "empty_key", Reason: fmt.Sprintf("the once key %q rendered empty", r.Once.Source())}
		}
		d.Once, d.Key, d.Window = true, dedupe.Once(r.Name, k), r.OnceFor
	case in.InvocationID != "":
		d.Once, d.Key = true, dedupe.Invocation(r.Name, in.InvocationID)
		d.Window = d.Key.Window(r.OnceFor)
	}

	m := sender.Message{To: e164}
	switch {
	case r.SMS != nil:
		m.Channel, m.Subaccount, m.Source = sender.SMS, r.SMS.Subaccount, r.SMS.Source
		if m.Text, err = text("sms.text", r.SMS.Text); err != nil {
			return err
		}
		if m.Text == "" {
			return &Refusal{Code: "empty_text", Reason: "the SMS text rendered empty"}
		}
	case r.WhatsApp != nil && r.WhatsApp.Template != nil:
		t := r.WhatsApp.Template
		m.Channel, m.Subaccount = sender.WhatsApp, r.WhatsApp.Subaccount
		m.Template = &sender.Template{Name: t.Name, Language: t.Language}
		for i, p := range t.Body {
			v, err := text(fmt.Sprintf("whatsapp.template.body[%d]", i), p)
			if err != nil {
				return err
			}
			v = templateParameter(v)
			if v == "" {
				return &Refusal{Code: "empty_parameter", Reason: fmt.Sprintf("template parameter %d (%s) rendered empty", i+1, p.Source())}
			}
			m.Template.Body = append(m.Template.Body, v)
		}
	case r.WhatsApp != nil:
		m.Channel, m.Subaccount = sender.WhatsApp, r.WhatsApp.Subaccount
		if m.Text, err = text("whatsapp.text", r.WhatsApp.Text); err != nil {
			return err
		}
		if m.Text == "" {
			return &Refusal{Code: "empty_text", Reason: "the WhatsApp text rendered empty"}
		}
	}
	if d.Once {
		d.ID = d.Key.ID()
	} else {
		d.ID = newID()
	}
	m.ClientMessageID = ClientMessageID(d.ID, in.Now)
	// What 8x8 would refuse for good (too long, a bad subaccount) is refused
	// now, while Zendesk can still be told, rather than parked later.
	if err := m.Validate(); err != nil {
		return &Refusal{Code: "invalid_message", Reason: err.Error()}
	}
	d.Message = m
	return nil
}

// ClientMessageID builds the 8x8 clientMessageId of a delivery: at most 50
// characters, the same for every attempt because it is stored with it.
func ClientMessageID(id string, now time.Time) string {
	if len(id) > 32 {
		id = id[:32]
	}
	var stamp [16]byte // base 36 of an int64: at most 14 characters
	return "zd-" + id + "-" + string(strconv.AppendInt(stamp[:0], now.Unix(), 36))
}

func ticketID(data map[string]any) string {
	v, _ := zendesk.Lookup(data, "ticket.id")
	return zendesk.Text(v)
}

// recipient renders the rule's `to` (and `country`) and normalises it, unless
// the input names the number itself.
func recipient(set *rules.Set, r *rules.Rule, in Input, text func(string, *templates.Template) (string, error)) (string, error) {
	if in.To != "" {
		return in.To, nil
	}
	country := set.Defaults.Country
	if r.Country != nil {
		c, err := text("country", r.Country)
		if err != nil {
			return "", err
		}
		if c != "" {
			country = c
		}
	}
	to, err := text("to", r.To)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(to) == "" {
		// Said here, where the template is known: a requester without a
		// phone, or a field name misspelt in the rule.
		return "", &Refusal{Code: "invalid_phone", Reason: fmt.Sprintf("the recipient (to: %s) rendered empty: the ticket has no number there", r.To.Source())}
	}
	e164, err := phone.Normalize(to, country)
	if err != nil {
		var pe *phone.Error
		if errors.As(err, &pe) {
			reason := pe.Reason
			if r.WhatsApp != nil {
				reason = pe.ReasonFor("WhatsApp messages")
			}
			return "", &Refusal{Code: pe.Code, Reason: reason}
		}
		return "", &Refusal{Code: "invalid_phone", Reason: err.Error()}
	}
	return e164, nil
}

// templateParameter fits a rendered parameter to WhatsApp's rule for
// template parameters: no new lines or tabs, and no more than four spaces
// in a row (Meta refuses the message otherwise, error 132018, after 8x8
// has accepted it). Such white space, as a ticket's title or a multi-line
// field may carry, becomes one space; the ends are trimmed. Other spaces
// (an ideographic space, a no-break space) are text, and stay.
func templateParameter(v string) string {
	if !strings.ContainsAny(v, breaks) && !strings.Contains(v, "     ") && strings.TrimSpace(v) == v {
		return v
	}
	var b strings.Builder
	spaces := 0
	for _, r := range strings.TrimSpace(v) {
		switch {
		case r == ' ':
			spaces++
			continue
		case strings.ContainsRune(breaks, r):
			spaces = 5 // a line break or a tab: one space
			continue
		}
		if spaces > 4 {
			b.WriteByte(' ')
		} else {
			b.WriteString(strings.Repeat(" ", spaces))
		}
		spaces = 0
		b.WriteRune(r)
	}
	return b.String()
}

// breaks are the tabs and line breaks WhatsApp refuses in a parameter.
const breaks = "\t\n\v\f\r\u0085\u2028\u2029"
