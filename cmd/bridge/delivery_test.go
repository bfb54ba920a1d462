package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender/fake8x8"
)

// 500, 503 then success: three requests with one clientMessageId.
func TestRetriesUntilAccepted(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	fake.Script(
		fake8x8.Response{Status: 500, Body: `{"code":2000,"message":"Internal Error"}`},
		fake8x8.Response{Status: 503, Body: `{"code":2000,"message":"Service Unavailable"}`},
	)
	b := start(t, withRedis(t, baseEnv(t, fake)))
	b.webhook(t, "/webhooks/zendesk/solved-sms", ticket("10", "solved", "", "9123 4567"), "")
	reqs := waitRequests(t, fake, 3)
	for _, r := range reqs {
		if r.ClientMessageID == "" || r.ClientMessageID != reqs[0].ClientMessageID {
			t.Fatalf("clientMessageIds differ: %q vs %q", r.ClientMessageID, reqs[0].ClientMessageID)
		}
	}
	sent := awaitState(t, b, "sent", 1)
	if sent[0]["attempts"].(float64) != 3 || sent[0]["umid"] == "" {
		t.Fatalf("sent delivery: %v", sent[0])
	}
}

// 429 with Retry-After is waited out as given.
func TestRateLimitHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	fake.Script(fake8x8.Response{Status: 429, Header: http.Header{"Retry-After": {"2"}}, Body: `{"code":1100,"message":"Too Many Requests"}`})
	env := withRedis(t, baseEnv(t, fake))
	env["BRIDGE_RETRY_MAX_ATTEMPTS"] = "1" // the rate-limit wait must not use it up
	b := start(t, env)
	b.webhook(t, "/webhooks/zendesk/solved-sms", ticket("11", "solved", "", "9123 4567"), "")
	reqs := waitRequests(t, fake, 2)
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 2*time.Second {
		t.Fatalf("retried %s after a 429 with Retry-After: 2", gap)
	}
	awaitState(t, b, "sent", 1)
}

// 400, 401 and 200-REJECTED: exactly one request each, then parked with
// 8x8's status, code and message; a replay sends again, same clientMessageId.
func TestPermanentFailuresParkAndReplay(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	fake.Script(
		fake8x8.Response{Status: 400, Body: `{"code":1002,"message":"Invalid MSISDN","errorId":"e1","timestamp":"2026-11-27T00:00:00.00Z"}`},
		fake8x8.Response{Status: 401, Body: `{"code":1200,"message":"Unauthorized Access"}`},
		fake8x8.Response{Status: 200, Body: `{"umid":"u-rej","destination":"+6591234567","encoding":"GSM7","status":{"code":"REJECTED","description":"Destination blocked"}}`},
	)
	b := start(t, withRedis(t, baseEnv(t, fake)))
	for i, id := range []string{"21", "22", "23"} {
		if a := b.webhook(t, "/webhooks/zendesk/solved-sms", ticket(id, "solved", "", "9123 4567"), ""); a.Status != 202 {
			t.Fatalf("webhook %s: %d %s", id, a.Status, a.Raw)
		}
		// One at a time, so the script answers in order: the fake records
		// a request before it takes its scripted answer, so wait for the
		// answer's effect (parked), not for the request.
		awaitState(t, b, "parked", i+1)
	}
	parked := awaitState(t, b, "parked", 3)
	byStatus := map[float64]map[string]any{}
	for _, p := range parked {
		byStatus[p["last_status"].(float64)] = p
		if p["to"] != "+6591****67" || p["attempts"].(float64) != 1 || p["parked_at"] == nil || p["rule"] != "solved-sms" {
			t.Fatalf("parked delivery: %v", p)
		}
	}
	if byStatus[400]["last_code"].(float64) != 1002 || byStatus[400]["last_message"] != "Invalid MSISDN" ||
		byStatus[401]["last_code"].(float64) != 1200 || !strings.Contains(byStatus[200]["last_message"].(string), "Destination blocked") {
		t.Fatalf("parked details: %v", byStatus)
	}
	// A REJECTED answer has no 8x8 code: null, not a code 0.
	if code, listed := byStatus[200]["last_code"]; !listed || code != nil {
		t.Fatalf("parked details: %v", byStatus)
	}
	if n := len(fake.Requests()); n != 3 {
		t.Fatalf("%d requests for three permanent failures, want 3", n)
	}
	// A cut listing says how many there are.
	if a := b.admin(t, http.MethodGet, "/deliveries?state=parked&limit=2", nil); len(a.Body["deliveries"].([]any)) != 2 ||
		a.Body["total"] != float64(3) || a.Body["limit"] != float64(2) {
		t.Fatalf("limit=2: %s", a.Raw)
	}

	id := byStatus[400]["id"].(string)
	// One delivery by id, also written with escapes; anything that cannot
	// be an id is refused without echoing it whole.
	if a := b.admin(t, http.MethodGet, "/deliveries/"+id, nil); a.Status != http.StatusOK || a.Body["id"] != id || a.Body["state"] != "parked" || a.Body["last_code"].(float64) != 1002 {
		t.Fatalf("GET one delivery: %d %s", a.Status, a.Raw)
	}
	if a := b.admin(t, http.MethodGet, "/deliveries/%"+fmt.Sprintf("%x", id[0])+id[1:], nil); a.Status != http.StatusOK || a.Body["id"] != id {
		t.Fatalf("GET an escaped id: %d %s", a.Status, a.Raw)
	}
	if a := b.admin(t, http.MethodGet, "/deliveries/"+strings.Repeat("x", 5000), nil); a.Status != http.StatusNotFound || a.Body["error"] != "unknown_delivery" || len(a.Raw) > 1000 {
		t.Fatalf("GET a long bad id: %d, %d bytes", a.Status, len(a.Raw))
	}
	if a := b.admin(t, http.MethodPost, "/deliveries/"+id+"/replay", nil); a.Status != http.StatusAccepted {
		t.Fatalf("replay: %d %s", a.Status, a.Raw)
	}
	reqs := waitRequests(t, fake, 4)
	first := ""
	for _, r := range reqs[:3] {
		if strings.Contains(string(r.Body), reqs[3].ClientMessageID) {
			first = r.ClientMessageID
		}
	}
	if first == "" {
		t.Fatalf("the replay's clientMessageId %q matches no earlier request", reqs[3].ClientMessageID)
	}
	awaitState(t, b, "sent", 1)
	if a := b.admin(t, http.MethodPost, "/deliveries/"+id+"/replay", nil); a.Status != http.StatusConflict || a.Body["error"] != "not_parked" ||
		a.Body["message"] != "Only parked deliveries can be replayed; this one is sent." {
		t.Fatalf("replaying a sent delivery: %d %s", a.Status, a.Raw)
	}
	if a := b.admin(t, http.MethodPost, "/deliveries/nope/replay", nil); a.Status != http.StatusNotFound || a.Body["error"] != "unknown_delivery" {
		t.Fatalf("replaying an unknown delivery: %d %s", a.Status, a.Raw)
	}
	if a := b.do(t, http.MethodGet, "/deliveries?state=parked", nil, nil); a.Status != http.StatusUnauthorized {
		t.Fatalf("deliveries without the admin token: %d", a.Status)
	}

	// Deleting a parked delivery drops it and frees its key.
	gone := byStatus[401]["id"].(string)
	if a := b.do(t, http.MethodDelete, "/deliveries/"+gone, nil, nil); a.Status != http.StatusUnauthorized {
		t.Fatalf("delete without the admin token: %d", a.Status)
	}
	if a := b.admin(t, http.MethodDelete, "/deliveries/"+id, nil); a.Status != http.StatusConflict || a.Body["error"] != "not_parked" {
		t.Fatalf("deleting a sent delivery: %d %s", a.Status, a.Raw)
	}
	if a := b.admin(t, http.MethodDelete, "/deliveries/"+gone, nil); a.Status != http.StatusOK || a.Body["state"] != "deleted" {
		t.Fatalf("delete: %d %s", a.Status, a.Raw)
	}
	if a := b.admin(t, http.MethodDelete, "/deliveries/"+gone, nil); a.Status != http.StatusNotFound || a.Body["error"] != "unknown_delivery" {
		t.Fatalf("deleting twice: %d %s", a.Status, a.Raw)
	}
	awaitState(t, b, "parked", 1)
	if a := b.webhook(t, "/webhooks/zendesk/solved-sms", ticket("22", "solved", "", "9123 4567"), ""); ruleResults(a)["solved-sms"]["result"] != "queued" {
		t.Fatalf("after delete, the ticket's key should fire again: %s", a.Raw)
	}
	waitRequests(t, fake, 5)
}

// awaitState polls the operator's listing until n deliveries are in state:
// the bridge gives no other signal that a worker has finished.
func awaitState(t *testing.T, b *bridge, state string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := b.admin(t, http.MethodGet, "/deliveries?state="+state, nil)
		ds, _ := a.Body["deliveries"].([]any)
		if len(ds) >= n {
			out := make([]map[string]any, 0, len(ds))
			for _, d := range ds {
				out = append(out, d.(map[string]any))
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries %s after 30s, want %d: %s", len(ds), state, n, a.Raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
