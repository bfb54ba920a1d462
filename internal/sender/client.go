package sender

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

const (
	// DefaultTimeout bounds one request to 8x8, answer included.
	DefaultTimeout = 10 * time.Second
	// DefaultUserAgent tells 8x8 support whose requests these are.
	DefaultUserAgent = "zendesk-8x8-bridge/1"

	// MaxClientMessageID is the bridge's limit (SPEC), which is Chat Apps'
	// maxLength; SMS would allow 350.
	MaxClientMessageID = 50

	// maxAnswer is how much of an answer is read: 8x8's answers are a few
	// hundred bytes; a proxy's error page can be anything.
	maxAnswer = 64 << 10
)

// Options configures a Client. The zero value talks to the default region
// (asia-pacific) without an API key.
type Options struct {
	// SMSURL and ChatAppsURL are base URLs (scheme and host, optionally a path
	// prefix); empty means the default region's. See BaseURLs.
	SMSURL, ChatAppsURL string
	APIKey              string
	// HTTPClient nil means a client that does not follow redirects (see
	// Classify: a redirect is a configuration error, and following one would
	// turn the POST into a GET without a body).
	HTTPClient *http.Client
	// Timeout per request, DefaultTimeout when zero.
	Timeout time.Duration
	// UserAgent, DefaultUserAgent when empty.
	UserAgent string
	// Now is the clock for Retry-After dates and latency; time.Now when nil.
	Now func() time.Time
}

// Client posts messages to 8x8: SMS to the SMS API, WhatsApp to Chat Apps. It
// makes exactly one attempt per Send; retrying is the caller's business.
type Client struct {
	sms, chatapps string
	key           string
	http          *http.Client
	timeout       time.Duration
	userAgent     string
	now           func() time.Time
}

// NewClient returns a Client for o.
func NewClient(o Options) *Client {
	defSMS, defChat, _ := BaseURLs("")
	c := &Client{
		sms:       strings.TrimRight(cmp.Or(o.SMSURL, defSMS), "/"),
		chatapps:  strings.TrimRight(cmp.Or(o.ChatAppsURL, defChat), "/"),
		key:       o.APIKey,
		http:      o.HTTPClient,
		timeout:   o.Timeout,
		userAgent: cmp.Or(o.UserAgent, DefaultUserAgent),
		now:       o.Now,
	}
	if c.http == nil {
		// Keep a connection per worker: the default of 2 idle connections
		// per host would make 50 workers reconnect (and re-handshake TLS)
		// on most requests.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 128
		c.http = &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// SMSBase and ChatAppsBase are the base URLs in use, for the startup log,
// with any password in them (a proxy's) replaced by "xxxxx".
func (c *Client) SMSBase() string      { return Redact(c.sms) }
func (c *Client) ChatAppsBase() string { return Redact(c.chatapps) }

// Redact is raw with the password of its user info, if any, replaced by
// "xxxxx", for logs and /test; a URL that does not parse is not shown.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Request builds exactly what Send would post: the absolute URL and the JSON
// body. It needs no API key, so a dry-run bridge can show it too. An invalid
// message is an *Error with a Permanent Result wrapping ErrInvalidMessage.
func (c *Client) Request(m Message) (url string, body []byte, err error) {
	if err := m.Validate(); err != nil {
		r := Result{Outcome: Permanent, Message: oneLine(err.Error())}
		return "", nil, &Error{Result: r, Err: err}
	}
	base, payload := c.sms, any(smsBody(m))
	if m.Channel == WhatsApp {
		base, payload = c.chatapps, chatAppsBody(m)
	}
	body, err = encodeJSON(payload)
	if err != nil { // cannot happen with these types; kept honest
		return "", nil, &Error{Result: Result{Outcome: Permanent, Message: err.Error()}, Err: err}
	}
	return base + "/api/v1/subaccounts/" + pathEscape(m.Subaccount) + "/messages", body, nil
}

// Send posts one attempt, classifies the answer (see Classify) and returns
// the Result; err is an *Error unless the Outcome is Sent. Neither ever
// contains the API key.
func (c *Client) Send(ctx context.Context, m Message) (Result, error) {
	u, body, err := c.Request(m)
	if err != nil {
		var e *Error
		errors.As(err, &e)
		return e.Result, e
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil { // a base URL that does not parse: configuration, not the message
		r := finish(Result{Outcome: Permanent, Message: "bad 8x8 base URL: " + err.Error()}, c.redact)
		return r, &Error{Result: r, Err: redactedError{c.redact(err.Error()), err}}
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)

	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		r := finish(classifyError(err), c.redact)
		r.Latency = c.now().Sub(start)
		return r, &Error{Result: r, Err: redactedError{c.redact(err.Error()), err}}
	}
	// A body cut short (timeout while reading) is classified as far as it
	// came: at 2xx an unreadable answer is parked, never resent.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer)) // let the connection be reused
	resp.Body.Close()

	r := finish(classify(resp.StatusCode, resp.Header, answer, m.Channel, c.now()), c.redact)
	r.Latency = c.now().Sub(start)
	if r.Outcome == Sent {
		return r, nil
	}
	return r, &Error{Result: r}
}

// bearer catches any bearer credential an answer might echo, not only ours.
var bearer = regexp.MustCompile(`(?i)(bearer\s+)[^\s"',;\\]+`)

// redact removes the API key (and anything that looks like a bearer token)
// from a text 8x8 or the network produced. 8x8 has no reason to echo the
// Authorization header, but a proxy's debug page might.
func (c *Client) redact(s string) string {
	if c.key != "" {
		s = strings.ReplaceAll(s, c.key, "[REDACTED]")
	}
	return bearer.ReplaceAllString(s, "${1}[REDACTED]")
}

// redactedError keeps a cause for errors.Is and errors.As while its own text
// is redacted, so that printing any error Send returns is safe.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// pathEscape escapes a subaccount for the path. Validate allows only
// characters that need no escaping, so this is belt and braces.
func pathEscape(s string) string { return url.PathEscape(s) }

// smsRequest is SmsRequest in sms_api.json, the fields the bridge uses.
type smsRequest struct {
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination"`
	Text        string `json:"text"`
	// Encoding is always AUTO: 8x8 knows its own GSM 03.38 mapping best.
	// Forcing GSM7 on a character we wrongly think is in the alphabet would
	// send '?', forcing UCS2 would double the cost; SMSEncoding is only an
	// estimate, and 8x8's answer reports the encoding it chose.
	Encoding        string `json:"encoding"`
	ClientMessageID string `json:"clientMessageId"`
}

func smsBody(m Message) smsRequest {
	return smsRequest{
		Source:          m.Source,
		Destination:     m.To,
		Text:            m.Text,
		Encoding:        "AUTO",
		ClientMessageID: m.ClientMessageID,
	}
}

// chatAppsRequest is the Chat Apps "Single message request" in
// business_messaging_api.json, the fields the bridge uses.
type chatAppsRequest struct {
	User            chatAppsUser    `json:"user"`
	ClientMessageID string          `json:"clientMessageId"`
	Type            string          `json:"type"` // "text" | "template" (lower case: the enum)
	Content         chatAppsContent `json:"content"`
}

type chatAppsUser struct {
	MSISDN string `json:"msisdn"`
}

type chatAppsContent struct {
	Text     string            `json:"text,omitempty"`
	Template *chatAppsTemplate `json:"template,omitempty"`
}

type chatAppsTemplate struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	// Components is [] rather than absent without parameters, as in 8x8's
	// "Simple Template (No Parameters)" example.
	Components []chatAppsComponent `json:"components"`
}

type chatAppsComponent struct {
	Type       string              `json:"type"` // "body"
	Parameters []chatAppsParameter `json:"parameters"`
}

type chatAppsParameter struct {
	Type string `json:"type"` // "text"
	Text string `json:"text"`
}

func chatAppsBody(m Message) chatAppsRequest {
	r := chatAppsRequest{
		User:            chatAppsUser{MSISDN: m.To},
		ClientMessageID: m.ClientMessageID,
		Type:            "text",
		Content:         chatAppsContent{Text: m.Text},
	}
	if t := m.Template; t != nil {
		tpl := &chatAppsTemplate{Name: t.Name, Language: t.Language, Components: []chatAppsComponent{}}
		if len(t.Body) > 0 {
			params := make([]chatAppsParameter, len(t.Body))
			for i, p := range t.Body {
				params[i] = chatAppsParameter{Type: "text", Text: p}
			}
			tpl.Components = append(tpl.Components, chatAppsComponent{Type: "body", Parameters: params})
		}
		r.Type, r.Content = "template", chatAppsContent{Template: tpl}
	}
	return r
}

// encodeJSON is json.Marshal without HTML escaping: "Tom & Jerry" stays
// readable in /test output, and 8x8 reads both forms the same.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
