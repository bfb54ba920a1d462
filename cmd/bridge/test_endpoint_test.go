package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/redistest"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender/fake8x8"
)

// The README's own example: a dry-run bridge on the shipped rules.yaml, and
// examples/ticket.json posted to /test.
func TestTestEndpointOnShippedExample(t *testing.T) {
	t.Parallel()
	b := start(t, map[string]string{"BRIDGE_ADDR": "127.0.0.1:0", "BRIDGE_RULES_FILE": "../../rules.yaml"})
	body, err := os.ReadFile("../../examples/ticket.json")
	if err != nil {
		t.Fatal(err)
	}
	a := b.do(t, http.MethodPost, "/test", body, nil) // open: a dry-run bridge cannot send
	if a.Status != http.StatusOK || a.Body["dry_run"] != true {
		t.Fatalf("/test: %d %s", a.Status, a.Raw)
	}
	r := ruleResults(a)
	sms := r["solved-sms"]
	if sms["matched"] != true || sms["to"] != "+6591234567" || sms["channel"] != "sms" ||
		sms["url"] != "https://sms.8x8.com/api/v1/subaccounts/Acme_SMS/messages" ||
		sms["once_key"] != "solved-sms/12345" || sms["already_fired"] != false {
		t.Fatalf("solved-sms: %v", sms)
	}
	info := sms["sms"].(map[string]any)
	if info["encoding"] != "GSM7" || info["segments"].(float64) != 1 {
		t.Fatalf("sms info: %v", info)
	}
	sent := sms["body"].(map[string]any)
	if sent["destination"] != "+6591234567" || !strings.HasPrefix(sent["text"].(string), "Hi Mei Ling, your ticket #12345 is solved.") {
		t.Fatalf("body: %v", sent)
	}
	if wa := r["vip-update-whatsapp"]; wa["matched"] != false || !strings.Contains(wa["reason"].(string), "status") {
		t.Fatalf("vip-update-whatsapp: %v", wa)
	}
	if _, ok := sms["missing"]; ok {
		t.Fatalf("the shipped sample lacks nothing the shipped rules print: %v", sms)
	}
	// A variable the sample lacks printed nothing: a typo, or a field the
	// body does not send. /test names it.
	noLink := strings.Replace(string(body), `"link"`, `"lnk"`, 1)
	a = b.do(t, http.MethodPost, "/test?rule=solved-sms", []byte(noLink), nil)
	sms = ruleResults(a)["solved-sms"]
	if m, _ := sms["missing"].([]any); len(m) != 1 || m[0] != "ticket.link" || !strings.HasPrefix(sms["warning"].(string), "ticket.link printed nothing") {
		t.Fatalf("a missing variable: %s", a.Raw)
	}
	// A dry-run bridge sends nothing, and says so rather than "sent".
	a = b.do(t, http.MethodPost, "/test?send=1&to=%2B6598765432", body, nil)
	send, _ := ruleResults(a)["solved-sms"]["send"].(map[string]any)
	if a.Status != 200 || a.Body["sent"] != float64(0) || send["outcome"] != "dry_run" || send["umid"] != nil ||
		!strings.Contains(send["message"].(string), "BRIDGE_8X8_API_KEY") {
		t.Fatalf("dry-run send=1: %d %s", a.Status, a.Raw)
	}
	// A sample no rule can read as a ticket is told, as the webhook tells it.
	for sample, want := range map[string]string{
		`{"id": 1, "status": "solved"}`:                                      `no "ticket" object`,
		`{"ticket": {"id": "{{ticket.id}}", "status": "{{ticket.status}}"}}`: "placeholders as written ({{ticket.id}})",
	} {
		a := b.do(t, http.MethodPost, "/test", []byte(sample), nil)
		if w, _ := a.Body["warning"].(string); a.Status != 200 || !strings.Contains(w, want) {
			t.Fatalf("/test %s: %d %s; want a warning saying %s", sample, a.Status, a.Raw, want)
		}
	}
	if a := b.do(t, http.MethodPost, "/test", body, nil); a.Body["warning"] != nil {
		t.Fatalf("the shipped sample got a warning: %s", a.Raw)
	}
}

func TestTestEndpointNeedsAdminTokenAndSendsToTestNumber(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	b := start(t, withRedis(t, baseEnv(t, fake)))
	body := ticket("61", "solved", "", "9123 4567")
	if a := b.do(t, http.MethodPost, "/test", body, nil); a.Status != http.StatusUnauthorized || a.Body["error"] != "unauthorized" {
		t.Fatalf("/test without the admin token: %d %s", a.Status, a.Raw)
	}
	a := b.admin(t, http.MethodPost, "/test", body)
	if a.Status != http.StatusOK || ruleResults(a)["solved-sms"]["matched"] != true {
		t.Fatalf("/test: %d %s", a.Status, a.Raw)
	}
	for _, secret := range []string{testAPIKey, testSecret, testAdmin} {
		if strings.Contains(a.Raw, secret) {
			t.Fatalf("/test output shows a secret: %s", a.Raw)
		}
	}
	// A bare + decodes to a space: it still counts as +.
	for i, to := range []string{"%2B6598765432", "+6598765432"} {
		a = b.admin(t, http.MethodPost, "/test?send=1&rule=solved-sms&to="+to, body)
		send, _ := ruleResults(a)["solved-sms"]["send"].(map[string]any)
		if a.Status != 200 || send["outcome"] != "sent" || send["to"] != "+6598****32" {
			t.Fatalf("send=1 to=%s: %d %s", to, a.Status, a.Raw)
		}
		req := waitRequests(t, fake, i+1)[i]
		var sent map[string]any
		_ = json.Unmarshal(req.Body, &sent)
		if sent["destination"] != "+6598765432" {
			t.Fatalf("test send went to %v", sent["destination"])
		}
		if a.Body["sent"] != float64(1) || send["client_message_id"] != sent["clientMessageId"] {
			t.Fatalf("the answer's count or clientMessageId is not what was sent (%v): %s", sent["clientMessageId"], a.Raw)
		}
		// The body shown is the body sent, id included.
		if body, _ := json.Marshal(ruleResults(a)["solved-sms"]["body"]); !bytes.Contains(body, []byte(`"clientMessageId":"`+sent["clientMessageId"].(string)+`"`)) {
			t.Fatalf("/test shows a body with another clientMessageId than it sent (%v): %s", sent["clientMessageId"], body)
		}
	}
	// Nothing was claimed: the real webhook still queues.
	if a := b.webhook(t, "/webhooks/zendesk/solved-sms", body, ""); ruleResults(a)["solved-sms"]["result"] != "queued" {
		t.Fatalf("after /test send: %s", a.Raw)
	}
	// The worker sends that one in its own time; await it, so that the
	// counts below see only what /test sends.
	var queued map[string]any
	_ = json.Unmarshal(waitRequests(t, fake, 3)[2].Body, &queued)
	if queued["destination"] != "+6591234567" {
		t.Fatalf("the webhook's delivery went to %v", queued["destination"])
	}
	if a := b.admin(t, http.MethodPost, "/test?send=1&to=12", body); a.Status != http.StatusUnprocessableEntity || a.Body["error"] != "invalid_phone" {
		t.Fatalf("bad test number: %d %s", a.Status, a.Raw)
	}
	// The sample's own phone does not matter to a send: it goes to the test number.
	noPhone := ticket("62", "solved", "", "")
	a = b.admin(t, http.MethodPost, "/test?send=1&rule=solved-sms&to=%2B6598765432", noPhone)
	if send, _ := ruleResults(a)["solved-sms"]["send"].(map[string]any); send["outcome"] != "sent" {
		t.Fatalf("send=1 with a phoneless sample: %s", a.Raw)
	}
	// ...but the answer says that the live webhook would be refused.
	if w, _ := ruleResults(a)["solved-sms"]["warning"].(string); !strings.Contains(w, "the ticket's own recipient is refused (invalid_phone: ") {
		t.Fatalf("send=1 with a phoneless sample hides the live refusal: %s", a.Raw)
	}
	if w, _ := ruleResults(b.admin(t, http.MethodPost, "/test?send=1&rule=solved-sms&to=%2B6598765432", body))["solved-sms"]["warning"].(string); strings.Contains(w, "recipient is refused") {
		t.Fatalf("a good ticket number is said to be refused: %s", w)
	}
	if a := b.admin(t, http.MethodPost, "/test?send=1", body); a.Status != http.StatusBadRequest || a.Body["error"] != "missing_to" {
		t.Fatalf("no test number: %d %s", a.Status, a.Raw)
	}
	// send=yes sends; send=y is refused rather than read as "no"; the rule
	// name ignores case, as rule names are unique ignoring case.
	before := len(fake.Requests())
	a = b.admin(t, http.MethodPost, "/test?send=yes&rule=Solved-SMS&to=%2B6598765432", body)
	if send, _ := ruleResults(a)["solved-sms"]["send"].(map[string]any); a.Status != 200 || send["outcome"] != "sent" {
		t.Fatalf("send=yes: %d %s", a.Status, a.Raw)
	}
	if a := b.admin(t, http.MethodPost, "/test?send=y&to=%2B6598765432", body); a.Status != http.StatusBadRequest || a.Body["error"] != "invalid_send" {
		t.Fatalf("send=y: %d %s", a.Status, a.Raw)
	}
	if n := len(fake.Requests()) - before; n != 1 {
		t.Fatalf("%d messages sent, want 1 (send=yes)", n)
	}
}

// Startup refuses what would be unsafe or wrong, naming the variable.
func TestStartupRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"BRIDGE_8X8_API_KEY": "k"}, "BRIDGE_ZENDESK_SIGNING_SECRET"},
		{map[string]string{"BRIDGE_ZENDESK_SIGNING_SECRET": " , "}, "BRIDGE_ZENDESK_SIGNING_SECRET holds no secret"},
		{map[string]string{"BRIDGE_8X8_REGION": "mars"}, "BRIDGE_8X8_REGION"},
		{map[string]string{"BRIDGE_RETRY_BASE": "fast"}, "BRIDGE_RETRY_BASE"},
		{map[string]string{"BRIDGE_RULES_FILE": "testdata/missing.yaml"}, "missing.yaml"},
		{map[string]string{"BRIDGE_REDIS_URL": "http://nope"}, "BRIDGE_REDIS_URL"},
		{map[string]string{"BRIDGE_8X8_SMS_URL": "https://sms.8x8.com/api/v1/"}, "BRIDGE_8X8_SMS_URL"},
		{map[string]string{"BRIDGE_8X8_CHATAPPS_URL": "https://chatapps.8x8.com?x=1"}, "BRIDGE_8X8_CHATAPPS_URL"},
	}
	for _, c := range cases {
		c.env["BRIDGE_ADDR"] = "127.0.0.1:0"
		if _, ok := c.env["BRIDGE_RULES_FILE"]; !ok {
			c.env["BRIDGE_RULES_FILE"] = "testdata/rules.yaml"
		}
		err := run(t.Context(), nil, func(k string) string { return c.env[k] }, nil, &lines{addr: make(chan string, 1)}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%v) = %v, want an error naming %s", c.env, err, c.want)
		}
	}
}

// Redis settings Redis itself refuses stop the start; an unreachable Redis
// is a warning, and the bridge starts (and recovers when Redis answers).
func TestStartupStoreCheck(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(redistest.URL(t)) // a real Redis: it is what refuses the database
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/9999"
	refused := map[string]string{"BRIDGE_ADDR": "127.0.0.1:0", "BRIDGE_RULES_FILE": "testdata/rules.yaml", "BRIDGE_REDIS_URL": u.String()}
	err = run(t.Context(), nil, func(k string) string { return refused[k] }, nil, &lines{addr: make(chan string, 1)}, nil)
	if err == nil || !strings.Contains(err.Error(), "BRIDGE_REDIS_URL") || !strings.Contains(err.Error(), "DB index is out of range") {
		t.Fatalf("run with database 9999 = %v, want a refusal naming BRIDGE_REDIS_URL", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port where nothing answers once closed
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b := start(t, map[string]string{"BRIDGE_ADDR": "127.0.0.1:0", "BRIDGE_RULES_FILE": "testdata/rules.yaml",
		"BRIDGE_REDIS_URL": "redis://:hunter2@" + addr + "/0", "BRIDGE_ADMIN_TOKEN": testAdmin})
	b.logs.await(t, "store unreachable at startup: webhooks answer 503 and /readyz is 503 until Redis answers; the bridge keeps trying")
	// /test still shows what the rules would do; only whether a rule
	// already fired is unknown.
	a := b.admin(t, http.MethodPost, "/test", ticket("63", "solved", "", "9123 4567"))
	r := ruleResults(a)["solved-sms"]
	if a.Status != http.StatusOK || r["matched"] != true || r["body"] == nil || r["fired_state"] != "unknown" || r["already_fired"] != nil ||
		!strings.Contains(fmt.Sprint(r["warning"]), "store does not answer") {
		t.Fatalf("/test with the store down: %d %s", a.Status, a.Raw)
	}
	if strings.Contains(b.logs.String(), "hunter2") || strings.Contains(a.Raw, "hunter2") {
		t.Fatalf("the password reached the log or an answer:\n%s\n%s", b.logs, a.Raw)
	}
}
