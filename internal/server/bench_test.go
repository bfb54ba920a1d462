package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/metrics"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/queue"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/templates"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
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
// garbage the Accept benchmark pays for. The baseline sub-benchmark is the
// Accept baseline's handler (cmd/bridge benchBaseline) in the same harness,
// with the same auth and no store either, so bridge ÷ baseline is the
// handler's share of the Accept ratio.
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
	bridge := New(Options{
		Rules: fixedRules{set}, Queue: &acceptQueue{}, Sender: nopSender{}, Requester: sender.NewClient(sender.Options{}),
		Metrics: metrics.New("bench", func(context.Context) (map[queue.State]int, error) { return nil, nil }),
		Log:     zerolog.New(io.Discard), Now: time.Now, MaxBody: 256 << 10, MaxSkew: time.Minute,
		ZendeskToken: "zd", Durable: true,
	})
	body := []byte(`{"ticket":{"id":"1000123","link":"https://acme.zendesk.com/agent/tickets/1000123","requester":{"name":"Mei Ling","phone":"9123 4567"},"status":"solved","tags":""}}`)
	for _, side := range []struct {
		name string
		h    http.Handler
	}{{"bridge", bridge}, {"baseline", baselineHandler()}} {
		b.Run(side.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/webhooks/zendesk", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer zd")
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				side.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusAccepted {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// baselineHandler is cmd/bridge's benchBaseline without its enqueue:
// Echo, read, authenticate, decode, look up the ticket id, answer.
func baselineHandler() http.Handler {
	e := echo.New()
	e.POST("/webhooks/zendesk", func(c echo.Context) error {
		req := c.Request()
		body, err := io.ReadAll(io.LimitReader(req.Body, 256<<10))
		if err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "unreadable_body"})
		}
		if !bearer(req, "zd") {
			return c.JSON(http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		}
		data, err := zendesk.DecodeBody(body)
		if err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "malformed_json", "message": err.Error()})
		}
		v, _ := zendesk.Lookup(data, "ticket.id")
		id := zendesk.Text(v)
		return c.JSON(http.StatusAccepted, map[string]string{"result": "accepted", "ticket": id, "rule": "queued"})
	})
	return e
}
