package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
)

// maxMessage bounds Result.Message: it ends up in logs and in the parked
// deliveries listing, where a whole HTML error page helps nobody.
const maxMessage = 200

// Classify turns one 8x8 answer into a Result. It is the only place that
// decides what an answer means; the retry policy only acts on the Outcome.
//
//	status                      outcome    why
//	2xx, state queued           Sent       8x8 took it (SMS status.code QUEUED, Chat Apps status.state queued)
//	2xx, Chat Apps sent, delivered, read, ok
//	                            Sent       states past queued: 8x8 took it, and further (MessageStatus in its spec)
//	2xx, any other state        Permanent  8x8 refused this message (REJECTED, failed, undelivered, error): the same bytes get
//	                                       the same answer; an unknown state is parked too, saying 8x8 may have it
//	2xx, no state but a umid    Sent       8x8 gave it an id, so it has it
//	2xx, unreadable, no umid    Permanent  8x8 may have taken it: a retry could send it twice, a parked delivery waits for a human
//	1xx (final)                 Retryable  a misbehaving proxy on the way; nothing is wrong with the message
//	3xx                         Permanent  the base URL is wrong (moved, http→https); retrying cannot fix config: park, fix, replay
//	408 425 429                 Retryable  timeout, too early, rate limit (after Retry-After)
//	400 401 403 404 410 422 426 Permanent  bad request, bad key, forbidden, unknown subaccount, gone, unprocessable, old TLS
//	other 4xx                   Permanent  the request is at fault until proven otherwise
//	5xx                         Retryable  8x8's trouble
//	anything else               Retryable  not HTTP as we know it; treat like a transport error
//
// Code and Message keep 8x8's error `code` and `message`; a body that is not
// 8x8's error JSON is kept as one short line instead. RetryAfter is set from
// the Retry-After header (seconds or HTTP-date relative to now) on every
// answer that is not Sent. Classify knows no secrets; Client redacts the API
// key from the message before it is shortened.
func Classify(status int, header http.Header, body []byte, channel Channel, now time.Time) Result {
	return finish(classify(status, header, body, channel, now), nil)
}

// classify is Classify with Message still raw (whole body, several lines), so
// that Client can redact secrets before the message is shortened: a key cut
// in half by the shortening would no longer match.
func classify(status int, header http.Header, body []byte, channel Channel, now time.Time) Result {
	if status >= 200 && status <= 299 {
		return classifyAccepted(status, body, channel)
	}
	r := Result{Status: status, RetryAfter: RetryAfter(header.Get("Retry-After"), now)}
	switch {
	case status >= 100 && status <= 199:
		r.Outcome = Retryable
	case status >= 300 && status <= 399:
		r.Outcome = Permanent
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		r.Outcome = Retryable
	case status >= 400 && status <= 499:
		r.Outcome = Permanent
	case status >= 500 && status <= 599:
		r.Outcome = Retryable
	default:
		r.Outcome = Retryable
	}

	var e struct {
		Code    flexInt `json:"code"`
		Message string  `json:"message"`
		ErrorID string  `json:"errorId"`
	}
	if json.Unmarshal(body, &e) == nil && (e.Code != 0 || e.Message != "") {
		r.Code, r.Message, r.ErrorID = int(e.Code), e.Message, e.ErrorID
	} else {
		r.Message = string(body)
	}
	if status >= 300 && status <= 399 {
		if loc := header.Get("Location"); loc != "" {
			r.Message = "redirected to " + loc + ": check the 8x8 base URL"
		}
	}
	return r
}

// numberLike matches what could be a phone number in 8x8's text.
var numberLike = regexp.MustCompile(`\+?\d{8,15}`)

// finish redacts (when redact is not nil) and shortens r.Message, and names
// the status when nothing readable is left.
func finish(r Result, redact func(string) string) Result {
	if redact != nil {
		r.Message = redact(r.Message)
	}
	// 8x8 may quote the destination (an unexpected 2xx body, an error
	// message): it is logged and listed, so mask anything number-like.
	r.Message = numberLike.ReplaceAllStringFunc(r.Message, phone.Mask)
	r.Message = oneLine(r.Message)
	if r.Message == "" && r.Outcome != Sent && r.Status != 0 {
		r.Message = http.StatusText(r.Status)
		if r.Message == "" {
			r.Message = fmt.Sprintf("HTTP status %d", r.Status)
		}
	}
	return r
}

// classifyAccepted reads a 2xx body: SmsResponse or the Chat Apps single
// message response.
func classifyAccepted(status int, body []byte, channel Channel) Result {
	var a struct {
		UMID   string `json:"umid"`
		Status struct {
			Code         string  `json:"code"` // SMS: QUEUED | REJECTED
			Description  string  `json:"description"`
			State        string  `json:"state"` // Chat Apps: queued | failed | ...
			Detail       string  `json:"detail"`
			ErrorCode    flexInt `json:"errorCode"`
			ErrorMessage string  `json:"errorMessage"`
		} `json:"status"`
	}
	unexpected := Result{Outcome: Permanent, Status: status, Message: "unexpected 8x8 response: " + string(body)}
	if len(bytes.TrimSpace(body)) == 0 {
		unexpected.Message = "unexpected 8x8 response: empty body"
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return unexpected
	}
	state, why := a.Status.Code, a.Status.Description
	if channel == WhatsApp {
		state, why = a.Status.State, a.Status.ErrorMessage
		if why == "" {
			why = a.Status.Detail
		}
	}
	switch {
	case taken(state, channel):
		return Result{Outcome: Sent, Status: status, UMID: a.UMID}
	case state != "":
		msg := state
		if !refused(state, channel) {
			// Neither taken nor refused as 8x8 documents its states
			// ("unknown" is "exceptional/intermediate"): retrying could
			// send it twice, so it waits for a human, who should know
			// first (the message is shortened at its end).
			msg = "state " + state + ", which 8x8 may answer for a message it has: check the umid with 8x8 before replaying"
		}
		if why != "" {
			msg += ": " + why
		}
		return Result{Outcome: Permanent, Status: status, Code: int(a.Status.ErrorCode), Message: msg, UMID: a.UMID}
	case a.UMID != "":
		return Result{Outcome: Sent, Status: status, UMID: a.UMID}
	default:
		return unexpected
	}
}

// taken reports whether a 2xx answer's state says 8x8 has the message: SMS
// knows QUEUED only (SmsStatus); Chat Apps answers with MessageStatus, whose
// states past queued (sent, delivered, read, ok) mean it went further still.
func taken(state string, channel Channel) bool {
	if strings.EqualFold(state, "queued") {
		return true
	}
	if channel != WhatsApp {
		return false
	}
	for _, s := range []string{"sent", "delivered", "read", "ok"} {
		if strings.EqualFold(state, s) {
			return true
		}
	}
	return false
}

// refused reports whether a 2xx answer's state says 8x8 will not deliver
// the message: SMS REJECTED; Chat Apps failed, undelivered, error (and
// rejected, which 8x8 has been seen to answer though its spec does not list
// it).
func refused(state string, channel Channel) bool {
	if channel != WhatsApp {
		return strings.EqualFold(state, "REJECTED")
	}
	for _, s := range []string{"failed", "undelivered", "error", "rejected"} {
		if strings.EqualFold(state, s) {
			return true
		}
	}
	return false
}

// ClassifyError turns a failed exchange (no HTTP answer) into a Result. Every
// one is Retryable with Status 0: timeouts and refused connections pass, and
// context.Canceled means the bridge is shutting down, which says nothing about
// the message. The caller keeps the error itself (Error.Err) for errors.Is.
func ClassifyError(err error) Result {
	return finish(classifyError(err), nil)
}

func classifyError(err error) Result {
	var ne net.Error
	kind := "connection error"
	switch {
	case errors.Is(err, context.Canceled):
		kind = "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		kind = "timeout"
	}
	return Result{Outcome: Retryable, Message: kind + ": " + err.Error()}
}

// RetryAfter parses a Retry-After value: delay-seconds or an HTTP-date, the
// latter relative to now. Past dates and negative numbers mean "now" (0); an
// unreadable value is as if none were given (0).
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		const maxSecs = math.MaxInt64 / int64(time.Second)
		switch {
		case secs <= 0:
			return 0
		case secs > maxSecs:
			return time.Duration(maxSecs) * time.Second
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// oneLine makes s fit a log line: control characters and runs of white space
// become one space, invalid UTF-8 is dropped, and the result is at most
// maxMessage bytes, cut on a rune boundary with an ellipsis.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) {
			if r != utf8.RuneError {
				space = true
			}
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) <= maxMessage {
		return out
	}
	const ellipsis = "…"
	cut := maxMessage - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(out[cut]) {
		cut--
	}
	return out[:cut] + ellipsis
}

// flexInt reads a JSON number or a numeric string, and is 0 for anything
// else, so that one odd field does not make the whole answer unreadable.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if n, err := strconv.ParseFloat(string(b), 64); err == nil && n == math.Trunc(n) && math.Abs(n) < math.MaxInt32 {
		*f = flexInt(n)
	}
	return nil
}
