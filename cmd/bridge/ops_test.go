package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender/fake8x8"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

const oneRule = `version: 1
defaults: {country: SG, sms: {subaccount: Acme_SMS}}
rules:
  - name: solved-sms
    when: {status: [solved]}
    sms: {text: "Ticket {{ticket.id}} solved"}
`

const twoRules = oneRule + `  - name: open-sms
    when: {status: [open]}
    sms: {text: "Ticket {{ticket.id}} opened"}
`

const badRules = oneRule + `  - name: broken
    when: {stauts: [open]}
    sms: {text: "{{ ticket.id "}
`

// writeRules replaces the file the way editors do: write aside, rename over.
func writeRules(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// awaitReload polls /readyz until the last reload reports want.
func awaitRules(t *testing.T, b *bridge, rules float64, last string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := b.do(t, http.MethodGet, "/readyz", nil, nil)
		r, _ := a.Body["rules"].(map[string]any)
		if r["rules"] == rules && r["last_reload"] == last {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("rules status %v, want %v rules and last reload %s", r, rules, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Editing rules.yaml reloads it; a broken edit is refused, counted, shown,
// and the old rules keep serving.
func TestRulesReloadOnFileChange(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "rules.yaml")
	writeRules(t, file, oneRule)
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	env := baseEnv(t, fake)
	env["BRIDGE_RULES_FILE"] = file
	b := start(t, env)
	awaitRules(t, b, 1, "success")

	writeRules(t, file, twoRules)
	awaitRules(t, b, 2, "success")
	if a := b.webhook(t, "/webhooks/zendesk/open-sms", ticket("70", "open", "", "9123 4567"), ""); a.Status != 202 {
		t.Fatalf("the new rule does not serve: %d %s", a.Status, a.Raw)
	}

	writeRules(t, file, badRules)
	r := awaitRules(t, b, 2, "failure")
	if msg, _ := r["error"].(string); !strings.Contains(msg, "stauts") || !strings.Contains(msg, "rule broken") {
		t.Fatalf("reload error %q does not say what is wrong", msg)
	}
	if a := b.webhook(t, "/webhooks/zendesk/open-sms", ticket("71", "open", "", "9123 4567"), ""); a.Status != 202 {
		t.Fatalf("after a refused reload the old rules stopped serving: %d %s", a.Status, a.Raw)
	}
	metrics := b.do(t, http.MethodGet, "/metrics", nil, nil).Raw
	for _, want := range []string{`bridge_rule_reloads_total{result="failure"} 1`, `bridge_rule_reloads_total{result="success"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
}

// SIGHUP reloads (a real process: a stray SIGHUP would kill the test binary).
func TestRulesReloadOnSIGHUP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "rules.yaml")
	writeRules(t, file, oneRule)
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	env := baseEnv(t, fake)
	env["BRIDGE_RULES_FILE"] = file
	c := startChild(t, env)
	// Write in place, then signal: the log must show a reload triggered by SIGHUP.
	if err := os.WriteFile(file, []byte(twoRules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	awaitRules(t, c.bridge, 2, "success")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(c.logs.String(), `"trigger":"SIGHUP"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no SIGHUP reload in the log:\n%s", c.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The metrics move when traffic flows.
func TestMetricsMove(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	b := start(t, withRedis(t, baseEnv(t, fake)))
	b.webhook(t, "/webhooks/zendesk/solved-sms", ticket("80", "solved", "", "9123 4567"), "")
	b.webhook(t, "/webhooks/zendesk/solved-sms", ticket("80", "solved", "", "9123 4567"), "")
	b.do(t, http.MethodPost, "/webhooks/zendesk", []byte(`{}`), nil)
	awaitState(t, b, "sent", 1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := b.do(t, http.MethodGet, "/metrics", nil, nil).Raw
		missing := ""
		for _, want := range []string{
			`bridge_webhooks_total{outcome="accepted"} 2`,
			`bridge_webhooks_total{outcome="unauthorized"} 1`,
			`bridge_rule_results_total{result="queued",rule="solved-sms"} 1`,
			`bridge_rule_results_total{result="duplicate",rule="solved-sms"} 1`,
			`bridge_deliveries_total{channel="sms",outcome="sent"} 1`,
			`bridge_8x8_request_duration_seconds_count{channel="sms",status="2xx"} 1`,
			`bridge_queue_depth{state="sent"} 1`,
			`bridge_build_info{version="dev"} 1`,
		} {
			if !strings.Contains(m, want) {
				missing = want
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %s:\n%s", missing, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInboundAuthOptions(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	body := ticket("90", "open", "", "9123 4567") // matches nothing: 200 once authenticated
	bearer := func(tok string) http.Header {
		return http.Header{"Authorization": {"Bearer " + tok}}
	}
	withBearer := func(h http.Header, tok string) http.Header {
		h.Set("Authorization", "Bearer "+tok)
		return h
	}

	t.Run("token only", func(t *testing.T) {
		env := baseEnv(t, fake)
		delete(env, "BRIDGE_ZENDESK_SIGNING_SECRET")
		env["BRIDGE_ZENDESK_TOKEN"] = "zd-token"
		b := start(t, env)
		if a := b.do(t, http.MethodPost, "/webhooks/zendesk", body, nil); a.Status != 401 || a.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("no token: %d", a.Status)
		}
		if a := b.do(t, http.MethodPost, "/webhooks/zendesk", body, bearer("wrong")); a.Status != 401 {
			t.Fatalf("wrong token: %d", a.Status)
		}
		if a := b.do(t, http.MethodPost, "/webhooks/zendesk", body, bearer("zd-token")); a.Status != 200 {
			t.Fatalf("right token: %d %s", a.Status, a.Raw)
		}
	})
	t.Run("both required", func(t *testing.T) {
		env := baseEnv(t, fake)
		env["BRIDGE_ZENDESK_TOKEN"] = "zd-token"
		b := start(t, env)
		if a := b.do(t, http.MethodPost, "/webhooks/zendesk", body, bearer("zd-token")); a.Status != 401 {
			t.Fatalf("token without signature: %d", a.Status)
		}
		if a := b.do(t, http.MethodPost, "/webhooks/zendesk", body, signed(body, "")); a.Status != 401 {
			t.Fatalf("signature without token: %d", a.Status)
		}
		if a := b.do(t, http.MethodPost, "/webhooks/zendesk", body, withBearer(signed(body, ""), "zd-token")); a.Status != 200 {
			t.Fatalf("both: %d %s", a.Status, a.Raw)
		}
	})
	// Each Zendesk webhook has its own secret: one for /webhooks/zendesk,
	// another for a webhook pointed at /webhooks/zendesk/{rule}.
	t.Run("a secret per webhook", func(t *testing.T) {
		env := baseEnv(t, fake)
		env["BRIDGE_ZENDESK_SIGNING_SECRET"] = "other-webhook-secret, " + testSecret
		b := start(t, env)
		if a := b.do(t, http.MethodPost, "/webhooks/zendesk", body, signed(body, "")); a.Status != 200 {
			t.Fatalf("signed with the second secret: %d %s", a.Status, a.Raw)
		}
		ts := time.Now().UTC().Format(time.RFC3339)
		h := http.Header{"Content-Type": {"application/json"}, zendesk.HeaderTimestamp: {ts},
			zendesk.HeaderSignature: {zendesk.Sign("other-webhook-secret", ts, body)}}
		if a := b.do(t, http.MethodPost, "/webhooks/zendesk/solved-sms", body, h); a.Status != 200 {
			t.Fatalf("signed with the first secret: %d %s", a.Status, a.Raw)
		}
		h.Set(zendesk.HeaderSignature, zendesk.Sign("a-third-webhook", ts, body))
		h.Set(zendesk.HeaderWebhookID, "01HZXK4T9S5N7Q2W8E3R6Y1U0P")
		a := b.do(t, http.MethodPost, "/webhooks/zendesk", body, h)
		if msg, _ := a.Body["message"].(string); a.Status != 401 || !strings.Contains(msg, "matches the body with no secret in BRIDGE_ZENDESK_SIGNING_SECRET") ||
			!strings.Contains(msg, "webhook 01HZXK4T9S5N7Q2W8E3R6Y1U0P") {
			t.Fatalf("signed with neither: %d %s", a.Status, a.Raw)
		}
		// An id that is not a plain one is not quoted back.
		h.Set(zendesk.HeaderWebhookID, "<b>id</b> 01HZ")
		if a := b.do(t, http.MethodPost, "/webhooks/zendesk", body, h); a.Status != 401 || strings.Contains(fmt.Sprint(a.Body["message"]), "<b>") || strings.Contains(fmt.Sprint(a.Body["message"]), "01HZ") {
			t.Fatalf("an unsafe webhook id: %d %s", a.Status, a.Raw)
		}
	})
	t.Run("stale signature", func(t *testing.T) {
		b := start(t, baseEnv(t, fake))
		h := signed(body, "")
		old := time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339)
		h.Set("X-Zendesk-Webhook-Signature-Timestamp", old)
		if a := b.do(t, http.MethodPost, "/webhooks/zendesk", body, h); a.Status != 401 {
			t.Fatalf("stale timestamp: %d", a.Status)
		}
	})
}

// On embedded defaults the bridge runs with nothing installed, in dry run,
// and says it is not durable.
func TestEmbeddedDryRun(t *testing.T) {
	t.Parallel()
	b := start(t, map[string]string{"BRIDGE_ADDR": "127.0.0.1:0", "BRIDGE_RULES_FILE": "testdata/rules.yaml", "BRIDGE_ADMIN_TOKEN": testAdmin})
	// A bridge that has queued nothing yet still serves every metric.
	if m := b.do(t, http.MethodGet, "/metrics", nil, nil); m.Status != 200 || !strings.Contains(m.Raw, `bridge_queue_depth{state="parked"} 0`) {
		t.Fatalf("fresh /metrics: %d\n%s", m.Status, m.Raw)
	}
	if h := b.do(t, http.MethodHead, "/healthz", nil, nil); h.Status != 200 {
		t.Fatalf("HEAD /healthz: %d", h.Status)
	}
	a := b.do(t, http.MethodGet, "/readyz", nil, nil)
	if a.Status != 200 || a.Body["durable"] != false || a.Body["store"] != "embedded" || a.Body["dry_run"] != true {
		t.Fatalf("readyz: %s", a.Raw)
	}
	logs := b.logs.String()
	if !strings.Contains(logs, `"durable":false`) || !strings.Contains(logs, `"sender":"dry_run"`) {
		t.Fatalf("startup line does not say the mode:\n%s", logs)
	}
	if a := b.do(t, http.MethodPost, "/webhooks/zendesk", ticket("95", "solved", "", "9123 4567"), nil); a.Status != 202 {
		t.Fatalf("dry-run webhook: %d %s", a.Status, a.Raw)
	}
	sent := awaitState(t, b, "sent", 1)
	if umid, _ := sent[0]["umid"].(string); !strings.HasPrefix(umid, "dry-run") {
		t.Fatalf("dry run recorded %v", sent[0])
	}
	b.logs.await(t, "dry run: counted as sent, nothing went to 8x8")
	if strings.Contains(b.logs.String(), "delivered to 8x8") {
		t.Fatalf("a dry run claims a delivery to 8x8:\n%s", b.logs)
	}
	if a := b.do(t, http.MethodGet, "/healthz", nil, nil); a.Status != 200 {
		t.Fatalf("healthz %d", a.Status)
	}
}

// `bridge deliveries list|replay` work from a shell against Redis.
func TestDeliveriesCommand(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	fake.Script(fake8x8.Response{Status: 404, Body: `{"code":1300,"message":"Not found"}`})
	env := withRedis(t, baseEnv(t, fake))
	b := start(t, env)
	// The ticket id comes from outside: its escape sequence and newline
	// must not reach the operator's terminal.
	b.webhook(t, "/webhooks/zendesk/solved-sms", ticket("99\x1b[2J\nforged row", "solved", "", "9123 4567"), "")
	parked := awaitState(t, b, "parked", 1)
	id := parked[0]["id"].(string)

	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"deliveries", "list"}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, id) || !strings.Contains(s, "+6591****67") || !strings.Contains(s, "Not found") || strings.Contains(s, "+6591234567") ||
		!strings.Contains(s, "99?[2J?forged row") || strings.Count(s, "\n") != 2 {
		t.Fatalf("deliveries list:\n%q", s)
	}
	out.Reset()
	if err := run(context.Background(), []string{"deliveries", "replay", id}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	waitRequests(t, fake, 2)
	awaitState(t, b, "sent", 1)
	if err := run(context.Background(), []string{"deliveries", "replay", "nope"}, getenv, nil, &out, io.Discard); err == nil || !strings.Contains(err.Error(), env["BRIDGE_QUEUE"]) {
		t.Fatalf("replaying an unknown delivery: %v; want an error naming the queue", err)
	}
	if err := run(context.Background(), []string{"deliveries", "list", "bogus"}, getenv, nil, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "parked, sent") {
		t.Fatalf("listing an unknown state: %v; want the valid states", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"deliveries", "list"}, getenv, nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "no parked deliveries in queue") {
		t.Fatalf("an empty listing: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"deliveries", "delete", id}, getenv, nil, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "not parked") {
		t.Fatalf("deleting a sent delivery: %v", err)
	}
}

func TestRulesCheckCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	getenv := func(string) string { return "" }
	if err := run(context.Background(), []string{"rules", "check", "../../rules.yaml"}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatalf("shipped rules.yaml: %v", err)
	}
	if !strings.Contains(out.String(), "OK, 2 rules") || strings.Contains(out.String(), "warning") {
		t.Fatalf("summary: %s", out.String())
	}
	// No rules loads, and says what it means.
	empty := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(empty, []byte("version: 1\nrules: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"rules", "check", empty}, getenv, nil, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "OK, no rules: every webhook will be answered no_match") {
		t.Fatalf("rules: []: %v %s", err, out.String())
	}
	// A likely mistake is shown, and the check still passes: it loads.
	out.Reset()
	odd := filepath.Join(t.TempDir(), "odd.yaml")
	_ = os.WriteFile(odd, []byte("version: 1\ndefaults: {country: SG, sms: {subaccount: Acme_SMS}}\nrules:\n"+
		"  - name: a\n    when: {status: [sovled]}\n    sms: {text: hi}\n"), 0o644)
	if err := run(context.Background(), []string{"rules", "check", odd}, getenv, nil, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), odd+`:5: rule a: warning: when.status "sovled" is not one of Zendesk's statuses`) ||
		!strings.Contains(out.String(), `Did you mean "solved"?`) || !strings.Contains(out.String(), odd+": OK, 1 rule") {
		t.Fatalf("a rule with a likely mistake: %v\n%s", err, out.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(bad, []byte(badRules), 0o644)
	err := run(context.Background(), []string{"rules", "check", bad}, getenv, nil, &out, io.Discard)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), bad+":") || !strings.Contains(err.Error(), "rule broken") {
		t.Fatalf("broken rules: %v (exit %d)", err, exitCode(err))
	}

	// Several files: each is checked and reported, whichever fails.
	out.Reset()
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	err = run(context.Background(), []string{"rules", "check", bad, "../../rules.yaml", missing}, getenv, nil, &out, io.Discard)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "rule broken") || !strings.Contains(err.Error(), missing) {
		t.Fatalf("three files, two bad: %v (exit %d)", err, exitCode(err))
	}
	if !strings.Contains(out.String(), "../../rules.yaml: OK, 2 rules") {
		t.Fatalf("the good file between two bad ones was not reported: %q", out.String())
	}
}

// `bridge healthcheck` is the container's health check (no shell in the image).
func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	b := start(t, map[string]string{"BRIDGE_ADDR": "127.0.0.1:0", "BRIDGE_RULES_FILE": "testdata/rules.yaml"})
	addr := strings.TrimPrefix(b.URL, "http://")
	getenv := func(k string) string {
		if k == "BRIDGE_ADDR" {
			return addr
		}
		return ""
	}
	if err := run(context.Background(), []string{"healthcheck"}, getenv, nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("healthcheck of a running bridge: %v", err)
	}
	b.stop()
	if err := run(context.Background(), []string{"healthcheck"}, getenv, nil, io.Discard, io.Discard); err == nil {
		t.Fatal("healthcheck of a stopped bridge succeeded")
	}
}

// A delivery already queued keeps the rendering it was queued with, whatever
// a reload changes after.
func TestQueuedDeliveryKeepsItsRenderingAcrossReload(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "rules.yaml")
	writeRules(t, file, oneRule)
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	fake.Script(fake8x8.Response{Status: 503, Header: http.Header{"Retry-After": {"5"}}, Body: `{"code":2000,"message":"busy"}`})
	env := withRedis(t, baseEnv(t, fake))
	env["BRIDGE_RULES_FILE"] = file
	b := start(t, env)
	b.webhook(t, "/webhooks/zendesk/solved-sms", ticket("120", "solved", "", "9123 4567"), "")
	waitRequests(t, fake, 1)
	writeRules(t, file, strings.Replace(oneRule, "Ticket {{ticket.id}} solved", "Your ticket {{ticket.id}} is done", 1))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.logs.String(), "rules reloaded") {
		if time.Now().After(deadline) {
			t.Fatal("the edit was not reloaded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(fake.Requests()) != 1 {
		t.Fatal("the retry ran before the reload (Retry-After 5 s, reload ~0.1 s): nothing to compare")
	}
	reqs := waitRequests(t, fake, 2)
	if !strings.Contains(string(reqs[1].Body), `"Ticket 120 solved"`) {
		t.Fatalf("the retry was re-rendered with the new rules: %s", reqs[1].Body)
	}
}

// The runbook's 401 case: the API key was revoked, deliveries parked; once
// it is fixed, one command replays them all, and nothing else.
func TestBulkReplay(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	unauthorized := fake8x8.Response{Status: 401, Body: `{"code":1200,"message":"Unauthorized Access"}`}
	fake.Script(unauthorized, unauthorized, unauthorized,
		fake8x8.Response{Status: 400, Body: `{"code":1002,"message":"Invalid MSISDN","errorId":"e1","timestamp":"2026-11-27T00:00:00.00Z"}`})
	env := withRedis(t, baseEnv(t, fake))
	b := start(t, env)
	for i, id := range []string{"31", "32", "33", "34"} {
		if a := b.webhook(t, "/webhooks/zendesk/solved-sms", ticket(id, "solved", "", "9123 4567"), ""); a.Status != 202 {
			t.Fatalf("webhook %s: %d %s", id, a.Status, a.Raw)
		}
		awaitState(t, b, "parked", i+1) // its answer taken: the next webhook gets the next one
	}
	awaitState(t, b, "parked", 4)

	for query, code := range map[string]string{"": "missing_filter", "?status=abc": "invalid_filter", "?status=401&limit=0": "invalid_limit", "?all=maybe": "invalid_filter"} {
		if a := b.admin(t, http.MethodPost, "/deliveries/replay"+query, nil); a.Status != http.StatusBadRequest || a.Body["error"] != code {
			t.Fatalf("bulk replay%s: %d %s; want 400 %s", query, a.Status, a.Raw, code)
		}
	}
	if a := b.do(t, http.MethodPost, "/deliveries/replay?status=401", nil, nil); a.Status != http.StatusUnauthorized {
		t.Fatalf("bulk replay without the admin token: %d", a.Status)
	}

	// From a shell, one of them; then the rest over HTTP.
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"deliveries", "replay", "--status", "401", "--limit", "1"}, getenv, nil, &out, io.Discard); err != nil ||
		strings.Count(out.String(), "queued again\n") != 1 || !strings.Contains(out.String(), "1 parked deliveries matched") ||
		!strings.Contains(out.String(), "more parked deliveries match") {
		t.Fatalf("deliveries replay --status 401 --limit 1: %v\n%s", err, out.String())
	}
	if err := run(context.Background(), []string{"deliveries", "replay", "--rule"}, getenv, nil, &out, io.Discard); err == nil {
		t.Fatal("a flag without its value was accepted")
	}
	if err := run(context.Background(), []string{"deliveries", "replay", "--status", "-5"}, getenv, nil, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "not negative") {
		t.Fatalf("a negative status: %v", err)
	}
	if err := run(context.Background(), []string{"deliveries", "replay", "--limit", "5"}, getenv, nil, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "--all") {
		t.Fatalf("a bulk replay without a filter: %v", err)
	}
	a := b.admin(t, http.MethodPost, "/deliveries/replay?status=401&code=1200", nil)
	if a.Status != http.StatusAccepted || a.Body["replayed"] != float64(2) || len(a.Body["ids"].([]any)) != 2 || a.Body["more"] != false {
		t.Fatalf("bulk replay of the 401s: %d %s", a.Status, a.Raw)
	}
	waitRequests(t, fake, 7)
	awaitState(t, b, "sent", 3)
	if parked := awaitState(t, b, "parked", 1); len(parked) != 1 || parked[0]["last_status"] != float64(400) {
		t.Fatalf("still parked: %v; want only the 400", parked)
	}
	if a := b.admin(t, http.MethodPost, "/deliveries/replay?status=401", nil); a.Status != http.StatusOK || a.Body["matched"] != float64(0) || a.Body["warning"] != nil {
		t.Fatalf("nothing left to replay: %d %s", a.Status, a.Raw)
	}
	// A misspelt rule is told apart from a rule with nothing parked.
	if a := b.admin(t, http.MethodPost, "/deliveries/replay?rule=solved-smss", nil); a.Status != http.StatusOK ||
		!strings.Contains(fmt.Sprint(a.Body["warning"]), `no rule named "solved-smss"`) {
		t.Fatalf("bulk replay of an unknown rule: %d %s", a.Status, a.Raw)
	}
	out.Reset()
	if err := run(context.Background(), []string{"deliveries", "replay", "--rule", "solved-smss"}, getenv, nil, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), `no parked delivery of rule "solved-smss" matched`) {
		t.Fatalf("deliveries replay --rule solved-smss: %v\n%s", err, out.String())
	}
	if a := b.admin(t, http.MethodPost, "/deliveries/replay?rule=vip-whatsapp", nil); a.Status != http.StatusOK || a.Body["warning"] != nil {
		t.Fatalf("bulk replay of a known rule with nothing parked: %d %s", a.Status, a.Raw)
	}
	if n := len(fake.Requests()); n != 7 {
		t.Fatalf("%d requests, want 7 (4 first attempts, 3 replays)", n)
	}
}

// Settings that start but defeat themselves are warned of.
func TestStartupWarnings(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	env := baseEnv(t, fake)
	env["BRIDGE_RETRY_MAX_AGE"] = "10ms" // the same as BRIDGE_RETRY_BASE: no retry fits
	env["BRIDGE_SHUTDOWN_TIMEOUT"] = "2s"
	b := start(t, env)
	b.logs.await(t, "BRIDGE_RETRY_MAX_AGE is not longer than BRIDGE_RETRY_BASE")
	b.logs.await(t, "BRIDGE_SHUTDOWN_TIMEOUT is shorter than one 8x8 request")
}
