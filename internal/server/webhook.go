package server

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/jsonappend"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/notify"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/queue"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

// ruleResult is one rule's line in the answer to Zendesk.
type ruleResult struct {
	Rule     string `json:"rule"`
	Result   string `json:"result"` // queued, duplicate, skipped
	Delivery string `json:"delivery,omitempty"`
	Channel  string `json:"channel,omitempty"`
	To       string `json:"to,omitempty"` // masked
	Error    string `json:"error,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

func (s *server) webhook(c echo.Context) error {
	req := c.Request()
	invocation, ticket := zendesk.InvocationID(req.Header), ""
	// Every line names the invocation and, once known, the ticket. Added
	// per event rather than with Logger.With, which copies the logger's
	// context on every webhook.
	log := func(ev *zerolog.Event) *zerolog.Event {
		ev = ev.Str("invocation", invocation)
		if ticket != "" {
			ev = ev.Str("ticket", ticket)
		}
		return ev
	}
	outcome := "error"
	defer func() { s.Metrics.Webhook(outcome) }()

	body, rerr := s.readBody(c, s.MaxBody)
	if rerr != nil {
		switch rerr.Status {
		case http.StatusRequestEntityTooLarge:
			outcome = "too_large"
		case http.StatusServiceUnavailable:
			outcome = "busy"
		default:
			outcome = "unreadable"
		}
		log(s.Log.Warn()).Str("outcome", outcome).Msg("webhook refused: " + rerr.Message)
		return rerr
	}
	if err := s.authenticate(req, body); err != nil {
		outcome = "unauthorized"
		log(s.Log.Warn()).Str("outcome", outcome).Str("reason", err.Message).Msg("webhook refused")
		return err
	}
	data, err := zendesk.DecodeBody(body)
	if err != nil {
		outcome = "malformed"
		log(s.Log.Warn()).Str("outcome", outcome).Err(err).Msg("webhook refused: malformed JSON")
		return fail(http.StatusBadRequest, "malformed_json", sentence(err.Error())+malformedHint(body))
	}

	set := s.Rules.Current()
	in := notify.Input{Data: data, InvocationID: invocation, Now: s.Now()}
	var decisions []notify.Decision
	if name := ruleParam(c); name != "" {
		r, ok := set.Rule(name)
		if !ok {
			outcome = "unknown_rule"
			log(s.Log.Warn()).Str("outcome", outcome).Str("rule", shorten(name)).Msg("webhook refused: no such rule")
			return fail(http.StatusNotFound, "unknown_rule", fmt.Sprintf("rules.yaml has no rule named %q.", shorten(name))).with("rule", shorten(name))
		}
		decisions = []notify.Decision{notify.Decide(set, r, in)}
	} else {
		decisions = notify.Plan(set, in)
	}
	if len(decisions) > 0 {
		ticket = shorten(decisions[0].Ticket) // as logged: a ticket id is short, unless someone else sent it
	}

	results, counts, err := s.queueAll(c, decisions, invocation)
	for _, r := range results {
		s.Metrics.RuleResult(r.Rule, resultLabel(r))
	}
	if err != nil {
		outcome = "store_unavailable"
		// A store that stopped answering mid-command (a timeout) may have
		// queued the delivery all the same: the answer must not say it
		// did not. Zendesk's retry is safe either way (fire-once).
		log(s.Log.Error()).Str("outcome", outcome).Str("reason", storeError(err)).Err(err).Msg("webhook not confirmed: store unavailable")
		e := storeUnavailable("The bridge's store did not answer, so this webhook is not confirmed. Zendesk's retry is safe: " +
			"a delivery the store took before it stopped answering is answered as a duplicate then, and the rest is queued.")
		if len(results) > 0 { // the rules settled before the store stopped answering
			e = e.with("rules", results)
		}
		return e
	}

	// bodyWarning only where nothing was queued: rules may read any path of
	// the body, so a body without "ticket" that queued something is fine.
	status, answer := http.StatusOK, webhookAnswer{Ticket: ticket, Rules: results}
	switch {
	case counts.matched == 0:
		outcome, answer.Result, answer.Warning = "no_match", "no_match", bodyWarning(data, ticket)
		answer.Message = "No rule matched this ticket; nothing was queued."
	case counts.queued+counts.duplicate > 0:
		status, outcome, answer.Result = http.StatusAccepted, "accepted", "accepted"
		answer.Message = strconv.Itoa(counts.queued) + " queued, " + strconv.Itoa(counts.duplicate) + " duplicate (already fired), " +
			strconv.Itoa(len(results)-counts.queued-counts.duplicate) + " skipped."
	default:
		outcome = "unusable"
		first := counts.firstRefusal
		log(s.Log.Warn()).Str("outcome", outcome).Array("rules", ruleResults(results)).Msg("webhook refused: nothing could be queued")
		e := fail(http.StatusUnprocessableEntity, first.Code, "Nothing could be queued: "+first.Reason+".").with("rules", results).with("ticket", ticket)
		if w := bodyWarning(data, ticket); w != "" {
			e = e.with("warning", w)
		}
		return e
	}
	log(s.Log.Info()).Str("outcome", outcome).Array("rules", ruleResults(results)).Msg("webhook answered")
	if req.URL.RawQuery != "" { // Echo's ?pretty, without parsing every webhook's query
		if _, pretty := c.QueryParams()["pretty"]; pretty {
			return c.JSON(status, answer)
		}
	}
	return c.Blob(status, echo.MIMEApplicationJSON, answer.appendJSON(make([]byte, 0, 256+192*len(results))))
}

// webhookAnswer is the answer to Zendesk when something was queued or
// nothing matched.
type webhookAnswer struct {
	Ticket  string       `json:"ticket"`
	Rules   []ruleResult `json:"rules"`
	Result  string       `json:"result"`
	Message string       `json:"message"`
	Warning string       `json:"warning,omitempty"`
}

// appendJSON is what c.JSON would write for a (json.Marshal and a
// newline; TestAnswerIsJSONMarshal holds it to that), without reflection:
// every webhook is answered with one.
func (a webhookAnswer) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = jsonappend.StringField(b, "ticket", a.Ticket, false)
	b = jsonappend.Field(b, "rules")
	if a.Rules == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range a.Rules {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = jsonappend.StringField(b, "rule", r.Rule, false)
			b = jsonappend.StringField(b, "result", r.Result, false)
			b = jsonappend.StringField(b, "delivery", r.Delivery, true)
			b = jsonappend.StringField(b, "channel", r.Channel, true)
			b = jsonappend.StringField(b, "to", r.To, true)
			b = jsonappend.StringField(b, "error", r.Error, true)
			b = jsonappend.StringField(b, "reason", r.Reason, true)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = jsonappend.StringField(b, "result", a.Result, false)
	b = jsonappend.StringField(b, "message", a.Message, false)
	b = jsonappend.StringField(b, "warning", a.Warning, true)
	return append(b, '}', '\n')
}

// bodyWarning explains a body no rule can read as a ticket: one without a
// "ticket" object (a trigger body written without the wrapper, or an event
// webhook's envelope), or with placeholders as written. Otherwise an admin
// reads "no rule matched" as a broken rule.
func bodyWarning(data map[string]any, ticket string) string {
	if _, ok := data["ticket"].(map[string]any); !ok {
		return `The body has no "ticket" object, so no rule can see the ticket. Set the trigger's JSON body to {"ticket": {...}} ` +
			"as in examples/zendesk-body.json; the bridge reads trigger webhooks, not event-subscription ones."
	}
	return placeholderWarning(ticket)
}

// placeholderWarning explains a body whose ticket id is still a Zendesk
// placeholder: Zendesk fills placeholders in when a trigger fires, but the
// webhook's own Test button sends the body as written, and an admin trying
// it would otherwise read "no rule matched" as a broken rule.
func placeholderWarning(ticket string) string {
	if !strings.Contains(ticket, "{{") {
		return ""
	}
	return "The body holds Zendesk placeholders as written (" + ticket + "): Zendesk fills them in only when a trigger fires, not from the webhook's Test button. To try the rules, send a filled-in ticket to POST /test."
}

// testBodyWarning is bodyWarning for POST /test, where the sample is
// written by hand.
func testBodyWarning(data map[string]any, ticket string) string {
	if strings.Contains(ticket, "{{") {
		return "The sample holds Zendesk placeholders as written (" + ticket + "): Zendesk fills them in before the bridge sees a ticket, so put a real ticket's values in the sample."
	}
	return bodyWarning(data, ticket)
}

// ruleResults logs as a JSON array without reflection: one line per
// webhook is on the hot path.
type ruleResults []ruleResult

func (rs ruleResults) MarshalZerologArray(a *zerolog.Array) {
	for _, r := range rs {
		d := zerolog.Dict().Str("rule", r.Rule).Str("result", r.Result)
		if r.Delivery != "" {
			d = d.Str("delivery", r.Delivery).Str("to", r.To)
		}
		if r.Error != "" {
			d = d.Str("error", r.Error)
		}
		if r.Reason != "" {
			d = d.Str("reason", r.Reason)
		}
		a.Dict(d)
	}
}

type counts struct {
	matched, queued, duplicate int
	firstRefusal               *notify.Refusal
}

// queueAll claims and queues every ready decision. A store error stops at
// once: what was queued stays queued (Zendesk's retry finds it a duplicate),
// nothing is half-claimed.
func (s *server) queueAll(c echo.Context, decisions []notify.Decision, invocation string) ([]ruleResult, counts, error) {
	var n counts
	results := make([]ruleResult, 0, len(decisions))
	for _, d := range decisions {
		r := ruleResult{Rule: d.Rule}
		switch {
		case !d.Matched:
			r.Result, r.Reason = "skipped", d.Why
		case d.Refusal != nil:
			n.matched++
			if n.firstRefusal == nil {
				n.firstRefusal = d.Refusal
			}
			r.Result, r.Error, r.Reason = "skipped", d.Refusal.Code, d.Refusal.Reason
		default:
			n.matched++
			queued, holder, err := s.Queue.Enqueue(c.Request().Context(), queue.Delivery{
				ID: d.ID, Rule: d.Rule, Ticket: d.Ticket, Key: keyString(d), Message: d.Message, AcceptedAt: s.Now(),
				Invocation: invocation,
			}, d.Window)
			if err != nil {
				return results, n, err
			}
			r.Delivery, r.Channel, r.To = d.ID, string(d.Message.Channel), phone.Mask(d.Message.To)
			if queued {
				n.queued++
				r.Result = "queued"
			} else {
				n.duplicate++
				r.Result, r.Reason = "duplicate", duplicateReason(holder, d.Key.Invocation)
			}
		}
		results = append(results, r)
	}
	return results, n, nil
}

// duplicateReason tells the admin reading Zendesk's activity log what
// holds the key: a parked delivery was not sent, and someone should look.
func duplicateReason(holder queue.State, invocation bool) string {
	if invocation {
		// once: false: only Zendesk's re-delivery of the same invocation is a duplicate.
		reason := "Zendesk sent this invocation before (same X-Zendesk-Webhook-Invocation-Id), and this rule (once: false) sends once per invocation"
		if holder != "" {
			reason += "; that delivery is " + string(holder)
		}
		return reason
	}
	switch holder {
	case queue.Parked:
		return "this rule already fired for this ticket (same fire-once key), but 8x8 refused that delivery: it is parked; see GET /deliveries?state=parked"
	case queue.Sent:
		return "this rule already fired for this ticket (same fire-once key); that delivery was sent"
	case queue.Queued, queue.Active, queue.Retrying:
		return "this rule already fired for this ticket (same fire-once key); that delivery is " + string(holder)
	}
	return "this rule already fired for this ticket (same fire-once key)"
}

func keyString(d notify.Decision) string {
	if !d.Once {
		return ""
	}
	return d.Key.String()
}

func resultLabel(r ruleResult) string {
	if r.Result == "skipped" && r.Error != "" {
		return "refused"
	}
	return r.Result
}

// authenticate applies whichever inbound checks are configured: the
// signature, the bearer token, or both.
func (s *server) authenticate(r *http.Request, body []byte) *apiError {
	if len(s.SigningSecrets) > 0 {
		err := zendesk.Verify(s.SigningSecrets, r.Header.Get(zendesk.HeaderTimestamp), r.Header.Get(zendesk.HeaderSignature), body, s.Now(), s.MaxSkew)
		if err != nil {
			msg := err.Error()
			if errors.Is(err, zendesk.ErrSignature) {
				msg = "Zendesk " + msg
				// Which webhook sent it tells the admin whose secret to add.
				if id := r.Header.Get(zendesk.HeaderWebhookID); plainID(id) {
					msg += " (from Zendesk webhook " + id + ")"
				}
				msg += "."
			}
			return fail(http.StatusUnauthorized, "unauthorized", msg)
		}
	}
	if s.ZendeskToken != "" && !bearer(r, s.ZendeskToken) {
		return unauthorized("Missing or wrong bearer token: set the webhook's authentication to Bearer token with BRIDGE_ZENDESK_TOKEN.")
	}
	return nil
}

// malformedHint is what an admin can do about a body that is not a JSON
// object: a trigger with no body, or a placeholder whose value broke the
// JSON around it.
func malformedHint(body []byte) string {
	b := bytes.TrimSpace(body)
	switch {
	case len(b) == 0:
		return " Paste examples/zendesk-body.json as the trigger's JSON body."
	case b[0] == '{':
		return " If a ticket field holds quotes or newlines, leave it out of the trigger's JSON body."
	}
	return ""
}

// plainID reports whether an id from a header is safe to quote back: 1 to
// 64 letters, digits, - and _ (Zendesk's webhook ids are 26 letters and
// digits).
func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ruleParam is the {rule} of the path, unescaped and without a trailing
// slash, so /webhooks/zendesk/solved%2Dsms/ names solved-sms.
func ruleParam(c echo.Context) string {
	name := strings.TrimSuffix(c.Param("rule"), "/")
	if u, err := url.PathUnescape(name); err == nil {
		name = u
	}
	return name
}
