package sender

import (
	"context"
	"sync"

	"github.com/rs/zerolog"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
)

// DefaultDryRunKeep is how many messages a DryRun remembers when not told.
const DefaultDryRunKeep = 100

// DryRun is the sender of a bridge without an 8x8 API key: it sends nothing,
// logs one line per message and remembers the last few it would have sent.
// It refuses the same invalid messages Client does, so a rule that would be
// parked for real is parked in a dry run too.
type DryRun struct {
	log  zerolog.Logger
	mu   sync.Mutex
	ring []Message // oldest at next once full
	next int
	full bool
}

// NewDryRun returns a DryRun that logs to log and keeps the last keep
// messages (DefaultDryRunKeep when keep <= 0).
func NewDryRun(log zerolog.Logger, keep int) *DryRun {
	if keep <= 0 {
		keep = DefaultDryRunKeep
	}
	return &DryRun{log: log, ring: make([]Message, keep)}
}

// Send records m and reports it Sent with UMID "dry-run-<clientMessageId>".
func (d *DryRun) Send(ctx context.Context, m Message) (Result, error) {
	if err := ctx.Err(); err != nil { // as Client: a shutdown, not the message's fault
		r := finish(classifyError(err), nil)
		return r, &Error{Result: r, Err: err}
	}
	if err := m.Validate(); err != nil {
		r := Result{Outcome: Permanent, Message: oneLine(err.Error())}
		d.log.Warn().Str("sender", "dry_run").Str("channel", string(m.Channel)).Str("to", phone.Mask(m.To)).
			Str("client_message_id", m.ClientMessageID).Str("outcome", string(r.Outcome)).Str("error", r.Message).
			Msg("dry run: message refused")
		return r, &Error{Result: r, Err: err}
	}

	d.mu.Lock()
	d.ring[d.next] = cloneMessage(m)
	d.next = (d.next + 1) % len(d.ring)
	d.full = d.full || d.next == 0
	d.mu.Unlock()

	r := Result{Outcome: Sent, UMID: "dry-run-" + m.ClientMessageID, DryRun: true}
	ev := d.log.Info().Str("sender", "dry_run").Str("channel", string(m.Channel)).
		Str("subaccount", m.Subaccount).Str("to", phone.Mask(m.To)).Str("client_message_id", m.ClientMessageID)
	if m.Template != nil {
		ev = ev.Str("template", m.Template.Name).Str("language", m.Template.Language)
	} else if m.Channel == SMS {
		enc, segments := SMSEncoding(m.Text)
		ev = ev.Str("encoding", enc).Int("segments", segments)
	}
	ev.Str("outcome", string(r.Outcome)).Str("umid", r.UMID).Msg("dry run: not sent to 8x8")
	return r, nil
}

// Sent returns the messages Send accepted, oldest first, at most the last
// keep of them.
func (d *DryRun) Sent() []Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Message
	if d.full {
		out = append(out, d.ring[d.next:]...)
	}
	out = append(out, d.ring[:d.next]...)
	for i := range out {
		out[i] = cloneMessage(out[i])
	}
	return out
}

// cloneMessage copies the template so that neither the caller nor a reader
// of Sent can change what was recorded.
func cloneMessage(m Message) Message {
	if m.Template != nil {
		t := *m.Template
		t.Body = append([]string(nil), t.Body...)
		m.Template = &t
	}
	return m
}
