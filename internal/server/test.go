package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/notify"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/queue"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

// testRule is one rule's line in a /test answer.
type testRule struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
	Reason  string `json:"reason,omitempty"`
	Error   string `json:"error,omitempty"`
	Channel string `json:"channel,omitempty"`
	// To is shown whole: it is the number from the sample ticket the admin
	// sent, answered to the admin alone.
	To           string          `json:"to,omitempty"`
	URL          string          `json:"url,omitempty"`
	Body         json.RawMessage `json:"body,omitempty"`
	SMS          *smsInfo        `json:"sms,omitempty"`
	OnceKey      string          `json:"once_key,omitempty"`
	DeliveryID   string          `json:"delivery_id,omitempty"`
	AlreadyFired *bool           `json:"already_fired,omitempty"`
	FiredState   string          `json:"fired_state,omitempty"`
	// Missing are variables the rule prints that the sample lacks: each
	// printed nothing, which is how a typo goes unseen.
	Missing []string  `json:"missing,omitempty"`
	Warning string    `json:"warning,omitempty"`
	Send    *testSend `json:"send,omitempty"`
}

type smsInfo struct {
	Encoding   string `json:"encoding"`
	Segments   int    `json:"segments"`
	Characters int    `json:"characters"`
}

type testSend struct {
	To              string `json:"to"`
	Outcome         string `json:"outcome"` // sent, retryable, permanent; dry_run: nothing went out
	ClientMessageID string `json:"client_message_id"`
	UMID            string `json:"umid,omitempty"`
	Status          int    `json:"status,omitempty"`
	Code            int    `json:"code,omitempty"`
	Message         string `json:"message,omitempty"`
}

// test is the support-ops dry run: what each rule would do with a sample
// ticket. It claims nothing; with send=1 it really sends, to the given test
// number only.
func (s *server) test(c echo.Context) error {
	body, rerr := s.readBody(c, s.MaxBody)
	if rerr != nil {
		return rerr
	}
	data, err := zendesk.DecodeBody(body)
	if err != nil {
		return fail(http.StatusBadRequest, "malformed_json", sentence(err.Error()))
	}
	set := s.Rules.Current()
	send, ok := flag(c, "send")
	if !ok {
		// Not a silent "no": whoever wrote send=y expects a message.
		return fail(http.StatusBadRequest, "invalid_send", "send must be 1 (send the test message) or 0; true/false, yes/no and on/off work too.")
	}
	var testTo string
	if send {
		raw := c.QueryParam("to")
		if strings.TrimSpace(raw) == "" {
			return fail(http.StatusBadRequest, "missing_to", "send=1 needs to=<test number>, URL-encoded (%2B for +).")
		}
		// A bare + in a query string decodes to a space.
		if strings.HasPrefix(raw, " ") {
			raw = "+" + strings.TrimLeft(raw, " ")
		}
		testTo, err = phone.Normalize(raw, set.Defaults.Country)
		if err != nil {
			var pe *phone.Error
			if errors.As(err, &pe) {
				return fail(http.StatusUnprocessableEntity, pe.Code, "The test number is refused: "+pe.Reason+".")
			}
			return fail(http.StatusUnprocessableEntity, "invalid_phone", "The test number is refused.")
		}
	}

	// A send goes to the test number whatever the sample's own phone is.
	in := notify.Input{Data: data, InvocationID: zendesk.InvocationID(c.Request().Header), Now: s.Now(), To: testTo}
	decisions := notify.Plan(set, in)
	if name := c.QueryParam("rule"); name != "" {
		r, ok := set.Rule(name)
		if !ok {
			return fail(http.StatusNotFound, "unknown_rule", fmt.Sprintf("rules.yaml has no rule named %q.", shorten(name))).with("rule", shorten(name))
		}
		decisions = []notify.Decision{notify.Decide(set, r, in)}
	}

	ctx := c.Request().Context()
	out := make([]testRule, 0, len(decisions))
	matched, sent := 0, 0
	var storeErr error
	for _, d := range decisions {
		tr := testRule{Rule: d.Rule, Matched: d.Matched, Reason: d.Why}
		if d.Matched {
			matched++
			if r, ok := set.Rule(d.Rule); ok {
				tr.Missing, tr.Warning = missing(r, data)
				// The test number stands in for the ticket's own, which
				// must not hide that a live webhook would be refused.
				if send && d.Refusal == nil {
					live := in
					live.To = ""
					if ld := notify.Decide(set, r, live); ld.Refusal != nil {
						tr.Warning = joinSentences(tr.Warning, "Sent to the test number; the ticket's own recipient is refused ("+
							ld.Refusal.Code+": "+ld.Refusal.Reason+"), so a live webhook would not send this rule.")
					}
				}
			}
		}
		if d.Refusal != nil {
			tr.Error, tr.Reason = d.Refusal.Code, d.Refusal.Reason
		}
		if d.Ready() {
			m := d.Message
			if send {
				// The body shown is the one sent: with its own id, never
				// the delivery's, so that it claims nothing.
				m.ClientMessageID = testMessageID()
			}
			tr.Channel, tr.To = string(m.Channel), m.To
			url, b, err := s.Requester.Request(m)
			if err != nil {
				tr.Error, tr.Reason = "invalid_message", err.Error()
			} else {
				tr.URL, tr.Body = sender.Redact(url), b
			}
			if m.Channel == sender.SMS {
				enc, segs := sender.SMSEncoding(m.Text)
				tr.SMS = &smsInfo{Encoding: enc, Segments: segs, Characters: len([]rune(m.Text))}
			}
			if d.Once {
				tr.OnceKey, tr.DeliveryID = d.Key.String(), d.ID
				// Without the store the rest of the test still stands:
				// only whether it fired is unknown (asked once).
				if storeErr == nil {
					var state queue.State
					var fired bool
					if state, fired, storeErr = s.Queue.Fired(ctx, d.ID, d.Window); storeErr == nil {
						tr.AlreadyFired, tr.FiredState = &fired, string(state)
					}
				}
				if storeErr != nil {
					tr.FiredState = "unknown"
					tr.Warning = joinSentences(tr.Warning, "The store does not answer ("+storeError(storeErr)+"), so whether this rule already fired is unknown.")
				}
			}
			if send {
				tr.Send = s.sendTest(c, d.Rule, m, testTo)
				if tr.Send.Outcome == string(sender.Sent) {
					sent++
				}
			}
		}
		out = append(out, tr)
	}
	answer := map[string]any{
		"dry_run": s.DryRun,
		"sent":    sent,
		"matched": matched,
		"rules":   out,
	}
	// As the webhook says it: a sample no rule can read as a ticket.
	if matched == 0 {
		var ticket string
		if len(decisions) > 0 {
			ticket = decisions[0].Ticket
		}
		if w := testBodyWarning(data, ticket); w != "" {
			answer["warning"] = w
		}
	}
	return c.JSON(http.StatusOK, answer)
}

// flag reads a yes/no query parameter: 1, true, yes, on or 0, false, no,
// off, in any case; absent is no. ok is false for anything else, which is
// refused rather than read as no.
func flag(c echo.Context, name string) (on, ok bool) {
	switch strings.ToLower(strings.TrimSpace(c.QueryParam(name))) {
	case "", "0", "false", "no", "off":
		return false, true
	case "1", "true", "yes", "on":
		return true, true
	}
	return false, false
}

// testMessageID is the clientMessageId of a test send: never a delivery's
// own, so a test claims nothing.
func testMessageID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:])
}

// joinSentences joins two sentences, either of which may be empty.
func joinSentences(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

// sendTest sends m to the test number at once, outside the queue: it claims
// no fire-once key, and the answer shows what 8x8 said.
func (s *server) sendTest(c echo.Context, rule string, m sender.Message, to string) *testSend {
	m.To = to
	res, err := s.Sender.Send(c.Request().Context(), m)
	ts := &testSend{To: phone.Mask(to), Outcome: string(res.Outcome), ClientMessageID: m.ClientMessageID, UMID: res.UMID, Status: res.Status}
	level, msg := zerolog.InfoLevel, "test message sent"
	switch {
	case err != nil:
		ts.Code, ts.Message = res.Code, res.Message
		level, msg = zerolog.WarnLevel, "test message not sent"
	case res.DryRun || s.DryRun:
		ts.Outcome, ts.UMID = "dry_run", ""
		ts.Message = "Dry run: nothing went to 8x8; set BRIDGE_8X8_API_KEY to send."
		msg = "dry run: test message not sent"
	}
	ev := s.Log.WithLevel(level).Str("rule", rule).Bool("test_send", true).Str("to", phone.Mask(to)).Str("channel", string(m.Channel)).
		Str("outcome", ts.Outcome).Str("umid", ts.UMID).Str("client_message_id", m.ClientMessageID)
	if err != nil {
		ev = ev.Str("error", res.Message)
	}
	ev.Msg(msg)
	return ts
}

// missing lists the variables r prints that data lacks, with a sentence
// saying what to do about them.
func missing(r *rules.Rule, data map[string]any) ([]string, string) {
	var out, objects []string
	for _, t := range r.Templates() {
		for _, v := range t.Missing(data) {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		for _, v := range t.Objects(data) {
			if !slices.Contains(objects, v) {
				objects = append(objects, v)
			}
		}
	}
	var warning string
	if len(out) > 0 {
		it := "it"
		if len(out) > 1 {
			it = "them"
		}
		warning = fmt.Sprintf("%s printed nothing: this ticket does not have %s. Check the spelling in rules.yaml, "+
			"or add %s to the trigger's JSON body; where a value may be absent, write {{ x | default: \"...\" }}.",
			strings.Join(out, ", "), it, it)
	}
	// An object prints all its fields, Go-style, number included.
	for _, o := range objects {
		warning = joinSentences(warning, fmt.Sprintf("{{ %s }} is an object, which prints as all its fields run together: print one of its fields, such as {{ %s.name }}.", o, o))
	}
	return out, warning
}
