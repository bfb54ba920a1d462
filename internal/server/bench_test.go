package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/metrics"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/queue"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/templates"
)

// acceptQueue takes every delivery and stores nothing: the benchmark
// measures the handler, not Redis.
type acceptQueue struct{ flakyQueue }

func (*acceptQueue) Enqueue(context.Context, queue.Delivery, time.Duration) (bool, queue.State, error) {
	return true, "", nil
}

// BenchmarkWebhook is the webhook handler's own work per request (bearer
// auth, decode, one SMS rule, log line, metrics, answer), without the
// store: the part of the Accept benchmark (cmd/bridge) that is the bridge's
// and not the baseline's, plus what both do. Its allocations are the
// garbage the Accept benchmark pays for.
func BenchmarkWebhook(b *testing.B) {
	set, err := rules.Parse("rules.yaml", []byte(`version: 1
defaults: {country: SG, sms: {subaccount: Bench_SMS, source: BenchSupport}}
rules:
  - name: solved-sms
    when: {status: [solved]}
    sms: {text: "Update for ticket #{{ticket.id}} ({{ticket.status}}). View: {{ticket.link}}"}
`), rules.Options{Engine: templates.New(), Country: phone.Country})
	if err != nil {
		b.Fatal(err)
	}
	h := New(Options{
		Rules: fixedRules{set}, Queue: &acceptQueue{}, Sender: nopSender{}, Requester: sender.NewClient(sender.Options{}),
		Metrics: metrics.New("bench", func(context.Context) (map[queue.State]int, error) { return nil, nil }),
		Log:     zerolog.New(io.Discard), Now: time.Now, MaxBody: 256 << 10, MaxSkew: time.Minute,
		ZendeskToken: "zd", Durable: true,
	})
	body := []byte(`{"ticket":{"id":"1000123","link":"https://acme.zendesk.com/agent/tickets/1000123","requester":{"name":"Mei Ling","phone":"9123 4567"},"status":"solved","tags":""}}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/zendesk", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer zd")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
