package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/queue"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
)

func scrape(t *testing.T, m *Metrics) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestMetricsCount(t *testing.T) {
	t.Parallel()
	m := New("v1", func(context.Context) (map[queue.State]int, error) {
		return map[queue.State]int{queue.Parked: 3, queue.Queued: 1}, nil
	})
	sms := queue.Delivery{Message: sender.Message{Channel: sender.SMS}}
	m.Webhook("accepted")
	m.RuleResult("solved-sms", "queued")
	m.Attempted(sms, sender.Result{Outcome: sender.Sent, Status: 200, Latency: 20 * time.Millisecond})
	m.Attempted(sms, sender.Result{Outcome: sender.Retryable, Status: 0})
	m.Attempted(sms, sender.Result{Outcome: sender.Sent}) // dry run: no HTTP status
	m.Retried(sms, true)
	m.Finished(sms, queue.Parked)
	m.Reload(false)
	code, body := scrape(t, m)
	for _, want := range []string{
		`bridge_webhooks_total{outcome="accepted"} 1`,
		`bridge_rule_results_total{result="queued",rule="solved-sms"} 1`,
		`bridge_8x8_request_duration_seconds_count{channel="sms",status="2xx"} 1`,
		`bridge_8x8_request_duration_seconds_count{channel="sms",status="error"} 1`,
		`bridge_8x8_request_duration_seconds_count{channel="sms",status="dry_run"} 1`,
		`bridge_retries_total{channel="sms",reason="rate_limited"} 1`,
		`bridge_deliveries_total{channel="sms",outcome="parked"} 1`,
		`bridge_rule_reloads_total{result="failure"} 1`,
		`bridge_queue_depth{state="parked"} 3`,
		`bridge_queue_depth{state="queued"} 1`,
		`bridge_store_up 1`,
		`bridge_build_info{version="v1"} 1`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("scrape (%d) lacks %s", code, want)
		}
	}
}

// With the store away the other metrics are still served.
func TestMetricsWithoutStore(t *testing.T) {
	t.Parallel()
	m := New("v1", func(context.Context) (map[queue.State]int, error) { return nil, errors.New("connection refused") })
	m.Webhook("store_unavailable")
	code, body := scrape(t, m)
	if code != 200 || !strings.Contains(body, `bridge_webhooks_total{outcome="store_unavailable"} 1`) || strings.Contains(body, "bridge_queue_depth{") || !strings.Contains(body, "bridge_store_up 0") {
		t.Fatalf("scrape %d:\n%s", code, body)
	}
}

// The series alerts are written on exist at 0 from the start, so that the
// first parked delivery after a start is an increase.
func TestAlertSeriesStartAtZero(t *testing.T) {
	t.Parallel()
	m := New("v1", func(context.Context) (map[queue.State]int, error) { return nil, nil })
	_, body := scrape(t, m)
	for _, want := range []string{
		`bridge_deliveries_total{channel="sms",outcome="parked"} 0`,
		`bridge_deliveries_total{channel="whatsapp",outcome="parked"} 0`,
		`bridge_deliveries_total{channel="whatsapp",outcome="sent"} 0`,
		`bridge_retries_total{channel="sms",reason="error"} 0`,
		`bridge_webhooks_total{outcome="unauthorized"} 0`,
		`bridge_webhooks_total{outcome="store_unavailable"} 0`,
		`bridge_rule_reloads_total{result="failure"} 0`,
		`bridge_store_resets_total 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("a fresh scrape lacks %s", want)
		}
	}
}
