// Package metrics exposes what the bridge does to Prometheus.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/queue"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
)

// Metrics holds the bridge's collectors on a registry of its own, so two
// bridges in one test process never share counters.
type Metrics struct {
	reg        *prometheus.Registry
	webhooks   *prometheus.CounterVec
	rules      *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	attempts   *prometheus.HistogramVec
	retries    *prometheus.CounterVec
	reloads    *prometheus.CounterVec
	resets     prometheus.Counter
}

// New registers every collector. depth reads the queue's depth on scrape.
func New(version string, depth func(context.Context) (map[queue.State]int, error)) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_webhooks_total", Help: "Zendesk webhooks answered, by outcome (the HTTP answer's meaning).",
		}, []string{"outcome"}),
		rules: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_rule_results_total", Help: "Per-rule results of webhooks: queued, duplicate, skipped, refused.",
		}, []string{"rule", "result"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_deliveries_total", Help: "Deliveries that finished, by channel and outcome (sent or parked).",
		}, []string{"channel", "outcome"}),
		attempts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bridge_8x8_request_duration_seconds",
			Help:    "8x8 request latency by channel and status class (2xx, 4xx, 5xx, error).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"channel", "status"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_retries_total", Help: "Retries scheduled, by channel and reason (rate_limited or error).",
		}, []string{"channel", "reason"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_rule_reloads_total", Help: "rules.yaml loads, by result (success or failure).",
		}, []string{"result"}),
		resets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_store_resets_total", Help: "Times the store came back without its data (deliveries and fire-once claims lost).",
		}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "bridge_build_info", Help: "Build of the running bridge.", ConstLabels: prometheus.Labels{"version": version},
	})
	build.Set(1)
	m.zero()
	m.reg.MustRegister(m.webhooks, m.rules, m.deliveries, m.attempts, m.retries, m.reloads, m.resets, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&depthCollector{depth: depth, desc: prometheus.NewDesc("bridge_queue_depth",
			"Deliveries in the queue by state (queued, active, retrying, parked, sent).", []string{"state"}, nil),
			up: prometheus.NewDesc("bridge_store_up", "1 when the store answered this scrape, 0 when it did not.", nil, nil)})
	return m
}

// zero creates the series alerts are written on, at 0: a counter that
// first appears at 1 is not an increase to Prometheus, so the first parked
// delivery after a start would not fire "increase(...parked...) > 0".
func (m *Metrics) zero() {
	for _, o := range []string{"accepted", "no_match", "unusable", "unauthorized", "malformed", "too_large", "unreadable", "unknown_rule", "store_unavailable", "busy"} {
		m.webhooks.WithLabelValues(o)
	}
	for _, ch := range []sender.Channel{sender.SMS, sender.WhatsApp} {
		for _, s := range []queue.State{queue.Sent, queue.Parked} {
			m.deliveries.WithLabelValues(string(ch), string(s))
		}
		for _, r := range []string{"rate_limited", "error"} {
			m.retries.WithLabelValues(string(ch), r)
		}
	}
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	// A store that does not answer must not take every other metric down
	// with the queue depth: that is when they are needed.
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// StoreReset counts a store that came back without its data.
func (m *Metrics) StoreReset() { m.resets.Inc() }

// Webhook counts one answered webhook.
func (m *Metrics) Webhook(outcome string) { m.webhooks.WithLabelValues(outcome).Inc() }

// RuleResult counts one rule's result in a webhook.
func (m *Metrics) RuleResult(rule, result string) { m.rules.WithLabelValues(rule, result).Inc() }

// Reload counts one rules load.
func (m *Metrics) Reload(ok bool) {
	if ok {
		m.reloads.WithLabelValues("success").Inc()
	} else {
		m.reloads.WithLabelValues("failure").Inc()
	}
}

// Attempted implements queue.Observer.
func (m *Metrics) Attempted(d queue.Delivery, r sender.Result) {
	class := "error"
	switch {
	case r.Status > 0:
		class = strconv.Itoa(r.Status/100) + "xx"
	case r.Outcome == sender.Sent:
		class = "dry_run" // sent without an HTTP exchange
	}
	m.attempts.WithLabelValues(string(d.Message.Channel), class).Observe(r.Latency.Seconds())
}

// Finished implements queue.Observer.
func (m *Metrics) Finished(d queue.Delivery, s queue.State) {
	m.deliveries.WithLabelValues(string(d.Message.Channel), string(s)).Inc()
}

// Retried implements queue.Observer.
func (m *Metrics) Retried(d queue.Delivery, rateLimited bool) {
	reason := "error"
	if rateLimited {
		reason = "rate_limited"
	}
	m.retries.WithLabelValues(string(d.Message.Channel), reason).Inc()
}

type depthCollector struct {
	depth func(context.Context) (map[queue.State]int, error)
	desc  *prometheus.Desc
	up    *prometheus.Desc
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.up }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d, err := c.depth(ctx)
	if err != nil {
		// The store is away: no depth, rather than a wrong one, and a
		// series an alert can fire on.
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, s := range queue.States {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(d[s]), string(s))
	}
}
