package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/metrics"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/queue"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/templates"
)

const twoRules = `version: 1
defaults: {country: SG, sms: {subaccount: Acme_SMS}}
rules:
  - name: first
    when: {status: [solved]}
    sms: {text: "one {{ticket.id}}"}
  - name: second
    when: {status: [solved]}
    sms: {text: "two {{ticket.id}}"}
`

type fixedRules struct{ set *rules.Set }

func (f fixedRules) Current() *rules.Set { return f.set }
func (f fixedRules) Status() any         { return map[string]any{"rules": len(f.set.Rules)} }

// flakyQueue stores the first n deliveries, then fails like a lost Redis.
type flakyQueue struct {
	mu     sync.Mutex
	n      int
	stored []queue.Delivery
}

func (q *flakyQueue) Enqueue(_ context.Context, d queue.Delivery, _ time.Duration) (bool, queue.State, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.stored) >= q.n {
		return false, "", errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	}
	q.stored = append(q.stored, d)
	return true, "", nil
}
func (q *flakyQueue) Fired(context.Context, string, time.Duration) (queue.State, bool, error) {
	return "", false, nil
}
func (q *flakyQueue) List(context.Context, queue.State, int) ([]queue.Info, error) {
	return nil, nil
}
func (q *flakyQueue) Get(context.Context, string) (queue.Info, error) {
	return queue.Info{}, queue.ErrNotFound
}
func (q *flakyQueue) Replay(context.Context, string) error { return queue.ErrNotFound }
func (q *flakyQueue) Delete(context.Context, string) error { return queue.ErrNotFound }
func (q *flakyQueue) ReplayParked(context.Context, queue.Filter, int) (queue.Bulk, error) {
	return queue.Bulk{}, nil
}
func (q *flakyQueue) Depth(context.Context) (map[queue.State]int, error) { return nil, nil }
func (q *flakyQueue) Ping(context.Context) error {
	if q.n == 0 {
		return errors.New("connection refused")
	}
	return nil
}

type nopSender struct{}

func (nopSender) Send(context.Context, sender.Message) (sender.Result, error) {
	return sender.Result{Outcome: sender.Sent}, nil
}

func newServer(t *testing.T, q Queue, adminToken string, dryRun bool) http.Handler {
	t.Helper()
	set, err := rules.Parse("rules.yaml", []byte(twoRules), rules.Options{Engine: templates.New(), Country: phone.Country})
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{
		Rules: fixedRules{set}, Queue: q, Sender: nopSender{}, Requester: sender.NewClient(sender.Options{}),
		Metrics: metrics.New("test", func(context.Context) (map[queue.State]int, error) { return nil, nil }),
		Log:     zerolog.Nop(), Now: time.Now, MaxBody: 1024, MaxSkew: time.Minute,
		AdminToken: adminToken, DryRun: dryRun, Durable: true,
	})
}

func serve(h http.Handler, method, path string, body io.Reader, header http.Header) (*httptest.ResponseRecorder, map[string]any) {
	req := httptest.NewRequest(method, path, body)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec, out
}

const solved = `{"ticket":{"id":"7","status":"solved","requester":{"phone":"9123 4567"}}}`

// The store fails after the first of two rules: 503 with Retry-After, the
// first stays queued (Zendesk's retry finds it a duplicate), the second was
// not claimed.
func TestStoreLostMidWebhook(t *testing.T) {
	t.Parallel()
	q := &flakyQueue{n: 1}
	rec, body := serve(newServer(t, q, "", true), "POST", "/webhooks/zendesk", strings.NewReader(solved), nil)
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "5" || body["error"] != "store_unavailable" {
		t.Fatalf("%d %v %v", rec.Code, rec.Header(), body)
	}
	if strings.Contains(rec.Body.String(), "6379") {
		t.Fatalf("the answer quotes the store's address: %s", rec.Body)
	}
	rs := body["rules"].([]any)
	if len(rs) != 1 || rs[0].(map[string]any)["result"] != "queued" || len(q.stored) != 1 {
		t.Fatalf("rules %v, stored %d", rs, len(q.stored))
	}
	// Lost from the first rule: no empty list that reads as "no rules".
	rec, body = serve(newServer(t, &flakyQueue{n: 0}, "", true), "POST", "/webhooks/zendesk", strings.NewReader(solved), nil)
	if _, listed := body["rules"]; rec.Code != 503 || listed {
		t.Fatalf("store lost at once: %d %s", rec.Code, rec.Body)
	}
}

// A 400 says what the admin can do about the body they wrote.
func TestMalformedBodyHints(t *testing.T) {
	t.Parallel()
	h := newServer(t, &flakyQueue{n: 10}, "", true)
	for _, c := range []struct{ body, want, not string }{
		{"", "Paste examples/zendesk-body.json", "quotes"},
		{`{"ticket": {"title": "say "hi""}}`, "holds quotes or newlines", "Paste"},
		{`[1]`, "must be a JSON object", "quotes"},
	} {
		rec, body := serve(h, "POST", "/webhooks/zendesk", strings.NewReader(c.body), nil)
		msg, _ := body["message"].(string)
		if rec.Code != 400 || body["error"] != "malformed_json" || !strings.Contains(msg, c.want) || strings.Contains(msg, c.not) {
			t.Errorf("body %q: %d %v", c.body, rec.Code, body)
		}
	}
}

func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	q := &flakyQueue{n: 10}
	// No admin token: the routes do not exist...
	rec, body := serve(newServer(t, q, "", false), "GET", "/deliveries", nil, nil)
	if rec.Code != 404 || body["error"] != "not_found" {
		t.Fatalf("deliveries without an admin token: %d %v", rec.Code, body)
	}
	rec, _ = serve(newServer(t, q, "", false), "POST", "/test", strings.NewReader(solved), nil)
	if rec.Code != 404 {
		t.Fatalf("/test on a sending bridge without admin token: %d", rec.Code)
	}
	// ...except a dry-run bridge's /test.
	rec, _ = serve(newServer(t, q, "", true), "POST", "/test", strings.NewReader(solved), nil)
	if rec.Code != 200 {
		t.Fatalf("/test on a dry-run bridge: %d", rec.Code)
	}
	h := newServer(t, q, "tok", false)
	for _, auth := range []string{"", "Bearer wrong", "Basic dG9rOg=="} {
		rec, body = serve(h, "GET", "/deliveries", nil, http.Header{"Authorization": {auth}})
		if rec.Code != 401 || body["error"] != "unauthorized" || rec.Header().Get("WWW-Authenticate") == "" {
			t.Fatalf("Authorization %q: %d %v", auth, rec.Code, body)
		}
	}
	rec, _ = serve(h, "GET", "/deliveries?state=parked", nil, http.Header{"Authorization": {"bearer tok"}})
	if rec.Code != 200 {
		t.Fatalf("right token (any case of Bearer): %d", rec.Code)
	}
	// A query Go would read in part is refused whole.
	for _, q := range []string{"/deliveries?state=sent;limit=1", "/deliveries?state=%ZZ"} {
		rec, body = serve(h, "GET", q, nil, http.Header{"Authorization": {"Bearer tok"}})
		if rec.Code != 400 || body["error"] != "invalid_query" {
			t.Fatalf("%s: %d %v", q, rec.Code, body)
		}
	}
	rec, body = serve(newServer(t, q, "", true), "POST", "/test?send=1;to=%2B6591234567", strings.NewReader(solved), nil)
	if rec.Code != 400 || body["error"] != "invalid_query" {
		t.Fatalf("/test with a ; separator: %d %v", rec.Code, body)
	}
	rec, body = serve(h, "GET", "/deliveries?state=lost", nil, http.Header{"Authorization": {"Bearer tok"}})
	if rec.Code != 400 || body["error"] != "invalid_state" {
		t.Fatalf("unknown state: %d %v", rec.Code, body)
	}
	rec, body = serve(h, "POST", "/deliveries/nope/replay", nil, http.Header{"Authorization": {"Bearer tok"}})
	if rec.Code != 404 || body["error"] != "unknown_delivery" {
		t.Fatalf("replay unknown: %d %v", rec.Code, body)
	}
}

// A chunked body (no Content-Length) over the limit is refused too.
func TestChunkedBodyOverLimit(t *testing.T) {
	t.Parallel()
	h := newServer(t, &flakyQueue{n: 10}, "", true)
	req := httptest.NewRequest("POST", "/webhooks/zendesk", io.MultiReader(strings.NewReader(`{"a":"`), strings.NewReader(strings.Repeat("x", 5000)), strings.NewReader(`"}`)))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), `"body_too_large"`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestProbes(t *testing.T) {
	t.Parallel()
	up := newServer(t, &flakyQueue{n: 1}, "", true)
	for _, m := range []string{"GET", "HEAD"} {
		if rec, _ := serve(up, m, "/readyz", nil, nil); rec.Code != 200 {
			t.Fatalf("%s /readyz: %d", m, rec.Code)
		}
	}
	down := newServer(t, &flakyQueue{n: 0}, "", true)
	rec, body := serve(down, "GET", "/readyz", nil, nil)
	if rec.Code != 503 || body["error"] != "store_unavailable" || body["durable"] != true || body["rules"] == nil {
		t.Fatalf("/readyz with the store down: %d %v", rec.Code, body)
	}
	if rec, _ := serve(down, "GET", "/healthz", nil, nil); rec.Code != 200 {
		t.Fatalf("/healthz depends on the store: %d", rec.Code)
	}
}

// oneDelivery holds one delivery, whatever the id asked.
type oneDelivery struct {
	flakyQueue
	in queue.Info
}

func (q *oneDelivery) Get(context.Context, string) (queue.Info, error) { return q.in, nil }

// A fire-once key made from the phone shows masked, like the number.
func TestDeliveryKeyIsMasked(t *testing.T) {
	t.Parallel()
	q := &oneDelivery{flakyQueue: flakyQueue{n: 10}, in: queue.Info{State: queue.Sent, Delivery: queue.Delivery{
		ID: "d1", Rule: "phone-once", Key: "phone-once/+65 9123 0020",
		Message: sender.Message{Channel: sender.SMS, To: "+6591230020", Text: "hi"},
	}}}
	h := newServer(t, q, "tok", false)
	get := func() (*httptest.ResponseRecorder, map[string]any) {
		return serve(h, "GET", "/deliveries/0123456789abcdef0123456789abcdef", nil, http.Header{"Authorization": {"Bearer tok"}})
	}
	rec, body := get()
	if rec.Code != 200 || body["key"] != "phone-once/+65 9••• ••20" || strings.Contains(rec.Body.String(), "9123") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// A key of a long ticket id, under a rule named with digits, stays
	// readable: it is not the number.
	q.in.Key = "sms-2024/12345678"
	if rec, body := get(); rec.Code != 200 || body["key"] != "sms-2024/12345678" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// A store that answers wrongly is not called unreachable: that sends the
// operator to the network when the data is at fault.
func TestStoreErrorWords(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, "timed out"},
		{errors.New("dial tcp 127.0.0.1:6379: connect: connection refused"), "connection refused"},
		{&net.OpError{Op: "read", Err: errors.New("reset")}, "unreachable"},
		{io.EOF, "unreachable"},
		{errors.New(`FAILED_PRECONDITION: "" is not supported task state`), "failed (see the bridge's log)"},
	} {
		if got := storeError(c.err); got != c.want {
			t.Errorf("storeError(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// Bodies are read a bounded number at a time: with every turn held by a
// body that does not arrive, the next request waits, then gets 503 busy
// with Retry-After; once a turn is free, requests are read again.
func TestBodiesReadABoundedNumberAtATime(t *testing.T) {
	t.Parallel()
	set, err := rules.Parse("rules.yaml", []byte(twoRules), rules.Options{Engine: templates.New(), Country: phone.Country})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Options{
		Rules: fixedRules{set}, Queue: &flakyQueue{n: 10}, Sender: nopSender{}, Requester: sender.NewClient(sender.Options{}),
		Metrics: metrics.New("test", func(context.Context) (map[queue.State]int, error) { return nil, nil }),
		Log:     zerolog.Nop(), Now: time.Now, MaxBody: 1024, MaxSkew: time.Minute, DryRun: true, Durable: true,
		ReadBudget: 2 * 2 * 1024, ReadWait: 50 * time.Millisecond, // two turns
	})
	var writers []*io.PipeWriter
	var done []chan struct{}
	for range 2 { // two slow senders take both turns
		r, w := io.Pipe()
		finished := make(chan struct{})
		writers, done = append(writers, w), append(done, finished)
		req := httptest.NewRequest("POST", "/webhooks/zendesk", r)
		req.ContentLength = -1
		go func() {
			defer close(finished)
			h.ServeHTTP(httptest.NewRecorder(), req)
		}()
		if _, err := w.Write([]byte(`{"ticket":`)); err != nil { // taken by the reader: the turn is held
			t.Fatal(err)
		}
	}
	rec, body := serve(h, "POST", "/webhooks/zendesk", strings.NewReader(`{"ticket":{"id":"1"}}`), nil)
	if rec.Code != 503 || body["error"] != "busy" || rec.Header().Get("Retry-After") != "5" {
		t.Fatalf("with every turn held: %d %v", rec.Code, body)
	}
	_ = writers[0].CloseWithError(io.ErrUnexpectedEOF) // one slow sender gives up
	<-done[0]
	rec, body = serve(h, "POST", "/webhooks/zendesk", strings.NewReader(`{"ticket":{"id":"1","status":"open"}}`), nil)
	if rec.Code != 200 || body["result"] != "no_match" {
		t.Fatalf("with a turn free again: %d %v", rec.Code, body)
	}
	_ = writers[1].CloseWithError(io.ErrUnexpectedEOF)
	<-done[1]
}

// A value from the request is quoted back bounded, and whole characters.
func TestShorten(t *testing.T) {
	t.Parallel()
	if got := shorten("short"); got != "short" {
		t.Errorf("shorten(short) = %q", got)
	}
	long := strings.Repeat("a", 63) + "美玲" + strings.Repeat("b", 100000)
	got := shorten(long)
	if got != strings.Repeat("a", 63)+"…" || !utf8.ValidString(got) {
		t.Errorf("shorten(long) = %q", got)
	}
	rec, body := serve(newServer(t, &flakyQueue{n: 1}, "", true), "POST", "/webhooks/zendesk/"+strings.Repeat("r", 100000), strings.NewReader(`{}`), nil)
	if rec.Code != 404 || body["error"] != "unknown_rule" || rec.Body.Len() > 1000 {
		t.Errorf("an unknown 100 KB rule name: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}
