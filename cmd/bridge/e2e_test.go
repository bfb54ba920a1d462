package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender/fake8x8"
)

// A signed webhook becomes exactly the request 8x8's schema expects.
func TestWebhookSendsSMS(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t), fake8x8.WithAPIKey(testAPIKey))
	b := start(t, withRedis(t, baseEnv(t, fake)))

	a := b.webhook(t, "/webhooks/zendesk", ticket("12345", "Solved", "notify_customer_sms", "9123 4567"), "inv-1")
	if a.Status != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", a.Status, a.Raw)
	}
	r := ruleResults(a)["solved-sms"]
	if r["result"] != "queued" || r["to"] != "+6591****67" {
		t.Fatalf("solved-sms: %v", r)
	}
	if strings.Contains(a.Raw, "+6591234567") {
		t.Fatalf("the answer to Zendesk shows the whole number: %s", a.Raw)
	}
	reqs := waitRequests(t, fake, 1)
	req := reqs[0]
	if req.Channel != "sms" || req.Path != "/api/v1/subaccounts/Acme_SMS/messages" || req.Header.Get("Authorization") != "Bearer "+testAPIKey {
		t.Fatalf("request: %s %s %v", req.Channel, req.Path, req.Header)
	}
	var body map[string]any
	_ = json.Unmarshal(req.Body, &body)
	if body["destination"] != "+6591234567" || body["source"] != "AcmeSupport" ||
		body["text"] != "Update for ticket #12345 (Solved). View: https://acme.zendesk.com/agent/tickets/12345" {
		t.Fatalf("body: %s", req.Body)
	}
	if id, _ := body["clientMessageId"].(string); id == "" || len(id) > 50 {
		t.Fatalf("clientMessageId %q", id)
	}
	if logs := b.logs.String(); strings.Contains(logs, "+6591234567") || strings.Contains(logs, testAPIKey) || strings.Contains(logs, testSecret) {
		t.Fatalf("logs leak a number or a secret:\n%s", logs)
	}
}

func TestWebhookSendsWhatsAppTemplate(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	b := start(t, withRedis(t, baseEnv(t, fake)))
	a := b.webhook(t, "/webhooks/zendesk/vip-whatsapp", ticket("777", "open", "vip", "+44 7400 123456"), "")
	if a.Status != http.StatusAccepted {
		t.Fatalf("status %d: %s", a.Status, a.Raw)
	}
	req := waitRequests(t, fake, 1)[0]
	var body struct {
		User    struct{ Msisdn string }
		Type    string
		Content struct {
			Template struct {
				Name, Language string
				Components     []struct {
					Type       string
					Parameters []struct{ Type, Text string }
				}
			}
		}
	}
	_ = json.Unmarshal(req.Body, &body)
	tpl := body.Content.Template
	if req.Channel != "whatsapp" || body.User.Msisdn != "+447400123456" || body.Type != "template" || tpl.Name != "ticket_update" ||
		tpl.Language != "en_GB" || len(tpl.Components) != 1 || len(tpl.Components[0].Parameters) != 2 ||
		tpl.Components[0].Parameters[0].Text != "777" || tpl.Components[0].Parameters[1].Text != "open" {
		t.Fatalf("WhatsApp request: %s", req.Body)
	}
}

// Every bad input gets its status, machine code and sentence, and sends nothing.
func TestBadInputs(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	env := baseEnv(t, fake)
	env["BRIDGE_MAX_BODY"] = "1KiB"
	b := start(t, env)
	good := ticket("1", "solved", "", "9123 4567")

	cases := []struct {
		name   string
		path   string
		body   []byte
		header http.Header
		status int
		code   string
	}{
		{"no signature", "/webhooks/zendesk", good, http.Header{}, 401, "unauthorized"},
		{"wrong signature", "/webhooks/zendesk", good, func() http.Header {
			h := signed(good, "")
			h.Set("X-Zendesk-Webhook-Signature", "AAAA")
			return h
		}(), 401, "unauthorized"},
		{"malformed JSON", "/webhooks/zendesk", []byte(`{"ticket": {"title": "say "hi""}}`), nil, 400, "malformed_json"},
		{"too large", "/webhooks/zendesk", []byte(`{"ticket":{"title":"` + strings.Repeat("x", 2000) + `"}}`), nil, 413, "body_too_large"},
		{"unknown rule", "/webhooks/zendesk/nope", good, nil, 404, "unknown_rule"},
		{"invalid phone", "/webhooks/zendesk", ticket("2", "solved", "", "12345"), nil, 422, "invalid_phone"},
		{"fixed line", "/webhooks/zendesk", ticket("3", "solved", "", "6123 4567"), nil, 422, "invalid_phone"},
		{"letters", "/webhooks/zendesk", ticket("4", "solved", "", "call me"), nil, 422, "invalid_phone"},
		{"empty phone", "/webhooks/zendesk", ticket("5", "solved", "", ""), nil, 422, "invalid_phone"},
		{"unknown route", "/nowhere", good, nil, 404, "not_found"},
		{"wrong method", "/webhooks/zendesk", nil, nil, 405, "method_not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.header
			if h == nil {
				h = signed(c.body, "")
			}
			method := http.MethodPost
			if c.code == "method_not_allowed" {
				method = http.MethodGet
			}
			a := b.do(t, method, c.path, c.body, h)
			if a.Status != c.status || a.Body["error"] != c.code {
				t.Fatalf("status %d %v, want %d %s: %s", a.Status, a.Body["error"], c.status, c.code, a.Raw)
			}
			if msg, _ := a.Body["message"].(string); len(msg) < 10 {
				t.Fatalf("no human sentence: %s", a.Raw)
			}
		})
	}
	// Not matched: 200, says so.
	a := b.webhook(t, "/webhooks/zendesk", ticket("6", "open", "", "9123 4567"), "")
	if a.Status != http.StatusOK || a.Body["result"] != "no_match" {
		t.Fatalf("no match: %d %s", a.Status, a.Raw)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("bad inputs made %d 8x8 requests", n)
	}
}

// The same webhook twice, and Zendesk's re-delivery of one invocation even
// with `once: false`, make one 8x8 request.
func TestDuplicates(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	b := start(t, withRedis(t, baseEnv(t, fake)))
	body := ticket("500", "solved", "", "9123 4567")
	if a := b.webhook(t, "/webhooks/zendesk/solved-sms", body, "inv-a"); a.Status != 202 || ruleResults(a)["solved-sms"]["result"] != "queued" {
		t.Fatalf("first: %d %s", a.Status, a.Raw)
	}
	// The rule in the path is unescaped and may end in a slash.
	if a := b.webhook(t, "/webhooks/zendesk/solved%2Dsms/", body, "inv-b"); a.Status != 202 || ruleResults(a)["solved-sms"]["result"] != "duplicate" {
		t.Fatalf("second: %d %s", a.Status, a.Raw)
	}
	// So may the endpoint for every rule, as an admin may paste it.
	if a := b.webhook(t, "/webhooks/zendesk/", body, "inv-b2"); a.Status != 202 || ruleResults(a)["solved-sms"]["result"] != "duplicate" {
		t.Fatalf("every rule, with a slash: %d %s", a.Status, a.Raw)
	}
	every := ticket("501", "open", "notify_every_update", "9123 4567")
	if a := b.webhook(t, "/webhooks/zendesk/every-update", every, "inv-c"); ruleResults(a)["every-update"]["result"] != "queued" {
		t.Fatalf("once:false first: %s", a.Raw)
	}
	if a := b.webhook(t, "/webhooks/zendesk/every-update", every, "inv-c"); ruleResults(a)["every-update"]["result"] != "duplicate" ||
		!strings.HasPrefix(fmt.Sprint(ruleResults(a)["every-update"]["reason"]), "Zendesk sent this invocation before") {
		t.Fatalf("once:false re-delivery: %s", a.Raw)
	}
	if a := b.webhook(t, "/webhooks/zendesk/solved-sms", body, "inv-a"); !strings.Contains(fmt.Sprint(ruleResults(a)["solved-sms"]["reason"]), "same fire-once key") {
		t.Fatalf("once key duplicate: %s", a.Raw)
	}
	if a := b.webhook(t, "/webhooks/zendesk/every-update", every, "inv-d"); ruleResults(a)["every-update"]["result"] != "queued" {
		t.Fatalf("once:false new invocation: %s", a.Raw)
	}
	waitRequests(t, fake, 3)
	// Nothing else arrives: the worker is idle once the queue drains.
	b.stop()
	if n := len(fake.Requests()); n != 3 {
		t.Fatalf("%d 8x8 requests, want 3", n)
	}
}

// 20 concurrent identical webhooks across two bridges sharing Redis: one request.
func TestConcurrentWebhooksTwoBridges(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	env := withRedis(t, baseEnv(t, fake))
	b1, b2 := start(t, env), start(t, env)
	body := ticket("900", "solved", "", "9123 4567")
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := b1
			if i%2 == 1 {
				b = b2
			}
			a := b.webhook(t, "/webhooks/zendesk/solved-sms", body, fmt.Sprintf("inv-%d", i))
			mu.Lock()
			results[fmt.Sprint(a.Status, ruleResults(a)["solved-sms"]["result"])]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if results["202queued"] != 1 || results["202duplicate"] != 19 {
		t.Fatalf("answers: %v, want one queued and 19 duplicates", results)
	}
	waitRequests(t, fake, 1)
	b1.stop()
	b2.stop()
	if n := len(fake.Requests()); n != 1 {
		t.Fatalf("%d 8x8 requests, want exactly 1", n)
	}
}

// once_for is counted from the claim: within it the same ticket is a
// duplicate, after it the rule fires again, through the real bridge on Redis.
func TestOnceForWindowPasses(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "rules.yaml")
	writeRules(t, file, `version: 1
defaults: {country: SG, sms: {subaccount: Acme_SMS, source: AcmeSupport}}
rules:
  - name: solved-sms
    when: {status: [solved]}
    once_for: 2s
    sms: {text: "Ticket #{{ticket.id}} solved"}
`)
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	env := withRedis(t, baseEnv(t, fake))
	env["BRIDGE_RULES_FILE"] = file
	b := start(t, env)
	body := ticket("610", "solved", "", "9123 4567")
	result := func() string {
		t.Helper()
		a := b.webhook(t, "/webhooks/zendesk", body, "")
		if a.Status != 202 {
			t.Fatalf("%d %s", a.Status, a.Raw)
		}
		return fmt.Sprint(ruleResults(a)["solved-sms"]["result"])
	}
	before := time.Now()
	if r := result(); r != "queued" {
		t.Fatalf("first webhook: %s", r)
	}
	claimedBy := time.Now()
	if r := result(); r != "duplicate" && time.Since(before) < 2*time.Second {
		t.Fatalf("within once_for: %s, want duplicate", r)
	}
	// A claim is released only once its delivery is over: a request that
	// reached the fake is not yet a sent delivery.
	waitRequests(t, fake, 1)
	awaitState(t, b, "sent", 1)
	// The window itself is what is tested: wait it out.
	time.Sleep(time.Until(claimedBy.Add(2*time.Second + 10*time.Millisecond)))
	if r := result(); r != "queued" {
		t.Fatalf("after once_for: %s, want queued", r)
	}
	waitRequests(t, fake, 2)
}

// The webhook's Test button in Zendesk sends the body as written, with its
// placeholders: the answer says so instead of only "no rule matched".
func TestUnrenderedPlaceholdersAreExplained(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	b := start(t, baseEnv(t, fake))
	body := []byte(`{"ticket":{"id":"{{ticket.id}}","status":"{{ticket.status}}","requester":{"phone":"{{ticket.requester.phone}}"}}}`)
	a := b.webhook(t, "/webhooks/zendesk", body, "")
	if a.Status != 200 || a.Body["result"] != "no_match" || !strings.Contains(fmt.Sprint(a.Body["warning"]), "Test button") {
		t.Fatalf("placeholders as written: %d %s", a.Status, a.Raw)
	}
	if a := b.webhook(t, "/webhooks/zendesk", ticket("5", "solved", "", "9123 4567"), ""); a.Body["warning"] != nil {
		t.Fatalf("a filled-in ticket got a warning: %s", a.Raw)
	}
	// A body without the ticket wrapper, or an event webhook's envelope.
	for _, body := range []string{`{"id":"3","status":"solved"}`, `{"ticket":"x"}`, `{"type":"zen:event-type:ticket.status_changed","detail":{"id":"3"}}`} {
		a := b.webhook(t, "/webhooks/zendesk", []byte(body), "")
		if a.Status != 200 || a.Body["result"] != "no_match" || !strings.Contains(fmt.Sprint(a.Body["warning"]), `no "ticket" object`) {
			t.Fatalf("%s: %d %s", body, a.Status, a.Raw)
		}
	}
}
