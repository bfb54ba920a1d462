package main

// Macro benchmarks of the real bridge (run(), on the real Redis), reported as
// figures and ratios against a baseline measured in the same run; see
// bench/README.md and bench/run.sh. They never assert on time: a benchmark
// fails only when the bridge answers something other than 202, loses a
// delivery, or misses a generous deadline.
//
//	go test -run '^$' -bench 'Accept|Latency|Drain' -benchtime 1x ./cmd/bridge
//
// They need a Redis (BRIDGE_TEST_REDIS_URL, default redis://127.0.0.1:6379/0)
// and skip without one. Each uses queues of its own and deletes their keys.
//
// The harness's start/withRedis/baseEnv take a *testing.T, which a benchmark
// does not have, so benchStart below does what start does for a testing.TB.
// signed() and ticket() are the harness's own.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/redistest"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

const (
	benchRules       = "../../bench/rules.yaml" // one SMS rule; the test runs in cmd/bridge
	benchConcurrency = 32                       // concurrent keep-alive HTTP clients
	benchPhone       = "9123 4567"              // a valid SG mobile
)

// benchInt reads a positive integer knob from the environment (bench/run.sh
// passes them through), else def.
func benchInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchRedis is the Redis the benchmarks use: BRIDGE_TEST_REDIS_URL, or the
// local default. No answer: skip (fail under BRIDGE_TEST_REDIS_REQUIRED=1).
func benchRedis(b *testing.B) string {
	b.Helper()
	url := cmp.Or(os.Getenv("BRIDGE_TEST_REDIS_URL"), "redis://127.0.0.1:6379/0")
	opt, err := redis.ParseURL(url)
	if err != nil {
		b.Fatalf("BRIDGE_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		msg := fmt.Sprintf("benchmark needs a real Redis, but %s does not answer (%v); start one "+
			"(redis-server --port 6379) or set BRIDGE_TEST_REDIS_URL, or use bench/run.sh", url, err)
		if os.Getenv("BRIDGE_TEST_REDIS_REQUIRED") == "1" {
			b.Fatal(msg)
		}
		b.Skip(msg)
	}
	return url
}

// benchSeq makes every ticket id of a run distinct, across benchmarks too.
var benchSeq atomic.Int64

// benchFake is an 8x8 that answers QUEUED (after an optional delay) without
// schema validation, which would dominate the CPU here. It records when the
// first request for each ticket arrived (the ticket id is read from the SMS
// text, "... ticket #ID ...").
type benchFake struct {
	URL   string
	delay time.Duration

	mu      sync.Mutex
	arrived map[string]time.Time
	waiters []benchWaiter
	umid    atomic.Int64
	conns   atomic.Int64 // TCP connections the bridge opened to it
}

type benchWaiter struct {
	n  int
	ch chan struct{}
}

func newBenchFake(b *testing.B, delay time.Duration) *benchFake {
	f := &benchFake{delay: delay, arrived: map[string]time.Time{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	benchLabel("fake8x8", srv.Start)
	b.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *benchFake) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	var m struct {
		Text            string `json:"text"`
		ClientMessageID string `json:"clientMessageId"`
		Destination     string `json:"destination"`
	}
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &m)
	_, id, _ := strings.Cut(m.Text, "#")
	id, _, _ = strings.Cut(id, " ")

	f.mu.Lock()
	if _, seen := f.arrived[id]; !seen && id != "" {
		f.arrived[id] = at
		n := len(f.arrived)
		f.waiters = slices.DeleteFunc(f.waiters, func(wt benchWaiter) bool {
			if n >= wt.n {
				close(wt.ch)
				return true
			}
			return false
		})
	}
	f.mu.Unlock()

	if f.delay > 0 {
		t := time.NewTimer(f.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"umid":"bench-%d","clientMessageId":%q,"destination":%q,"encoding":"GSM7","status":{"code":"QUEUED","description":"ok"}}`,
		f.umid.Add(1), m.ClientMessageID, strings.TrimPrefix(m.Destination, "+"))
}

// wait blocks until n distinct tickets have arrived, or the deadline.
func (f *benchFake) wait(n int, timeout time.Duration) error {
	f.mu.Lock()
	if len(f.arrived) >= n {
		f.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	f.waiters = append(f.waiters, benchWaiter{n, ch})
	f.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("8x8 received %d of %d deliveries within %s", f.count(), n, timeout)
	}
}

func (f *benchFake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.arrived)
}

func (f *benchFake) at(id string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.arrived[id]
	return t, ok
}

// benchStartLog watches the bridge's log for the startup line, then throws
// every line away: io.Discard once the address is known.
type benchStartLog struct {
	started atomic.Bool
	mu      sync.Mutex
	early   bytes.Buffer // lines before the startup line, for error messages
	ready   chan benchListening
}

type benchListening struct {
	Message string `json:"message"`
	Addr    string `json:"addr"`
	Workers int    `json:"workers"`
}

func (l *benchStartLog) Write(p []byte) (int, error) {
	if l.started.Load() {
		return len(p), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started.Load() {
		return len(p), nil
	}
	for line := range bytes.Lines(p) {
		var s benchListening
		if json.Unmarshal(line, &s) == nil && s.Message == "bridge listening" {
			l.started.Store(true)
			l.ready <- s
			return len(p), nil
		}
		l.early.Write(line)
	}
	return len(p), nil
}

// benchBridge is a running bridge: run() in this process.
type benchBridge struct {
	URL     string
	Workers int
}

// benchStart runs the real bridge with default settings (but for extra) on a
// queue of its own in the Redis at redisURL, sending to fake; stopped at
// cleanup. label names its goroutines in CPU profiles (see benchLabel).
func benchStart(b *testing.B, label, redisURL string, fake *benchFake, extra ...string) *benchBridge {
	b.Helper()
	env := map[string]string{
		"BRIDGE_ADDR":                   "127.0.0.1:0",
		"BRIDGE_RULES_FILE":             benchRules,
		"BRIDGE_REDIS_URL":              redisURL,
		"BRIDGE_QUEUE":                  redistest.Queue(b, redisURL),
		"BRIDGE_8X8_API_KEY":            testAPIKey,
		"BRIDGE_8X8_SMS_URL":            fake.URL,
		"BRIDGE_8X8_CHATAPPS_URL":       fake.URL,
		"BRIDGE_ZENDESK_SIGNING_SECRET": testSecret,
		"BRIDGE_SHUTDOWN_TIMEOUT":       "5s",
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	logs := &benchStartLog{ready: make(chan benchListening, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go benchLabel(label, func() {
		done <- run(ctx, nil, func(k string) string { return env[k] }, environOf(env), logs, io.Discard)
	})
	// Cleanups run last-in first-out: the bridge stops before its queue's
	// keys are deleted and before the fake 8x8 closes.
	b.Cleanup(func() { cancel(); <-done })
	select {
	case s := <-logs.ready:
		return &benchBridge{URL: "http://" + s.Addr, Workers: s.Workers}
	case err := <-done:
		logs.mu.Lock()
		defer logs.mu.Unlock()
		b.Fatalf("bridge exited before listening: %v\n%s", err, logs.early.String())
	case <-time.After(20 * time.Second):
		b.Fatal("bridge did not start within 20s")
	}
	return nil
}

// benchBaseline is the least a bridge must do per webhook, on the same
// stack: Echo, zendesk.Verify, zendesk.DecodeBody and one asynq enqueue with
// a TaskID (the fire-once claim) on the same Redis. No rules, no rendering,
// no worker.
func benchBaseline(b *testing.B, redisURL string) string {
	b.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		b.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	client := asynq.NewClientFromRedisClient(rdb)
	queueName := redistest.Queue(b, redisURL)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	e.POST("/webhooks/zendesk", func(c echo.Context) error {
		req := c.Request()
		body, err := io.ReadAll(io.LimitReader(req.Body, 256<<10))
		if err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "unreadable_body"})
		}
		if err := zendesk.Verify([]string{testSecret}, req.Header.Get(zendesk.HeaderTimestamp), req.Header.Get(zendesk.HeaderSignature),
			body, time.Now(), 5*time.Minute); err != nil {
			return c.JSON(http.StatusUnauthorized, map[string]string{"error": "unauthorized", "message": err.Error()})
		}
		data, err := zendesk.DecodeBody(body)
		if err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "malformed_json", "message": err.Error()})
		}
		v, _ := zendesk.Lookup(data, "ticket.id")
		id := zendesk.Text(v)
		_, err = client.EnqueueContext(req.Context(), asynq.NewTask("bench:delivery", body),
			asynq.TaskID("solved-sms:"+id), asynq.Queue(queueName))
		switch {
		case errors.Is(err, asynq.ErrTaskIDConflict):
			return c.JSON(http.StatusAccepted, map[string]string{"result": "accepted", "ticket": id, "rule": "duplicate"})
		case err != nil:
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"error": "store_unavailable"})
		}
		return c.JSON(http.StatusAccepted, map[string]string{"result": "accepted", "ticket": id, "rule": "queued"})
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go benchLabel("baseline", func() { _ = srv.Serve(ln) })
	b.Cleanup(func() { _ = srv.Close(); _ = client.Close() })
	return "http://" + ln.Addr().String()
}

// benchLabel runs f with the pprof label bench=side; goroutines f starts
// (a server's connections, the bridge's workers) inherit it, so a CPU
// profile splits by side: go tool pprof -tagfocus bench=bridge ...
func benchLabel(side string, f func()) {
	pprof.Do(context.Background(), pprof.Labels("bench", side), func(context.Context) { f() })
}

// benchCPU is CPU time used so far by this process (load generator, bridge,
// baseline and fake 8x8 alike) and by the Redis server.
type benchCPU struct{ proc, redis time.Duration }

func benchCPUNow(ctx context.Context, rdb *redis.Client) benchCPU {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	c := benchCPU{proc: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	info, _ := rdb.Info(ctx, "cpu").Result()
	for line := range strings.Lines(info) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			c.redis += time.Duration(f * float64(time.Second))
		}
	}
	return c
}

func (c benchCPU) sub(d benchCPU) benchCPU { return benchCPU{c.proc - d.proc, c.redis - d.redis} }
func (c benchCPU) add(d benchCPU) benchCPU { return benchCPU{c.proc + d.proc, c.redis + d.redis} }

// perReq is microseconds per request.
func perReq(d time.Duration, n int) float64 {
	return float64(d) / float64(time.Microsecond) / float64(n)
}

// benchRequest is one signed webhook, prepared before the clock starts.
type benchRequest struct {
	ticket string
	body   []byte
	header http.Header
}

// benchRequests prepares n webhooks for distinct solved tickets.
func benchRequests(n int) []benchRequest {
	reqs := make([]benchRequest, n)
	for i := range reqs {
		id := strconv.FormatInt(1_000_000+benchSeq.Add(1), 10)
		body := ticket(id, "solved", "", benchPhone)
		reqs[i] = benchRequest{ticket: id, body: body, header: signed(body, "")}
	}
	return reqs
}

// benchClient keeps a connection per concurrent client alive (the default
// transport keeps only 2 idle connections per host).
func benchClient(b *testing.B) *http.Client {
	tr := &http.Transport{MaxIdleConns: 4 * benchConcurrency, MaxIdleConnsPerHost: 4 * benchConcurrency, IdleConnTimeout: time.Minute}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// post sends one webhook and reads the whole answer; anything but 202 is an error.
func (r benchRequest) post(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/webhooks/zendesk", bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	req.Header = r.header.Clone()
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("ticket %s: %d %s", r.ticket, resp.StatusCode, bytes.TrimSpace(raw))
	}
	return nil
}

// benchFire posts reqs with conc concurrent clients as fast as they are answered.
// accepted, if not nil, is called with each request's index when its 202 is
// read. It returns the wall time from the first send to the last answer.
func benchFire(ctx context.Context, c *http.Client, url string, reqs []benchRequest, conc int, accepted func(i int)) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	begin := time.Now()
	for range conc {
		wg.Go(func() {
			benchLabel("client", func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= len(reqs) || ctx.Err() != nil {
						return
					}
					if err := reqs[i].post(ctx, c, url); err != nil {
						once.Do(func() { firstErr = err; cancel() })
						return
					}
					if accepted != nil {
						accepted(i)
					}
				}
			})
		})
	}
	wg.Wait()
	return time.Since(begin), firstErr
}

// benchPercentile is the p-th of sorted durations (nearest rank), in milliseconds.
func benchPercentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i]) / float64(time.Millisecond)
}

// benchOrders are the orders of BenchmarkAccept's sides (indexes into its
// sides) in successive rounds: all six, so that over six rounds each side
// is first, second and last twice and follows each other side as often.
// An A/A check (BENCH_ACCEPT_AA) with baseline, path, bridge, then the
// reverse, gave 1.00 to 1.05: the middle place alone was worth up to 5%.
var benchOrders = [][3]int{{0, 1, 2}, {2, 0, 1}, {1, 2, 0}, {0, 2, 1}, {1, 0, 2}, {2, 1, 0}}

// BenchmarkAccept: accepted signed webhooks per second, the real bridge
// against the baseline (benchBaseline), same Redis, same client, same
// concurrency, in this run. Three sides take turns in legs, in a new order
// each round (benchOrders), BENCH_ACCEPT_ROUNDS rounds of
// BENCH_ACCEPT_REQUESTS webhooks per side, so that whatever else the
// machine does falls on all of them and no side owns a position:
//
//   - path is the bridge's webhook path, the like-for-like comparison with
//     the baseline, which sends nothing: a bridge whose workers are held
//     back (BRIDGE_8X8_RATE_LIMIT=1), so that it only accepts.
//   - bridge is the whole bridge with default settings: its workers send
//     (at most BRIDGE_8X8_RATE_LIMIT=600/s) to a fake 8x8 in this process
//     while it accepts. Between legs they finish the deliveries its last
//     leg queued, so no side pays for another's backlog.
//
// BENCH_ACCEPT_AA=1 puts a second baseline in the path's slot (an A/A
// check of the harness: its path-ratio should be 1).
//
// path-ratio and ratio are path/baseline and bridge/baseline over all legs;
// *-med are the medians of the rounds' ratios (robust to a burst of outside
// load). *-cpu-us/req is this process's CPU (client, server, fake 8x8, GC)
// and *-redis-us/req the Redis server's, per accepted webhook, during legs.
func BenchmarkAccept(b *testing.B) {
	redisURL := benchRedis(b)
	rounds := benchInt("BENCH_ACCEPT_ROUNDS", len(benchOrders))
	perLeg := benchInt("BENCH_ACCEPT_REQUESTS", 6000)

	fake := newBenchFake(b, 0)
	type side struct {
		name      string
		url       string
		delivers  bool // wait for its deliveries between legs
		dur       time.Duration
		cpu       benchCPU
		n         int
		roundDurs []time.Duration
	}
	path := &side{name: "path"}
	if os.Getenv("BENCH_ACCEPT_AA") == "1" {
		// The A/A check: a second baseline in the path's slot measures
		// what the slot itself is worth; its ratio should be 1.
		path.url = benchBaseline(b, redisURL)
	} else {
		// An 8x8 of its own, so that its trickle does not count for the other.
		path.url = benchStart(b, "path", redisURL, newBenchFake(b, 0), "BRIDGE_8X8_RATE_LIMIT=1").URL
	}
	sides := []*side{
		{name: "baseline", url: benchBaseline(b, redisURL)},
		path,
		{name: "bridge", url: benchStart(b, "bridge", redisURL, fake).URL, delivers: true},
	}
	client := benchClient(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opt, _ := redis.ParseURL(redisURL)
	rdb := redis.NewClient(opt)
	defer rdb.Close()

	delivered := 0 // deliveries the whole bridge has queued so far, all waited for
	leg := func(s *side, n int) (time.Duration, benchCPU) {
		reqs := benchRequests(n)
		// Each leg starts with a clean heap: the garbage of the last leg
		// (or of the whole bridge's drain) is not collected on its time.
		runtime.GC()
		before := benchCPUNow(ctx, rdb)
		d, err := benchFire(ctx, client, s.url, reqs, benchConcurrency, nil)
		cpu := benchCPUNow(ctx, rdb).sub(before)
		if err != nil {
			b.Fatalf("posting to the %s: %v", s.name, err)
		}
		if s.delivers {
			delivered += n
			if err := fake.wait(delivered, 2*time.Minute); err != nil {
				b.Fatalf("bridge backlog: %v", err)
			}
		}
		return d, cpu
	}
	// Warm all: connections, Redis scripts loaded, pools filled.
	for _, s := range sides {
		leg(s, benchConcurrency*10)
	}

	b.ResetTimer()
	for range b.N {
		for r := range rounds {
			for _, i := range benchOrders[r%len(benchOrders)] {
				s := sides[i]
				d, cpu := leg(s, perLeg)
				s.dur, s.cpu, s.n = s.dur+d, s.cpu.add(cpu), s.n+perLeg
				s.roundDurs = append(s.roundDurs, d)
			}
		}
	}
	b.StopTimer()
	// One line per side: go test keeps only the first ten lines a
	// benchmark logs.
	for _, s := range sides[1:] {
		var rs strings.Builder
		for r, d := range s.roundDurs {
			fmt.Fprintf(&rs, " %.2f", sides[0].roundDurs[r].Seconds()/d.Seconds())
		}
		b.Logf("%s/baseline by round:%s", s.name, rs.String())
	}
	base := sides[0]
	rate := func(s *side) float64 { return float64(s.n) / s.dur.Seconds() }
	medianRatio := func(s *side) float64 {
		var rs []float64
		for i, d := range s.roundDurs {
			rs = append(rs, base.roundDurs[i].Seconds()/d.Seconds())
		}
		slices.Sort(rs)
		return rs[len(rs)/2]
	}
	b.ReportMetric(0, "ns/op")
	for _, s := range sides {
		b.ReportMetric(rate(s), s.name+"-req/s")
		b.ReportMetric(perReq(s.cpu.proc, s.n), s.name+"-cpu-us/req")
		b.ReportMetric(perReq(s.cpu.redis, s.n), s.name+"-redis-us/req")
	}
	b.ReportMetric(rate(sides[1])/rate(base), "path-ratio")
	b.ReportMetric(medianRatio(sides[1]), "path-ratio-med")
	b.ReportMetric(rate(sides[2])/rate(base), "ratio")
	b.ReportMetric(medianRatio(sides[2]), "ratio-med")
}

// BenchmarkLatency: from the webhook's 202 (as read by the client) to the
// fake 8x8 receiving that ticket's SMS, at a steady 100 webhooks/s.
func BenchmarkLatency(b *testing.B) {
	redisURL := benchRedis(b)
	total := benchInt("BENCH_LATENCY_REQUESTS", 1000)
	rate := benchInt("BENCH_LATENCY_RATE", 100)

	fake := newBenchFake(b, 0)
	bridge := benchStart(b, "bridge", redisURL, fake)
	client := benchClient(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Warm up: a few webhooks, all delivered.
	warm := benchRequests(20)
	if _, err := benchFire(ctx, client, bridge.URL, warm, 4, nil); err != nil {
		b.Fatal(err)
	}
	if err := fake.wait(len(warm), 30*time.Second); err != nil {
		b.Fatal(err)
	}
	delivered := len(warm)

	var e2e, accept []time.Duration
	b.ResetTimer()
	for range b.N {
		reqs := benchRequests(total)
		acceptedAt := make([]time.Time, total)
		sentAt := make([]time.Time, total)
		errs := make(chan error, total)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		var wg sync.WaitGroup
		for i := range reqs {
			if i > 0 {
				<-tick.C
			}
			wg.Go(func() {
				sentAt[i] = time.Now()
				if err := reqs[i].post(ctx, client, bridge.URL); err != nil {
					errs <- err
					return
				}
				acceptedAt[i] = time.Now()
			})
		}
		tick.Stop()
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		delivered += total
		if err := fake.wait(delivered, time.Minute); err != nil {
			b.Fatal(err)
		}
		for i, r := range reqs {
			at, ok := fake.at(r.ticket)
			if !ok {
				b.Fatalf("ticket %s never reached 8x8", r.ticket)
			}
			e2e = append(e2e, at.Sub(acceptedAt[i]))
			accept = append(accept, acceptedAt[i].Sub(sentAt[i]))
		}
	}
	b.StopTimer()
	slices.Sort(e2e)
	slices.Sort(accept)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(benchPercentile(e2e, 0.50), "p50-ms")
	b.ReportMetric(benchPercentile(e2e, 0.99), "p99-ms")
	b.ReportMetric(benchPercentile(e2e, 1), "max-ms")
	b.ReportMetric(benchPercentile(accept, 0.50), "accept-p50-ms")
	b.ReportMetric(benchPercentile(accept, 0.99), "accept-p99-ms")
}

// BenchmarkDrain: 10,000 webhooks posted as fast as the bridge takes them
// (32 clients) into an 8x8 that answers after 100 ms; the time from the
// first post to the 10,000th 8x8 request, against the floor the worker
// pool allows (n × 100 ms / workers).
func BenchmarkDrain(b *testing.B) {
	redisURL := benchRedis(b)
	total := benchInt("BENCH_DRAIN_REQUESTS", 10000)
	const delay = 100 * time.Millisecond

	fake := newBenchFake(b, delay)
	bridge := benchStart(b, "bridge", redisURL, fake)
	client := benchClient(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	var drain, post time.Duration
	delivered := 0
	b.ResetTimer()
	for range b.N {
		reqs := benchRequests(total)
		begin := time.Now()
		d, err := benchFire(ctx, client, bridge.URL, reqs, benchConcurrency, nil)
		if err != nil {
			b.Fatal(err)
		}
		post += d
		delivered += total
		if err := fake.wait(delivered, 3*time.Minute); err != nil {
			b.Fatal(err)
		}
		var last time.Time
		for _, r := range reqs {
			if at, _ := fake.at(r.ticket); at.After(last) {
				last = at
			}
		}
		drain += last.Sub(begin)
	}
	b.StopTimer()
	n := float64(b.N)
	floor := float64(total) * delay.Seconds() / float64(bridge.Workers)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(drain.Seconds()/n, "drain-s")
	b.ReportMetric(post.Seconds()/n, "post-s")
	b.ReportMetric(floor, "floor-s")
	b.ReportMetric(drain.Seconds()/n/floor, "x-floor")
	b.ReportMetric(float64(bridge.Workers), "workers")
	b.ReportMetric(float64(fake.conns.Load())/n, "8x8-conns")
}
