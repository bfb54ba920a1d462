package sender_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender/fake8x8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const apiKey = "sk_8x8_Zx9QmT4vLp2RkW7nB3hYc6Fd"

var (
	smsWithSource = sender.Message{Channel: sender.SMS, Subaccount: "Acme_SMS", To: "+6591234567", ClientMessageID: "solved-sms:12345",
		Source: "AcmeSupport", Text: "Update for ticket #12345 (solved) & more: https://acme.zendesk.com/agent/tickets/12345"}
	smsWithoutSource = sender.Message{Channel: sender.SMS, Subaccount: "Acme_SMS", To: "+447700900123", ClientMessageID: "solved-sms:777",
		Text: "Bonjour Zoë, votre demande n°777 est résolue 👍"}
	whatsAppTemplate = sender.Message{Channel: sender.WhatsApp, Subaccount: "Acme_WA", To: "+6591234567", ClientMessageID: "update-whatsapp:12345",
		Template: &sender.Template{Name: "ticket_update", Language: "en_GB", Body: []string{"12345", "solved"}}}
	whatsAppFreeform = sender.Message{Channel: sender.WhatsApp, Subaccount: "Acme_WA", To: "+6591234567", ClientMessageID: "update-whatsapp:12346",
		Text: "We updated your ticket #12346 <b>today</b>"}
	whatsAppNoParams = sender.Message{Channel: sender.WhatsApp, Subaccount: "Acme_WA", To: "+6591234567", ClientMessageID: "hello:1",
		Template: &sender.Template{Name: "hello_world", Language: "en_US"}}
)

var golden = []struct {
	name string
	m    sender.Message
	url  string
}{
	{"sms_with_source", smsWithSource, "https://sms.example/api/v1/subaccounts/Acme_SMS/messages"},
	{"sms_without_source", smsWithoutSource, "https://sms.example/api/v1/subaccounts/Acme_SMS/messages"},
	{"whatsapp_template", whatsAppTemplate, "https://chatapps.example/api/v1/subaccounts/Acme_WA/messages"},
	{"whatsapp_freeform", whatsAppFreeform, "https://chatapps.example/api/v1/subaccounts/Acme_WA/messages"},
	{"whatsapp_template_no_params", whatsAppNoParams, "https://chatapps.example/api/v1/subaccounts/Acme_WA/messages"},
}

func TestRequestGolden(t *testing.T) {
	c := sender.NewClient(sender.Options{SMSURL: "https://sms.example/", ChatAppsURL: "https://chatapps.example"})
	for _, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			u, body, err := c.Request(g.m)
			if err != nil {
				t.Fatal(err)
			}
			if u != g.url {
				t.Errorf("url %s, want %s", u, g.url)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, body, "", "  "); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, body)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", g.name+".json")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("body differs from %s (go test -update rewrites it)\n got %s\nwant %s", path, pretty.Bytes(), want)
			}
		})
	}
}

// newFake starts a fake 8x8 that knows apiKey and a client for it.
func newFake(t *testing.T, opts ...fake8x8.Option) (*fake8x8.Server, *sender.Client) {
	t.Helper()
	f := fake8x8.New(t, fake8x8.SpecDir(t), append([]fake8x8.Option{fake8x8.WithAPIKey(apiKey)}, opts...)...)
	c := sender.NewClient(sender.Options{SMSURL: f.SMSURL, ChatAppsURL: f.ChatAppsURL, APIKey: apiKey, Timeout: 5 * time.Second})
	return f, c
}

// Every kind of body the bridge sends is accepted by 8x8's schema, and what
// Send posts is what Request shows.
func TestSendEveryKindOfMessage(t *testing.T) {
	f, c := newFake(t)
	for i, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			res, err := c.Send(context.Background(), g.m)
			if err != nil || res.Outcome != sender.Sent || res.Status != 200 || res.UMID == "" {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			reqs := f.Requests()
			if len(reqs) != i+1 {
				t.Fatalf("%d requests, want %d", len(reqs), i+1)
			}
			r := reqs[i]
			_, body, _ := c.Request(g.m)
			wantChannel := g.m.Channel
			if r.Channel != wantChannel || r.Method != "POST" || r.Path != "/api/v1/subaccounts/"+g.m.Subaccount+"/messages" ||
				!bytes.Equal(r.Body, body) || r.ClientMessageID != g.m.ClientMessageID {
				t.Errorf("posted %+v", r)
			}
			for k, v := range map[string]string{
				"Authorization": "Bearer " + apiKey,
				"Content-Type":  "application/json",
				"Accept":        "application/json",
				"User-Agent":    sender.DefaultUserAgent,
			} {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestSendOutcomes(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := fake8x8.New(t, fake8x8.SpecDir(t), fake8x8.WithAPIKey(apiKey))
	c := sender.NewClient(sender.Options{SMSURL: f.SMSURL, ChatAppsURL: f.ChatAppsURL, APIKey: apiKey, Now: func() time.Time { return now }})
	e := func(code int, msg string) string {
		return fmt.Sprintf(`{"code":%d,"message":%q,"errorId":"db9dced4-3534-4d86-9d18-6b448af0d621","timestamp":"2018-08-02T09:42:38.89Z"}`, code, msg)
	}
	tests := []struct {
		name    string
		m       sender.Message
		resp    fake8x8.Response
		outcome sender.Outcome
		status  int
		code    int
		message string
		retry   time.Duration
	}{
		{"400 invalid msisdn", smsWithSource, fake8x8.Response{Status: 400, Body: e(1002, "Invalid MSISDN format (not E.164 international number)")},
			sender.Permanent, 400, 1002, "Invalid MSISDN format (not E.164 international number)", 0},
		{"401 bad key", smsWithSource, fake8x8.Response{Status: 401, Body: e(1200, "Request was not authenticated properly")},
			sender.Permanent, 401, 1200, "Request was not authenticated properly", 0},
		{"403 forbidden", whatsAppTemplate, fake8x8.Response{Status: 403, Body: e(1201, "Access forbidden")}, sender.Permanent, 403, 1201, "Access forbidden", 0},
		{"404 unknown subaccount", smsWithSource, fake8x8.Response{Status: 404, Body: e(1300, "Not found")}, sender.Permanent, 404, 1300, "Not found", 0},
		{"410 gone", smsWithSource, fake8x8.Response{Status: 410, Body: e(2002, "Unsupported API version")}, sender.Permanent, 410, 2002, "Unsupported API version", 0},
		{"422 template not found", whatsAppTemplate, fake8x8.Response{Status: 422, Body: e(3038, "Template not found")}, sender.Permanent, 422, 3038, "Template not found", 0},
		{"426 old TLS", smsWithSource, fake8x8.Response{Status: 426, Header: http.Header{"Upgrade": {"TLS/1.3"}}, Body: e(1014, "TLS 1.3+ is required")},
			sender.Permanent, 426, 1014, "TLS 1.3+ is required", 0},
		{"301 moved", smsWithSource, fake8x8.Response{Status: 301, Header: http.Header{"Location": {"https://sms.8x8.uk/"}}},
			sender.Permanent, 301, 0, "redirected to https://sms.8x8.uk/: check the 8x8 base URL", 0},
		{"408", smsWithSource, fake8x8.Response{Status: 408}, sender.Retryable, 408, 0, "Request Timeout", 0},
		{"425", smsWithSource, fake8x8.Response{Status: 425}, sender.Retryable, 425, 0, "Too Early", 0},
		{"429 retry-after seconds", smsWithSource, fake8x8.Response{Status: 429, Header: http.Header{"Retry-After": {"1"}}, Body: e(429, "Quota exceeded. Please try again in 1 second(s).")},
			sender.Retryable, 429, 429, "Quota exceeded. Please try again in 1 second(s).", time.Second},
		{"429 retry-after date", whatsAppFreeform, fake8x8.Response{Status: 429, Header: http.Header{"Retry-After": {now.Add(45 * time.Second).Format(http.TimeFormat)}}, Body: e(429, "Quota exceeded")},
			sender.Retryable, 429, 429, "Quota exceeded", 45 * time.Second},
		{"500 internal error", smsWithSource, fake8x8.Response{Status: 500, Body: e(2000, "Internal server error")}, sender.Retryable, 500, 2000, "Internal server error", 0},
		{"502 from a proxy", whatsAppTemplate, fake8x8.Response{Status: 502, Header: http.Header{"Content-Type": {"text/html"}}, Body: "<html>\n<h1>Bad Gateway</h1>\n</html>"},
			sender.Retryable, 502, 0, "<html> <h1>Bad Gateway</h1> </html>", 0},
		{"503 retry-after", smsWithSource, fake8x8.Response{Status: 503, Header: http.Header{"Retry-After": {"30"}}}, sender.Retryable, 503, 0, "Service Unavailable", 30 * time.Second},
		{"200 sms rejected", smsWithSource, fake8x8.Response{Body: `{"umid":"u-1","destination":"+6591234567","encoding":"GSM7","status":{"code":"REJECTED","description":"Destination blocked"}}`},
			sender.Permanent, 200, 0, "REJECTED: Destination blocked", 0},
		{"200 chatapps rejected", whatsAppTemplate, fake8x8.Response{Body: `{"umid":"u-2","user":{"msisdn":"+6591234567"},"status":{"state":"rejected","errorCode":3041,"errorMessage":"Invalid Template parameter"}}`},
			sender.Permanent, 200, 3041, "rejected: Invalid Template parameter", 0},
		{"200 garbage", smsWithSource, fake8x8.Response{Body: `OK`}, sender.Permanent, 200, 0, "unexpected 8x8 response: OK", 0},
		{"201 sms queued", smsWithSource, fake8x8.Response{Status: 201, Body: `{"umid":"u-3","destination":"+6591234567","encoding":"GSM7","status":{"code":"QUEUED","description":"ok"}}`},
			sender.Sent, 201, 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Script(tt.resp)
			res, err := c.Send(context.Background(), tt.m)
			if res.Outcome != tt.outcome || res.Status != tt.status || res.Code != tt.code || res.Message != tt.message || res.RetryAfter != tt.retry {
				t.Errorf("Send = %+v\nwant outcome %s status %d code %d message %q retry %v", res, tt.outcome, tt.status, tt.code, tt.message, tt.retry)
			}
			checkErr(t, res, err)
		})
	}
	// The fake's own 401 for a key it does not know.
	wrong := sender.NewClient(sender.Options{SMSURL: f.SMSURL, ChatAppsURL: f.ChatAppsURL, APIKey: "not-the-key"})
	res, err := wrong.Send(context.Background(), smsWithSource)
	if res.Outcome != sender.Permanent || res.Status != 401 || res.Code != 1200 || res.ErrorID == "" {
		t.Errorf("wrong key: %+v", res)
	}
	checkErr(t, res, err)
}

// checkErr checks the contract between Result and err.
func checkErr(t *testing.T, res sender.Result, err error) {
	t.Helper()
	if res.Outcome == sender.Sent {
		if err != nil {
			t.Errorf("Sent with an error: %v", err)
		}
		return
	}
	var e *sender.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %T %v, want *sender.Error", err, err)
	}
	if e.Result != res {
		t.Errorf("err.Result %+v differs from the Result %+v", e.Result, res)
	}
}

func TestSendTransportErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	f, _ := newFake(t)
	slowClient := func(o sender.Options) *sender.Client {
		o.SMSURL, o.ChatAppsURL, o.APIKey = f.SMSURL, f.ChatAppsURL, apiKey
		return sender.NewClient(o)
	}
	tests := []struct {
		name    string
		c       *sender.Client
		cancel  time.Duration // cancel the caller's context after this long
		script  *fake8x8.Response
		message string // start of Result.Message
		is      error  // errors.Is(err, is)
	}{
		{"connection refused", sender.NewClient(sender.Options{SMSURL: closed.URL, APIKey: apiKey}), 0, nil, "connection error: ", nil},
		{"request timeout", slowClient(sender.Options{Timeout: 100 * time.Millisecond}), 0, &fake8x8.Response{Delay: time.Minute}, "timeout: ", context.DeadlineExceeded},
		{"http.Client timeout", slowClient(sender.Options{HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}}), 0, &fake8x8.Response{Delay: time.Minute}, "timeout: ", nil},
		{"connection dropped", slowClient(sender.Options{}), 0, &fake8x8.Response{Drop: true}, "connection error: ", nil},
		{"caller canceled (shutdown)", slowClient(sender.Options{}), 100 * time.Millisecond, &fake8x8.Response{Delay: time.Minute}, "canceled: ", context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.script != nil {
				f.Script(*tt.script)
			}
			ctx := context.Background()
			if tt.cancel > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer time.AfterFunc(tt.cancel, cancel).Stop()
			}
			start := time.Now()
			res, err := tt.c.Send(ctx, smsWithSource)
			if res.Outcome != sender.Retryable || res.Status != 0 || !strings.HasPrefix(res.Message, tt.message) {
				t.Errorf("Send = %+v, want Retryable, status 0, message %q...", res, tt.message)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err %v is not %v", err, tt.is)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			checkErr(t, res, err)
		})
	}
}

func TestSendRefusesInvalidMessagesWithoutARequest(t *testing.T) {
	f, c := newFake(t)
	edit := func(m sender.Message, change func(*sender.Message)) sender.Message {
		if m.Template != nil {
			tpl := *m.Template
			tpl.Body = append([]string(nil), tpl.Body...)
			m.Template = &tpl
		}
		change(&m)
		return m
	}
	tests := []struct {
		name string
		m    sender.Message
		want string
	}{
		{"no channel", edit(smsWithSource, func(m *sender.Message) { m.Channel = "" }), "unknown channel"},
		{"empty subaccount", edit(smsWithSource, func(m *sender.Message) { m.Subaccount = "" }), "subaccount is empty"},
		{"subaccount with a space", edit(smsWithSource, func(m *sender.Message) { m.Subaccount = "Acme SMS" }), "subaccount"},
		{"subaccount too short", edit(smsWithSource, func(m *sender.Message) { m.Subaccount = "ab" }), "subaccount"},
		{"empty recipient", edit(smsWithSource, func(m *sender.Message) { m.To = "" }), "recipient is empty"},
		{"national number", edit(smsWithSource, func(m *sender.Message) { m.To = "91234567" }), "E.164"},
		{"recipient with spaces", edit(whatsAppTemplate, func(m *sender.Message) { m.To = "+65 9123 4567" }), "E.164"},
		{"recipient too long", edit(smsWithSource, func(m *sender.Message) { m.To = "+1234567890123456" }), "E.164"},
		{"empty clientMessageId", edit(smsWithSource, func(m *sender.Message) { m.ClientMessageID = "" }), "clientMessageId is empty"},
		{"clientMessageId of 51", edit(whatsAppFreeform, func(m *sender.Message) { m.ClientMessageID = strings.Repeat("x", 51) }), "clientMessageId is 51 characters"},
		{"empty SMS text", edit(smsWithSource, func(m *sender.Message) { m.Text = "" }), "SMS text is empty"},
		{"blank SMS text", edit(smsWithSource, func(m *sender.Message) { m.Text = " \n " }), "SMS text is empty"},
		{"SMS source of 17", edit(smsWithSource, func(m *sender.Message) { m.Source = "AcmeSupportDeskSG" }), "longer than 16"},
		{"SMS with a template", edit(smsWithSource, func(m *sender.Message) { m.Template = whatsAppTemplate.Template }), "template"},
		{"empty WhatsApp text", edit(whatsAppFreeform, func(m *sender.Message) { m.Text = "" }), "WhatsApp text is empty"},
		{"WhatsApp text too long", edit(whatsAppFreeform, func(m *sender.Message) { m.Text = strings.Repeat("x", 35001) }), "35000"},
		{"template without name", edit(whatsAppTemplate, func(m *sender.Message) { m.Template.Name = "" }), "template name is empty"},
		{"template without language", edit(whatsAppTemplate, func(m *sender.Message) { m.Template.Language = "" }), "template language is empty"},
		{"empty template parameter", edit(whatsAppTemplate, func(m *sender.Message) { m.Template.Body[1] = " " }), "parameter 2 is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, body, err := c.Request(tt.m)
			if err == nil || u != "" || body != nil {
				t.Errorf("Request = %q, %s, %v; want an error", u, body, err)
			}
			res, err := c.Send(context.Background(), tt.m)
			if res.Outcome != sender.Permanent || res.Status != 0 || !strings.Contains(res.Message, tt.want) || !errors.Is(err, sender.ErrInvalidMessage) {
				t.Errorf("Send = %+v, %v; want Permanent %q wrapping ErrInvalidMessage", res, err, tt.want)
			}
			if strings.Contains(res.Message, "9123") {
				t.Errorf("the message quotes the phone number: %q", res.Message)
			}
			checkErr(t, res, err)
		})
	}
	// The limits themselves are fine.
	ok := edit(whatsAppFreeform, func(m *sender.Message) {
		m.ClientMessageID, m.Text, m.Subaccount = strings.Repeat("x", 50), strings.Repeat("x", 35000), strings.Repeat("a", 50)
	})
	if res, err := c.Send(context.Background(), ok); err != nil {
		t.Errorf("a message at the limits: %+v, %v", res, err)
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("%d requests reached 8x8, want 1", n)
	}
}

// A retry is the same delivery: the same clientMessageId, the same bytes.
func TestRetryCarriesTheSameClientMessageID(t *testing.T) {
	f, c := newFake(t)
	f.Script(fake8x8.Response{Status: 503})
	for _, want := range []sender.Outcome{sender.Retryable, sender.Sent} {
		if res, _ := c.Send(context.Background(), whatsAppTemplate); res.Outcome != want {
			t.Fatalf("Send: %s, want %s", res.Outcome, want)
		}
	}
	reqs := f.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	if reqs[0].ClientMessageID != whatsAppTemplate.ClientMessageID || reqs[1].ClientMessageID != reqs[0].ClientMessageID || !bytes.Equal(reqs[0].Body, reqs[1].Body) {
		t.Errorf("attempts differ:\n%s\n%s", reqs[0].Body, reqs[1].Body)
	}
}

// leakyTransport fails like a badly written proxy library might: with the
// request's headers in the error.
type leakyTransport struct{}

func (leakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("proxy refused request with Authorization: %s", r.Header.Get("Authorization"))
}

func TestAPIKeyNeverLeaks(t *testing.T) {
	f, c := newFake(t)
	// Where a body is cut to 200 bytes, put the key across the cut.
	straddle := strings.Repeat("x", 190) + " " + apiKey + " tail"
	answers := []fake8x8.Response{
		{Status: 401, Body: fmt.Sprintf(`{"code":1200,"message":"Invalid key in header Authorization: Bearer %s","errorId":"e","timestamp":"2020-01-01T00:00:00Z"}`, apiKey)},
		{Status: 400, Body: fmt.Sprintf(`{"code":1000,"message":"key %s is not valid"}`, apiKey)},
		{Status: 500, Header: http.Header{"Content-Type": {"text/plain"}}, Body: "request dump:\nPOST /api/v1/...\nAuthorization: Bearer " + apiKey + "\nAccept: application/json\n"},
		{Status: 502, Header: http.Header{"Content-Type": {"text/plain"}}, Body: straddle},
		{Status: 400, Body: fmt.Sprintf(`{"code":1000,"message":%q}`, straddle)},
		{Status: 200, Body: fmt.Sprintf(`{"umid":"u","status":{"code":"REJECTED","description":"bad key %s"}}`, apiKey)},
		{Status: 301, Header: http.Header{"Location": {"https://sms.8x8.com/?key=" + apiKey}}},
		{Status: 403, Body: `{"code":1201,"message":"Authorization: Bearer someone-elses-token was refused"}`},
	}
	f.Script(answers...)
	leaky := sender.NewClient(sender.Options{SMSURL: f.SMSURL, APIKey: apiKey, HTTPClient: &http.Client{Transport: leakyTransport{}}})

	check := func(res sender.Result, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("no error: %+v", res)
		}
		texts := []string{res.Message, err.Error(), fmt.Sprintf("%v %+v", err, res)}
		for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
			texts = append(texts, u.Error())
			break // the first cause is ours; deeper ones belong to net/http
		}
		for _, s := range texts {
			if strings.Contains(s, apiKey[:8]) || strings.Contains(s, apiKey[len(apiKey)-8:]) || strings.Contains(s, "someone-elses-token") {
				t.Errorf("the key shows: %q", s)
			}
		}
		if !strings.Contains(res.Message, "[REDAC") { // possibly cut by the 200-byte limit
			t.Errorf("no [REDACTED] mark: %q", res.Message)
		}
	}
	for range answers {
		check(c.Send(context.Background(), smsWithSource))
	}
	check(leaky.Send(context.Background(), smsWithSource))
}

// Each region's hosts are where its messages go: a transport stands in for
// the network and hands each request to the fake listener of the host it was
// meant for, refusing any other host.
func TestRegions(t *testing.T) {
	f := fake8x8.New(t, fake8x8.SpecDir(t), fake8x8.WithAPIKey(apiKey))
	for _, region := range append(sender.Regions(), "") {
		t.Run(string(region), func(t *testing.T) {
			smsBase, chatBase, err := sender.BaseURLs(string(region))
			if err != nil {
				t.Fatal(err)
			}
			rt := &hostRouter{to: map[string]string{host(t, smsBase): f.SMSURL, host(t, chatBase): f.ChatAppsURL}}
			c := sender.NewClient(sender.Options{SMSURL: smsBase, ChatAppsURL: chatBase, APIKey: apiKey, HTTPClient: &http.Client{Transport: rt}})
			before := len(f.Requests())
			for _, m := range []sender.Message{smsWithSource, whatsAppTemplate} {
				if res, err := c.Send(context.Background(), m); err != nil {
					t.Fatalf("%s: %+v, %v", m.Channel, res, err)
				}
			}
			want := []string{
				smsBase + "/api/v1/subaccounts/Acme_SMS/messages",
				chatBase + "/api/v1/subaccounts/Acme_WA/messages",
			}
			if got := rt.seen(); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("posted to %q, want %q", got, want)
			}
			reqs := f.Requests()[before:]
			if len(reqs) != 2 || reqs[0].Channel != sender.SMS || reqs[1].Channel != sender.WhatsApp {
				t.Errorf("fake got %+v", reqs)
			}
		})
	}
}

func host(t *testing.T, base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" {
		t.Fatalf("base URL %q: %v", base, err)
	}
	return u.Host
}

type hostRouter struct {
	to    map[string]string // host → fake listener URL
	mu    sync.Mutex
	posts []string
}

func (h *hostRouter) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.posts = append(h.posts, r.URL.String())
	h.mu.Unlock()
	target, ok := h.to[r.URL.Host]
	if !ok {
		return nil, fmt.Errorf("unexpected host %s", r.URL.Host)
	}
	u, _ := url.Parse(target)
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, ""
	return http.DefaultTransport.RoundTrip(r)
}

func (h *hostRouter) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.posts...)
}

// BRIDGE_8X8_SMS_URL and BRIDGE_8X8_CHATAPPS_URL: overrides win over the
// region, with or without a trailing slash.
func TestURLOverrides(t *testing.T) {
	f := fake8x8.New(t, fake8x8.SpecDir(t), fake8x8.WithAPIKey(apiKey))
	c := sender.NewClient(sender.Options{SMSURL: f.SMSURL + "/", ChatAppsURL: f.ChatAppsURL, APIKey: apiKey})
	for _, m := range []sender.Message{smsWithoutSource, whatsAppFreeform} {
		if res, err := c.Send(context.Background(), m); err != nil {
			t.Fatalf("%+v, %v", res, err)
		}
	}
	reqs := f.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/api/v1/subaccounts/Acme_SMS/messages" || reqs[1].Channel != sender.WhatsApp {
		t.Errorf("requests %+v", reqs)
	}
	// Zero options: the default region's hosts.
	u, _, _ := sender.NewClient(sender.Options{}).Request(smsWithSource)
	if !strings.HasPrefix(u, "https://sms.8x8.com/") {
		t.Errorf("default URL %s", u)
	}
}

func TestRedactHidesProxyPasswords(t *testing.T) {
	c := sender.NewClient(sender.Options{SMSURL: "https://proxyuser:proxypass@proxy.example/sms", ChatAppsURL: "https://chatapps.8x8.com"})
	if got := c.SMSBase(); strings.Contains(got, "proxypass") || !strings.Contains(got, "proxyuser") {
		t.Fatalf("SMSBase() = %q", got)
	}
	if got := c.ChatAppsBase(); got != "https://chatapps.8x8.com" {
		t.Fatalf("ChatAppsBase() = %q", got)
	}
	if got := sender.Redact("http://a b"); got != "(unparsable URL)" {
		t.Fatalf("Redact of a bad URL = %q", got)
	}
}
