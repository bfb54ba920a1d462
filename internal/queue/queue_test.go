package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/dedupe"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/redistest"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
)

// backends runs a test on the embedded store and on a real Redis.
func backends(t *testing.T, f func(t *testing.T, newClient func() redis.UniversalClient, name string)) {
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		m := miniredis.RunT(t)
		f(t, func() redis.UniversalClient {
			c := redis.NewClient(&redis.Options{Addr: m.Addr()})
			t.Cleanup(func() { c.Close() })
			return c
		}, "bridge")
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		url := redistest.URL(t)
		name := redistest.Queue(t, url)
		opt, _ := redis.ParseURL(url)
		f(t, func() redis.UniversalClient {
			c := redis.NewClient(opt)
			t.Cleanup(func() { c.Close() })
			return c
		}, name)
	})
}

func delivery(id string) Delivery {
	return Delivery{
		ID: id, Rule: "solved-sms", Ticket: "12345", AcceptedAt: time.Now(),
		Message: sender.Message{Channel: sender.SMS, Subaccount: "Acme_SMS", To: "+6591234567", Text: "hi", ClientMessageID: "zd-" + id},
	}
}

func TestEnqueueClaimsOnce(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		// Two bridges sharing one Redis, 20 identical webhooks at once.
		qs := []*Queue{New(newClient(), name, time.Now), New(newClient(), name, time.Now)}
		var wg sync.WaitGroup
		var mu sync.Mutex
		queued := 0
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, _, err := qs[i%2].Enqueue(ctx, delivery("same"), time.Hour)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					queued++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if queued != 1 {
			t.Fatalf("%d of 20 identical enqueues were queued, want exactly 1", queued)
		}
		state, fired, err := qs[0].Fired(ctx, "same", time.Hour)
		if err != nil || !fired || state != Queued {
			t.Fatalf("Fired = %s, %v, %v; want queued, true", state, fired, err)
		}
		if _, fired, _ := qs[0].Fired(ctx, "other", time.Hour); fired {
			t.Fatal("an unclaimed id reads as fired")
		}
	})
}

// scripted is a Sender that answers from a script and reports each call.
type scripted struct {
	mu      sync.Mutex
	answers []sender.Result
	calls   []sender.Message
}

func (s *scripted) Send(_ context.Context, m sender.Message) (sender.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, m)
	r := sender.Result{Outcome: sender.Sent, Status: 200, UMID: fmt.Sprintf("umid-%d", len(s.calls))}
	if len(s.answers) > 0 {
		r, s.answers = s.answers[0], s.answers[1:]
	}
	if r.Outcome != sender.Sent {
		return r, &sender.Error{Result: r}
	}
	return r, nil
}

func (s *scripted) sent() []sender.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sender.Message(nil), s.calls...)
}

// finishes is an Observer whose Finished calls can be awaited.
type finishes struct{ ch chan State }

func (f finishes) Attempted(Delivery, sender.Result) {}
func (f finishes) Retried(Delivery, bool)            {}
func (f finishes) Finished(_ Delivery, s State)      { f.ch <- s }

func (f finishes) await(t *testing.T, want State) {
	t.Helper()
	select {
	case got := <-f.ch:
		if got != want {
			t.Fatalf("delivery finished %s, want %s", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("delivery did not finish (%s) within 30s", want)
	}
}

// settled waits for asynq to record the state the worker decided: the
// observer hears the decision just before asynq moves the task, and asynq
// offers no signal after, so this polls the store briefly.
func settled(t *testing.T, q *Queue, id string, want State) Info {
	t.Helper()
	return awaitInfo(t, q, id, 5*time.Second, "in state "+string(want), func(in Info) bool { return in.State == want })
}

// awaitInfo polls delivery id until ok holds for it; asynq moves a task
// after telling the Observer, and a retry comes when it is due.
func awaitInfo(t *testing.T, q *Queue, id string, timeout time.Duration, what string, ok func(Info) bool) Info {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		in, err := q.Get(context.Background(), id)
		if err == nil && ok(in) {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s not %s after %s: %+v (%v)", id, what, timeout, in, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startWorker(t *testing.T, q *Queue, s Sender, p Policy) finishes {
	t.Helper()
	return startWorkerRand(t, q, s, p, func() float64 { return 0.5 })
}

// startWorkerRand is startWorker with the jitter's source of randomness.
func startWorkerRand(t *testing.T, q *Queue, s Sender, p Policy, random func() float64) finishes {
	t.Helper()
	return startWorkerLog(t, q, s, p, random, zerolog.Nop())
}

// startWorkerLog is startWorkerRand with the worker's logger.
func startWorkerLog(t *testing.T, q *Queue, s Sender, p Policy, random func() float64, log zerolog.Logger) finishes {
	t.Helper()
	obs := finishes{ch: make(chan State, 16)}
	w := NewWorker(WorkerOptions{
		Queue: q, Sender: s, Policy: p, Concurrency: 4, RateLimit: 1000,
		Log: log, Observer: obs, Rand: random, Now: time.Now,
		ShutdownTimeout: 2 * time.Second, Mask: func(string) string { return "masked" },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return obs
}

var fastPolicy = Policy{Base: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxAttempts: 5, MaxAge: time.Hour}

func TestRetriesThenSends(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		q := New(newClient(), name, time.Now)
		s := &scripted{answers: []sender.Result{
			{Outcome: sender.Retryable, Status: 500, Code: 2000, Message: "Internal Error"},
			{Outcome: sender.Retryable, Status: 503, Message: "unavailable"},
		}}
		obs := startWorker(t, q, s, fastPolicy)
		if _, _, err := q.Enqueue(context.Background(), delivery("d1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		obs.await(t, Sent)
		calls := s.sent()
		if len(calls) != 3 {
			t.Fatalf("%d requests, want 3 (500, 503, then success)", len(calls))
		}
		for _, c := range calls {
			if c.ClientMessageID != calls[0].ClientMessageID {
				t.Fatalf("clientMessageId changed between attempts: %q then %q", calls[0].ClientMessageID, c.ClientMessageID)
			}
		}
		in := settled(t, q, "d1", Sent)
		if in.Last.UMID != "umid-3" || in.Last.Attempts != 3 {
			t.Fatalf("after sending: %+v", in)
		}
		// A completed delivery keeps its claim.
		if ok, _, _ := q.Enqueue(context.Background(), delivery("d1"), time.Hour); ok {
			t.Fatal("a sent delivery could be queued again")
		}
	})
}

func TestRateLimitIsNotAnAttempt(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		q := New(newClient(), name, time.Now)
		s := &scripted{answers: []sender.Result{
			{Outcome: sender.Retryable, Status: 429, RetryAfter: time.Second, Message: "Too Many Requests"},
			{Outcome: sender.Retryable, Status: 429, RetryAfter: time.Second, Message: "Too Many Requests"},
		}}
		// One attempt allowed: had the 429s counted, the delivery would park.
		p := fastPolicy
		p.MaxAttempts = 1
		obs := startWorker(t, q, s, p)
		start := time.Now()
		if _, _, err := q.Enqueue(context.Background(), delivery("d1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		obs.await(t, Sent)
		if n := len(s.sent()); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
		if waited := time.Since(start); waited < 2*time.Second {
			t.Fatalf("two Retry-After: 1 waits took %s, want at least 2s", waited)
		}
	})
}

// 429s without Retry-After are counted in a row on the delivery, so that
// their backoff grows though they are no attempts.
func TestRateLimitsInARowAreCounted(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		q := New(newClient(), name, time.Now)
		limited := sender.Result{Outcome: sender.Retryable, Status: 429, Message: "Too Many Requests"}
		beyond := limited
		beyond.RetryAfter = 2 * time.Hour // past MaxAge: parks, showing the count
		s := &scripted{answers: []sender.Result{limited, {Outcome: sender.Retryable, Status: 503}, limited, limited, beyond, beyond}}
		obs := startWorkerRand(t, q, s, fastPolicy, func() float64 { return 0 }) // no waiting
		if _, _, err := q.Enqueue(context.Background(), delivery("d1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		obs.await(t, Parked)
		in := settled(t, q, "d1", Parked)
		// The 503 broke the first run of 429s and is the one attempt
		// counted before the last.
		if in.Last.Status != 429 || in.Last.RateLimited != 3 || in.Last.Attempts != 2 {
			t.Fatalf("parked after 429s: %+v; want 3 rate limits in a row, 2 attempts", in.Last)
		}
		// A replay starts the count afresh.
		if err := q.Replay(context.Background(), "d1"); err != nil {
			t.Fatal(err)
		}
		obs.await(t, Parked)
		if in := settled(t, q, "d1", Parked); in.Last.RateLimited != 1 {
			t.Fatalf("the first 429 after a replay counts %d in a row, want 1", in.Last.RateLimited)
		}
	})
}

// The wait after a 429 without Retry-After doubles with each one in a row.
func TestRateLimitBackoffGrows(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		limited := sender.Result{Outcome: sender.Retryable, Status: 429, Message: "Too Many Requests"}
		s := &scripted{answers: []sender.Result{limited, limited}}
		p := Policy{Base: 2 * time.Second, MaxDelay: time.Hour, MaxAttempts: 5, MaxAge: time.Hour}
		startWorkerRand(t, q, s, p, func() float64 { return 1 }) // the whole backoff, no jitter
		if _, _, err := q.Enqueue(ctx, delivery("d1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		in := awaitInfo(t, q, "d1", 10*time.Second, "retrying after a second 429", func(in Info) bool {
			return in.State == Retrying && in.Last.RateLimited == 2
		})
		// 2 s after the first, 4 s after the second.
		if wait := in.NextAttemptAt.Sub(in.Last.At); wait < 3500*time.Millisecond {
			t.Fatalf("after a second 429 in a row the next attempt is %s later, want about 4s", wait)
		}
	})
}

// The poll interval trades Redis commands for pickup latency; the check of
// due retries follows it when it is slower, never faster than 200 ms.
func TestServerConfigPoll(t *testing.T) {
	t.Parallel()
	q := New(nil, "bridge", time.Now)
	for _, c := range []struct{ poll, check, delayed time.Duration }{
		{0, 10 * time.Millisecond, 200 * time.Millisecond},
		{10 * time.Millisecond, 10 * time.Millisecond, 200 * time.Millisecond},
		{time.Second, time.Second, time.Second},
	} {
		cfg := serverConfig(WorkerOptions{Queue: q, Poll: c.poll, Log: zerolog.Nop()})
		if cfg.TaskCheckInterval != c.check || cfg.DelayedTaskCheckInterval != c.delayed {
			t.Errorf("Poll %s: asynq checks every %s, due retries every %s; want %s, %s", c.poll, cfg.TaskCheckInterval, cfg.DelayedTaskCheckInterval, c.check, c.delayed)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	p := Policy{Base: time.Second, MaxDelay: time.Hour}
	one := func() float64 { return 1 }
	cases := []struct {
		name                 string
		res                  sender.Result
		attempt, rateLimited int
		want                 time.Duration
	}{
		{"retry-after wins", sender.Result{Status: 429, RetryAfter: 7 * time.Second}, 5, 3, 7 * time.Second},
		{"5xx grows with attempts", sender.Result{Status: 503}, 3, 0, 4 * time.Second},
		{"429 grows with 429s in a row", sender.Result{Status: 429}, 1, 6, 32 * time.Second},
		{"first 429", sender.Result{Status: 429}, 4, 1, time.Second},
	}
	for _, c := range cases {
		if got := p.delay(c.res, c.attempt, c.rateLimited, one); got != c.want {
			t.Errorf("%s: delay = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestPermanentParksAndReplays(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		s := &scripted{answers: []sender.Result{
			{Outcome: sender.Permanent, Status: 400, Code: 1002, Message: "Invalid MSISDN"},
		}}
		obs := startWorker(t, q, s, fastPolicy)
		if _, _, err := q.Enqueue(ctx, delivery("d1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		obs.await(t, Parked)
		if n := len(s.sent()); n != 1 {
			t.Fatalf("%d requests for a permanent failure, want exactly 1", n)
		}
		settled(t, q, "d1", Parked)
		parked, err := q.List(ctx, Parked, 10)
		if err != nil || len(parked) != 1 {
			t.Fatalf("List(parked) = %d, %v", len(parked), err)
		}
		p := parked[0]
		if p.ID != "d1" || p.Rule != "solved-sms" || p.Last.Status != 400 || p.Last.Code != 1002 || p.Last.Message != "Invalid MSISDN" || p.Last.Attempts != 1 || p.ParkedAt.IsZero() {
			t.Fatalf("parked delivery = %+v", p)
		}
		// The claim holds while parked, and says so.
		if ok, holder, _ := q.Enqueue(ctx, delivery("d1"), time.Hour); ok || holder != Parked {
			t.Fatalf("Enqueue over a parked delivery = %v, holder %q; want false, parked", ok, holder)
		}
		if err := q.Replay(ctx, "d1"); err != nil {
			t.Fatal(err)
		}
		obs.await(t, Sent)
		in := settled(t, q, "d1", Sent)
		calls := s.sent()
		if len(calls) != 2 || calls[1].ClientMessageID != calls[0].ClientMessageID {
			t.Fatalf("replay: %d requests, clientMessageIds %v", len(calls), calls)
		}
		// Replayed within seconds of acceptance, it still counts both
		// attempts and drops its replay mark once sent.
		if in.Last.Attempts != 2 || q.rdb.Exists(ctx, q.replayKey("d1")).Val() != 0 {
			t.Fatalf("after a quick replay: attempts %d, replay mark kept: %v", in.Last.Attempts, q.rdb.Exists(ctx, q.replayKey("d1")).Val() == 1)
		}
		if err := q.Replay(ctx, "d1"); !errors.Is(err, ErrNotParked) {
			t.Fatalf("replaying a sent delivery: %v, want ErrNotParked", err)
		}
		if err := q.Replay(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("replaying an unknown delivery: %v, want ErrNotFound", err)
		}
	})
}

// A bulk replay queues again the parked deliveries its filter matches (by
// status, code and rule), however old, and leaves the others parked.
func TestReplayParkedByFilter(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		unauthorized := sender.Result{Outcome: sender.Permanent, Status: 401, Code: 1200, Message: "Unauthorized"}
		forbidden := sender.Result{Outcome: sender.Permanent, Status: 401, Code: 1300, Message: "Unauthorized subaccount"}
		invalid := sender.Result{Outcome: sender.Permanent, Status: 400, Code: 1002, Message: "Invalid MSISDN"}
		parkings := []struct {
			id, rule string
			answer   sender.Result
		}{
			{"old", "solved-sms", unauthorized}, // the oldest: behind three pages of newer ones
			{"other-rule", "other", unauthorized},
			{"other-code", "solved-sms", forbidden},
			{"bad1", "solved-sms", invalid}, {"bad2", "solved-sms", invalid}, {"bad3", "solved-sms", invalid},
		}
		s := &scripted{}
		for _, p := range parkings {
			s.answers = append(s.answers, p.answer)
		}
		obs := startWorker(t, q, s, fastPolicy)
		for _, p := range parkings {
			d := delivery(p.id)
			d.Rule = p.rule
			if _, _, err := q.Enqueue(ctx, d, time.Hour); err != nil {
				t.Fatal(err)
			}
			obs.await(t, Parked)
			settled(t, q, p.id, Parked)
		}
		b, err := q.ReplayParked(ctx, Filter{Status: 401, Code: 1200, Rule: "SOLVED-SMS"}, 100)
		if err != nil || b.Matched != 1 || !slices.Equal(b.Replayed, []string{"old"}) || b.More {
			t.Fatalf("ReplayParked(401, 1200, solved-sms) = %+v, %v; want only the oldest", b, err)
		}
		obs.await(t, Sent)
		// Two more 401s, one per call: the first says more are left.
		if b, err := q.ReplayParked(ctx, Filter{Status: 401}, 1); err != nil || len(b.Replayed) != 1 || !b.More {
			t.Fatalf("ReplayParked(401, limit 1) = %+v, %v; want one, and more left", b, err)
		}
		obs.await(t, Sent)
		if b, err := q.ReplayParked(ctx, Filter{Status: 401}, 1); err != nil || len(b.Replayed) != 1 || b.More {
			t.Fatalf("ReplayParked(401, limit 1) again = %+v, %v; want the last one, none left", b, err)
		}
		obs.await(t, Sent)
		parked, err := q.List(ctx, Parked, 10)
		if err != nil || len(parked) != 3 {
			t.Fatalf("still parked: %v, %v; want the three 400s", parked, err)
		}
		// A delivery waiting for its retry shares asynq's retry set with
		// the parked ones: it is not parked, and not replayed.
		s.mu.Lock()
		s.answers = append(s.answers, sender.Result{Outcome: sender.Retryable, Status: 503, RetryAfter: 30 * time.Minute})
		s.mu.Unlock()
		if _, _, err := q.Enqueue(ctx, delivery("waiting"), time.Hour); err != nil {
			t.Fatal(err)
		}
		settled(t, q, "waiting", Retrying)
		if b, err := q.ReplayParked(ctx, Filter{}, 100); err != nil || b.Matched != 3 || slices.Contains(b.Replayed, "waiting") {
			t.Fatalf("ReplayParked(all) = %+v, %v; want the three parked, not the retrying one", b, err)
		}
	})
}

func TestExhaustedRetriesPark(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		q := New(newClient(), name, time.Now)
		fail := sender.Result{Outcome: sender.Retryable, Status: 502, Message: "Bad Gateway"}
		s := &scripted{answers: []sender.Result{fail, fail, fail}}
		p := fastPolicy
		p.MaxAttempts = 2
		obs := startWorker(t, q, s, p)
		if _, _, err := q.Enqueue(context.Background(), delivery("d1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		obs.await(t, Parked)
		if n := len(s.sent()); n != 2 {
			t.Fatalf("%d requests, want 2 (RETRY_MAX_ATTEMPTS)", n)
		}
		in := settled(t, q, "d1", Parked)
		if in.Last.Status != 502 || in.Last.Attempts != 2 {
			t.Fatalf("parked: %+v", in)
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	base, maxDelay := 2*time.Second, 10*time.Minute
	cases := []struct {
		attempt int
		random  float64
		want    time.Duration
	}{
		{1, 1, 2 * time.Second},
		{2, 1, 4 * time.Second},
		{3, 0.5, 4 * time.Second},
		{10, 1, 10 * time.Minute}, // 2s·2^9 = 1024s, capped
		{200, 1, 10 * time.Minute},
		{1, 0, 0},
	}
	for _, c := range cases {
		if got := Backoff(c.attempt, base, maxDelay, c.random); got != c.want {
			t.Errorf("Backoff(%d, %v) = %s, want %s", c.attempt, c.random, got, c.want)
		}
	}
}

func TestWholeSeconds(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 400_000_000) // x.4 s
	for _, d := range []time.Duration{0, time.Second, 1600 * time.Millisecond, 2 * time.Second} {
		got := wholeSeconds(d, now)
		due := now.Add(got)
		if due.Before(now.Add(d)) || due.Truncate(time.Second) != due {
			t.Errorf("wholeSeconds(%s): due %s, want a whole second at or after %s", d, due, now.Add(d))
		}
	}
}

func TestListParkedNewestFirst(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		refuse := sender.Result{Outcome: sender.Permanent, Status: 400, Code: 1002, Message: "Invalid MSISDN"}
		s := &scripted{answers: []sender.Result{refuse, refuse, refuse}}
		obs := startWorker(t, q, s, fastPolicy)
		for i, id := range []string{"old", "middle", "new"} {
			if i > 0 {
				// asynq records parking times in whole seconds.
				time.Sleep(1100 * time.Millisecond)
			}
			if _, _, err := q.Enqueue(ctx, delivery(id), time.Hour); err != nil {
				t.Fatal(err)
			}
			obs.await(t, Parked)
			settled(t, q, id, Parked)
		}
		for limit, want := range map[int]string{1: "new", 2: "new,middle", 3: "new,middle,old", 10: "new,middle,old"} {
			got, err := q.List(ctx, Parked, limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, in := range got {
				ids = append(ids, in.ID)
			}
			if strings.Join(ids, ",") != want {
				t.Errorf("List(parked, %d) = %v, want %s", limit, ids, want)
			}
		}
	})
}

// A replay gets a fresh budget: without it, a delivery parked after its
// last attempt would park again on the first replayed failure.
func TestReplayGetsAFreshBudget(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		fail := sender.Result{Outcome: sender.Retryable, Status: 502, Message: "Bad Gateway"}
		s := &scripted{answers: []sender.Result{fail, fail, fail}}
		p := fastPolicy
		p.MaxAttempts = 2
		obs := startWorker(t, q, s, p)
		if _, _, err := q.Enqueue(ctx, delivery("d1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		obs.await(t, Parked)
		settled(t, q, "d1", Parked)
		if err := q.Replay(ctx, "d1"); err != nil {
			t.Fatal(err)
		}
		obs.await(t, Sent) // 502 once more, then accepted
		if n := len(s.sent()); n != 4 {
			t.Fatalf("%d requests, want 4 (two, parked, then two after the replay)", n)
		}
		if in := settled(t, q, "d1", Sent); in.Last.Attempts != 4 {
			t.Fatalf("attempts %d after 4 requests", in.Last.Attempts)
		}
		if q.rdb.Exists(ctx, q.replayKey("d1")).Val() != 0 {
			t.Fatal("the replay mark outlived the delivery")
		}
	})
}

// A Retry-After that would land past the maximum age parks at once.
func TestRetryAfterBeyondMaxAgeParks(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		q := New(newClient(), name, time.Now)
		s := &scripted{answers: []sender.Result{{Outcome: sender.Retryable, Status: 503, RetryAfter: time.Hour, Message: "maintenance"}}}
		p := fastPolicy
		p.MaxAge = time.Minute
		obs := startWorker(t, q, s, p)
		if _, _, err := q.Enqueue(context.Background(), delivery("d1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		obs.await(t, Parked)
		in := settled(t, q, "d1", Parked)
		if !strings.Contains(in.LastError, "after acceptance") || len(s.sent()) != 1 {
			t.Fatalf("parked with %q after %d requests", in.LastError, len(s.sent()))
		}
	})
}

func TestAsynqLoggerSuppressesRepeats(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	l := newAsynqLogger(zerolog.New(&buf))
	for range 50 {
		l.Error("Failed to forward scheduled tasks: connection refused")
	}
	l.Error("another message")
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines for 50 repeats and one other message:\n%s", n, buf.String())
	}
	l.quiet = 0
	l.Error("Failed to forward scheduled tasks: connection refused")
	if !strings.Contains(buf.String(), `"repeats_suppressed":49`) {
		t.Fatalf("the repeat count is not reported:\n%s", buf.String())
	}
}

// A replay mark belongs to one firing: a later delivery with the same id
// (the key fired again after once_for) does not inherit it.
func TestReplayMarkBelongsToOneFiring(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		first := time.Unix(1700000000, 0).UTC()
		b, _ := json.Marshal(replayMark{Replays: 2, RetriedBase: 5, At: first, Accepted: first})
		q.rdb.Set(ctx, q.replayKey("d1"), b, time.Hour)
		if m, ok := q.replayMark(ctx, "d1", first); !ok || m.Replays != 2 {
			t.Fatalf("own mark: %+v %v", m, ok)
		}
		if _, ok := q.replayMark(ctx, "d1", first.Add(time.Hour)); ok {
			t.Fatal("a later firing read an earlier firing's replay mark")
		}
	})
}

// clock is a Queue clock that tests move forward; the worker keeps real time.
type clock struct{ ahead atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.ahead.Load())) }
func (c *clock) advance(d time.Duration) { c.ahead.Add(int64(d)) }
func fired(t *testing.T, q *Queue, id string) bool {
	t.Helper()
	_, ok, err := q.Fired(context.Background(), id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// once_for is counted from the claim: a key fires again once its window has
// passed, whether its delivery was sent or parked; a delivery still being
// retried keeps its key.
func TestClaimExpiresAfterWindow(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		var c clock
		q := New(newClient(), name, c.now)
		refuse := sender.Result{Outcome: sender.Permanent, Status: 400, Code: 1002, Message: "Invalid MSISDN"}
		later := sender.Result{Outcome: sender.Retryable, Status: 503, RetryAfter: time.Hour, Message: "maintenance"}
		sent := sender.Result{Outcome: sender.Sent, Status: 200, UMID: "u"}
		s := &scripted{answers: []sender.Result{sent, refuse, sent, later}}
		obs := startWorker(t, q, s, Policy{Base: time.Second, MaxDelay: time.Second, MaxAttempts: 5, MaxAge: 24 * time.Hour})
		enqueue := func(id string) bool {
			t.Helper()
			d := delivery(id)
			d.AcceptedAt = c.now()
			ok, _, err := q.Enqueue(ctx, d, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}

		// Sent: claimed for the window, free after it.
		if !enqueue("sent") {
			t.Fatal("first enqueue was not queued")
		}
		obs.await(t, Sent)
		settled(t, q, "sent", Sent)
		c.advance(59 * time.Minute)
		if enqueue("sent") || !fired(t, q, "sent") {
			t.Fatal("a sent key fired again within its window")
		}

		// Parked: claimed for the window too.
		if !enqueue("parked") {
			t.Fatal("first enqueue of the parked key was not queued")
		}
		obs.await(t, Parked)
		settled(t, q, "parked", Parked)
		if enqueue("parked") {
			t.Fatal("a parked key fired again within its window")
		}
		if d, err := q.Depth(ctx); err != nil || d[Parked] != 1 || d[Retrying] != 0 || d[Sent] != 1 {
			t.Fatalf("Depth = %v, %v; want 1 parked, 0 retrying, 1 sent", d, err)
		}

		c.advance(2 * time.Minute) // "sent" is 61 min old, "parked" 2 min
		if fired(t, q, "sent") {
			t.Fatal("Fired still reports a key whose window has passed")
		}
		if !enqueue("sent") {
			t.Fatal("a sent key did not fire again after its window")
		}
		obs.await(t, Sent) // the third answer: sent again
		if n := len(s.sent()); n != 3 {
			t.Fatalf("%d requests, want 3 (sent, parked, sent again)", n)
		}

		c.advance(time.Hour) // "parked" is past its window
		if !enqueue("parked") {
			t.Fatal("a parked key did not fire again after its window")
		}
		// The new firing replaced the parked delivery; it now waits out a
		// Retry-After of an hour: in flight, it keeps its key however old.
		settled(t, q, "parked", Retrying)
		if parked, err := q.List(ctx, Parked, 10); err != nil || len(parked) != 0 {
			t.Fatalf("List(parked) = %v, %v; want the superseded delivery gone", parked, err)
		}
		c.advance(2 * time.Hour)
		if enqueue("parked") || !fired(t, q, "parked") {
			t.Fatal("a key fired again while its delivery was still retrying")
		}
		if d, err := q.Depth(ctx); err != nil || d[Parked] != 0 || d[Retrying] != 1 {
			t.Fatalf("Depth = %v, %v; want 0 parked, 1 retrying", d, err)
		}
	})
}

// The release deletes only the firing it found expired.
func TestReleaseLeavesOtherFirings(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		s := &scripted{}
		obs := startWorker(t, q, s, fastPolicy)
		d := delivery("d1")
		d.Firing = "firing-one"
		if ok, _, err := q.Enqueue(ctx, d, time.Hour); !ok || err != nil {
			t.Fatalf("Enqueue = %v, %v", ok, err)
		}
		obs.await(t, Sent)
		settled(t, q, "d1", Sent)
		keys := []string{q.asynqKey("t:d1"), q.asynqKey("completed"), q.asynqKey("retry"), q.asynqKey("archived")}
		if n, err := releaseScript.Run(ctx, q.rdb, keys, "d1", "firing-two", time.Now().Add(parkedBeyond).Unix(), true).Int(); err != nil || n != 0 {
			t.Fatalf("release of another firing = %d, %v; want 0", n, err)
		}
		if !fired(t, q, "d1") {
			t.Fatal("releasing another firing deleted this one")
		}
		if err := q.Delete(ctx, "d1"); !errors.Is(err, ErrNotParked) || !fired(t, q, "d1") {
			t.Fatalf("Delete of a sent delivery: %v; want ErrNotParked and the key kept", err)
		}
		// The layout the script relies on: with the right token it deletes.
		if n, err := releaseScript.Run(ctx, q.rdb, keys, "d1", "firing-one", time.Now().Add(parkedBeyond).Unix(), true).Int(); err != nil || n != 1 {
			t.Fatalf("release of its own firing = %d, %v; want 1", n, err)
		}
		if fired(t, q, "d1") {
			t.Fatal("the released delivery still holds its key")
		}
		if d, _ := q.Depth(ctx); d[Sent] != 0 {
			t.Fatalf("Depth after release = %v; the completed set still lists it", d)
		}
	})
}

// asynq's archive keeps at most 10,000 tasks (and none past 90 days) and
// deletes the oldest when more arrive: a parked delivery must not live
// there, or a burst of failures elsewhere would release its key and lose it.
func TestParkedOutlivesAsynqArchiveLimits(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		s := &scripted{answers: []sender.Result{{Outcome: sender.Permanent, Status: 401, Message: "Unauthorized"}}}
		obs := startWorker(t, q, s, fastPolicy)
		if ok, _, err := q.Enqueue(ctx, delivery("keep"), time.Hour); !ok || err != nil {
			t.Fatalf("Enqueue = %v, %v", ok, err)
		}
		obs.await(t, Parked)
		settled(t, q, "keep", Parked)

		// Fill asynq's archive with 10,000 newer entries, then archive one
		// more task by asynq's own means, which trims the archive.
		members := make([]redis.Z, 10_000)
		for i := range members {
			members[i] = redis.Z{Score: float64(time.Now().Add(time.Minute).Unix()), Member: fmt.Sprintf("filler-%d", i)}
		}
		if err := q.rdb.ZAdd(ctx, q.asynqKey("archived"), members...).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := q.client.EnqueueContext(ctx, asynq.NewTask("other", nil), asynq.Queue(name), asynq.TaskID("victim"), asynq.ProcessIn(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := q.inspector.ArchiveTask(name, "victim"); err != nil {
			t.Fatal(err)
		}
		if n := q.rdb.ZCard(ctx, q.asynqKey("archived")).Val(); n > 10_000 {
			t.Fatalf("asynq did not trim its archive (%d entries): the test proves nothing", n)
		}
		// The fillers have no task hashes, which asynq's queue statistics
		// cannot read: take them out again.
		fillers := make([]any, len(members))
		for i, m := range members {
			fillers[i] = m.Member
		}
		q.rdb.ZRem(ctx, q.asynqKey("archived"), fillers...)

		parked, err := q.List(ctx, Parked, 10)
		if err != nil || len(parked) == 0 || parked[0].ID != "keep" {
			t.Fatalf("List(parked) = %v, %v; want the parked delivery first", parked, err)
		}
		if ok, _, _ := q.Enqueue(ctx, delivery("keep"), time.Hour); ok {
			t.Fatal("the parked delivery's key was released")
		}
	})
}

// Delete drops a parked delivery and frees its key.
// wiping is a Sender during whose request the store loses the delivery,
// as a Redis restarted without persistence would.
type wiping struct{ q *Queue }

func (s wiping) Send(ctx context.Context, m sender.Message) (sender.Result, error) {
	id := strings.TrimPrefix(m.ClientMessageID, "zd-")
	s.q.rdb.Del(ctx, s.q.asynqKey("t:"+id))
	s.q.rdb.LRem(ctx, s.q.asynqKey("active"), 0, id)
	s.q.rdb.ZRem(ctx, s.q.asynqKey("lease"), id)
	return sender.Result{Outcome: sender.Sent, Status: 200, UMID: "u"}, nil
}

// A store that lost a delivery during its attempt is left without a trace
// of it: recording the attempt must not create a hash asynq cannot read,
// which would hold the id's claim for ever. One left by an older bridge is
// dropped when met.
func TestLostDeliveryLeavesNoDamagedClaim(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		obs := startWorker(t, q, wiping{q}, fastPolicy)
		if ok, _, err := q.Enqueue(ctx, delivery("lost"), time.Hour); !ok || err != nil {
			t.Fatalf("Enqueue = %v, %v", ok, err)
		}
		obs.await(t, Sent)
		if n := q.rdb.Exists(ctx, q.asynqKey("t:lost")).Val(); n != 0 {
			t.Fatalf("the attempt's record re-created the lost delivery's hash: %v", q.rdb.HGetAll(ctx, q.asynqKey("t:lost")).Val())
		}

		// A damaged hash (a result and no task), as asynq's ResultWriter
		// left one: not a delivery, and not a claim.
		q.rdb.HSet(ctx, q.asynqKey("t:damaged"), "result", `{"attempts":1,"status":200}`)
		if _, err := q.Get(ctx, "damaged"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of a damaged hash: %v, want ErrNotFound", err)
		}
		q.rdb.HSet(ctx, q.asynqKey("t:damaged"), "result", `{"attempts":1,"status":200}`)
		if ok, _, err := q.Enqueue(ctx, delivery("damaged"), time.Hour); !ok || err != nil {
			t.Fatalf("Enqueue over a damaged hash = %v, %v; want it queued", ok, err)
		}
		obs.await(t, Sent)
	})
}

// hanging is a Sender whose request outlasts the worker's stop: it
// returns when its context is cancelled, as a cut-off 8x8 request does.
type hanging struct{ started chan struct{} }

func (h hanging) Send(ctx context.Context, _ sender.Message) (sender.Result, error) {
	close(h.started)
	<-ctx.Done()
	r := sender.Result{Outcome: sender.Retryable, Message: "request cut short: " + ctx.Err().Error()}
	return r, &sender.Error{Result: r}
}

// An attempt cut short by a stop was made (8x8 may have the message): the
// delivery, back in the queue, counts it.
func TestAttemptCutByStopIsCounted(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		h := hanging{started: make(chan struct{})}
		w := NewWorker(WorkerOptions{
			Queue: q, Sender: h, Policy: fastPolicy, Concurrency: 1, RateLimit: 1000,
			Log: zerolog.Nop(), Rand: func() float64 { return 0 }, Now: time.Now,
			ShutdownTimeout: 100 * time.Millisecond, Mask: func(string) string { return "masked" },
		})
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(runCtx) }()
		if _, _, err := q.Enqueue(ctx, delivery("cut"), time.Hour); err != nil {
			t.Fatal(err)
		}
		<-h.started
		stop()
		<-done
		awaitInfo(t, q, "cut", 5*time.Second, "back in the queue with its cut attempt counted", func(in Info) bool {
			return in.Last.Attempts == 1 && (in.State == Queued || in.State == Retrying)
		})
	})
}

func TestDeleteParked(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		s := &scripted{answers: []sender.Result{{Outcome: sender.Permanent, Status: 400, Code: 1002, Message: "Invalid MSISDN"}}}
		obs := startWorker(t, q, s, fastPolicy)
		if ok, _, err := q.Enqueue(ctx, delivery("d1"), time.Hour); !ok || err != nil {
			t.Fatalf("Enqueue = %v, %v", ok, err)
		}
		obs.await(t, Parked)
		settled(t, q, "d1", Parked)
		if err := q.Delete(ctx, "d1"); err != nil {
			t.Fatal(err)
		}
		if parked, err := q.List(ctx, Parked, 10); err != nil || len(parked) != 0 {
			t.Fatalf("List(parked) after Delete = %v, %v", parked, err)
		}
		if err := q.Delete(ctx, "d1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second Delete: %v, want ErrNotFound", err)
		}
		if ok, _, err := q.Enqueue(ctx, delivery("d1"), time.Hour); !ok || err != nil {
			t.Fatalf("the deleted delivery's key is still taken: %v, %v", ok, err)
		}
		obs.await(t, Sent)
	})
}

// A re-delivery of the invocation that claimed a key stays a duplicate for
// a day, even after a shorter once_for; another invocation fires again.
func TestSameInvocationStaysDuplicate(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		var c clock
		q := New(newClient(), name, c.now)
		obs := startWorker(t, q, &scripted{}, fastPolicy)
		enqueue := func(invocation string) bool {
			t.Helper()
			d := delivery("d1")
			d.AcceptedAt, d.Invocation = c.now(), invocation
			ok, _, err := q.Enqueue(ctx, d, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !enqueue("inv-1") {
			t.Fatal("first enqueue was not queued")
		}
		obs.await(t, Sent)
		settled(t, q, "d1", Sent)
		// The task is the claim: asynq's janitor (on the real clock) must
		// keep it for the invocation window, not the minute's once_for.
		ti, err := q.inspector.GetTaskInfo(name, "d1")
		if err != nil {
			t.Fatal(err)
		}
		if ti.Retention < dedupe.InvocationWindow {
			t.Fatalf("asynq keeps the sent delivery for %s; want at least %s", ti.Retention, dedupe.InvocationWindow)
		}
		c.advance(2 * time.Minute)
		if enqueue("inv-1") {
			t.Fatal("a re-delivery of the same invocation fired again after once_for")
		}
		if !enqueue("inv-2") {
			t.Fatal("another invocation did not fire after once_for")
		}
		obs.await(t, Sent)
	})
}

// Deliveries stored before Window and Firing existed can still be released
// when their key fires again after the rule's once_for, and deleted.
func TestDeliveriesWithoutFiringToken(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		var c clock
		q := New(newClient(), name, c.now)
		obs := startWorker(t, q, &scripted{answers: []sender.Result{
			{Outcome: sender.Permanent, Status: 400, Code: 1002, Message: "Invalid MSISDN"},
		}}, fastPolicy)
		// As an earlier bridge stored them: no window, no firing token.
		legacy := func(id string) {
			t.Helper()
			d := delivery(id)
			d.AcceptedAt = c.now()
			payload, _ := json.Marshal(d)
			if strings.Contains(string(payload), "firing") || strings.Contains(string(payload), "window") {
				t.Fatalf("not a legacy payload: %s", payload)
			}
			if _, err := q.client.EnqueueContext(ctx, asynq.NewTask(taskType, payload), asynq.TaskID(id), asynq.Queue(name),
				asynq.MaxRetry(1<<30), asynq.Retention(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		legacy("parked")
		obs.await(t, Parked)
		settled(t, q, "parked", Parked)
		legacy("sent")
		obs.await(t, Sent)
		settled(t, q, "sent", Sent)

		if err := q.Delete(ctx, "parked"); err != nil {
			t.Fatalf("Delete of a legacy parked delivery: %v", err)
		}
		if fired(t, q, "parked") {
			t.Fatal("the deleted legacy delivery still holds its key")
		}
		if ok, _, _ := q.Enqueue(ctx, delivery("sent"), time.Minute); ok {
			t.Fatal("a legacy sent delivery within the rule's once_for was released")
		}
		c.advance(2 * time.Minute)
		if ok, _, err := q.Enqueue(ctx, delivery("sent"), time.Minute); !ok || err != nil {
			t.Fatalf("a legacy sent delivery past the rule's once_for holds its key: %v, %v", ok, err)
		}
		obs.await(t, Sent)
	})
}

// asynq may run a task again that this worker already sent, when Redis was
// away as the task completed: the worker does not send it twice.
func TestSentFiringIsNotSentAgain(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		q := New(newClient(), name, time.Now)
		s := &scripted{}
		obs := startWorker(t, q, s, fastPolicy)
		d := delivery("d1")
		d.Firing, d.Window = "firing-one", time.Hour
		if ok, _, err := q.Enqueue(ctx, d, time.Hour); !ok || err != nil {
			t.Fatalf("Enqueue = %v, %v", ok, err)
		}
		obs.await(t, Sent)
		settled(t, q, "d1", Sent)
		// What asynq's recoverer does after a lost completion: the same
		// task, same firing, runs again.
		if err := q.inspector.DeleteTask(name, "d1"); err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(d)
		if _, err := q.client.EnqueueContext(ctx, asynq.NewTask(taskType, payload), asynq.TaskID("d1"), asynq.Queue(name), asynq.Retention(time.Hour)); err != nil {
			t.Fatal(err)
		}
		settled(t, q, "d1", Sent)
		if n := len(s.sent()); n != 1 {
			t.Fatalf("%d requests to 8x8 for one firing run twice, want 1", n)
		}
	})
}

// A Redis that restarted empty loses asynq's set of queue names, and
// asynq's client names a queue only once per process: what this bridge
// queues afterwards must still be found, listed and counted.
func TestQueueNameLostWithRedis(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient, name string) {
		ctx := context.Background()
		rdb := newClient()
		q := New(rdb, name, time.Now)
		if _, _, err := q.Enqueue(ctx, delivery("before"), time.Hour); err != nil {
			t.Fatal(err)
		}
		// What an empty restart did to this queue's name (only this
		// queue's: other tests share the real Redis).
		if err := rdb.SRem(ctx, "asynq:queues", name).Err(); err != nil {
			t.Fatal(err)
		}
		d := delivery("after")
		if ok, _, err := q.Enqueue(ctx, d, time.Hour); err != nil || !ok {
			t.Fatalf("enqueue after the loss: queued %v, %v", ok, err)
		}
		if _, err := q.Get(ctx, d.ID); err != nil {
			t.Fatalf("Get: %v", err)
		}
		list, err := q.List(ctx, Queued, 10)
		if err != nil || len(list) != 2 {
			t.Fatalf("List(queued) = %d deliveries, %v; want 2", len(list), err)
		}
		depth, err := q.Depth(ctx)
		if err != nil || depth[Queued] != 2 {
			t.Fatalf("Depth = %v, %v; want 2 queued", depth, err)
		}
		// The same key again is a duplicate held by a queued delivery,
		// found as such.
		ok, holder, err := q.Enqueue(ctx, d, time.Hour)
		if err != nil || ok || holder != Queued {
			t.Fatalf("the same key again: queued %v, holder %q, %v; want a duplicate held by queued", ok, holder, err)
		}
	})
}

// gated sends once it is released, and says when a message has arrived.
type gated struct {
	arrived chan struct{}
	release chan struct{}
	n       atomic.Int32
}

func (g *gated) Send(ctx context.Context, m sender.Message) (sender.Result, error) {
	g.n.Add(1)
	g.arrived <- struct{}{}
	<-g.release
	return sender.Result{Outcome: sender.Sent, Status: 200, UMID: "u-1"}, nil
}

// logLines collects log output and can await a message.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	return len(p), nil
}

func (l *logLines) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, msg) {
			return true
		}
	}
	return false
}

// Redis is away as a sent delivery completes: asynq loses the completion
// and, after the lease, another bridge runs the delivery again. The first
// bridge recorded the send once Redis was back, so the second does not send
// it twice. (Within one bridge, TestSentFiringIsNotSentAgain.) miniredis
// only: it can fail every command on demand and keep its data.
func TestSentRecordReachesOtherBridges(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	const name = "sent-record"
	newQueue := func() *Queue { return New(redis.NewClient(&redis.Options{Addr: m.Addr()}), name, time.Now) }
	run := func(q *Queue, s Sender, log *logLines) (stop func(), obs finishes) {
		obs = finishes{ch: make(chan State, 16)}
		w := NewWorker(WorkerOptions{
			Queue: q, Sender: s, Policy: fastPolicy, Concurrency: 2, RateLimit: 1000,
			Log: zerolog.New(log), Observer: obs, Rand: func() float64 { return 0.5 }, Now: time.Now,
			ShutdownTimeout: time.Second, Mask: func(string) string { return "masked" },
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		var once sync.Once
		stop = func() { once.Do(func() { cancel(); <-done }) }
		t.Cleanup(stop)
		return stop, obs
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 10s", what)
			}
		}
	}

	qa := newQueue()
	a := &gated{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	logA := &logLines{}
	stopA, obsA := run(qa, a, logA)
	d := delivery("d1")
	d.Firing, d.Window = "firing-one", time.Hour
	if ok, _, err := qa.Enqueue(context.Background(), d, time.Hour); !ok || err != nil {
		t.Fatalf("Enqueue = %v, %v", ok, err)
	}
	<-a.arrived
	m.SetError("ERR the store is away") // Redis goes away mid-send
	close(a.release)
	obsA.await(t, Sent) // the attempt's record was tried, and failed
	eventually("lost completion", func() bool { return logA.has("Could not move task id=d1") })
	sentKey := qa.sentKey(d.ID + "/" + d.token())
	// The record cannot be written yet; once Redis is back, it is.
	m.SetError("")
	eventually("sent record", func() bool { return m.Exists(sentKey) })
	stopA()
	lease := "asynq:{" + name + "}:lease"
	if members, _ := m.ZMembers(lease); !slices.Contains(members, "d1") {
		in, err := qa.Get(context.Background(), "d1")
		t.Fatalf("asynq completed the delivery after all (lease %v, state %s %v, keys %v): this test no longer loses a completion", members, in.State, err, m.Keys())
	}
	// What a lease that expired a minute ago looks like to asynq's recoverer.
	if _, err := m.ZAdd(lease, float64(time.Now().Add(-2*time.Minute).Unix()), "d1"); err != nil {
		t.Fatal(err)
	}

	b := &scripted{}
	logB := &logLines{}
	run(newQueue(), b, logB) // stopped at cleanup
	eventually("rerun on the second bridge", func() bool {
		return logB.has("delivery already sent by another bridge")
	})
	// The record the first bridge could not store is the delivery's.
	if in := settled(t, newQueue(), "d1", Sent); in.Last.UMID != "u-1" || in.Last.Attempts != 1 || in.Last.Status != 200 {
		t.Fatalf("sent delivery shows %+v, want the first bridge's attempt", in.Last)
	}
	if n := a.n.Load() + int32(len(b.sent())); n != 1 {
		t.Fatalf("%d requests to 8x8 for one delivery, want 1", n)
	}
}

// Each attempt's log line says where it left the delivery (state), apart
// from what 8x8 answered (outcome): an operator filtering on parks must
// find the exhausted ones too. An answer without a status (a timeout) has
// no status or code on its line, rather than zeros.
func TestAttemptLinesSayWhereTheDeliveryIs(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	q := New(redis.NewClient(&redis.Options{Addr: m.Addr()}), "attempt-lines", time.Now)
	s := &scripted{answers: []sender.Result{
		{Outcome: sender.Retryable, Status: 500, Code: 2000, Message: "Internal Error"},
		{Outcome: sender.Retryable, Message: "timeout"},
		{Outcome: sender.Retryable, Message: "timeout"},
	}}
	log := &logLines{}
	p := fastPolicy
	p.MaxAttempts = 3
	// One delivery at a time, each awaited: the lines come in order.
	obs := startWorkerLog(t, q, s, p, func() float64 { return 0.5 }, zerolog.New(log))

	if _, _, err := q.Enqueue(context.Background(), delivery("d1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	obs.await(t, Parked) // out of attempts
	if _, _, err := q.Enqueue(context.Background(), delivery("d2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	obs.await(t, Sent)
	s.mu.Lock()
	s.answers = append(s.answers, sender.Result{Outcome: sender.Permanent, Status: 400, Code: 1002, Message: "Invalid MSISDN"})
	s.mu.Unlock()
	if _, _, err := q.Enqueue(context.Background(), delivery("d3"), time.Hour); err != nil {
		t.Fatal(err)
	}
	obs.await(t, Parked) // refused at once

	type line struct {
		Delivery, Outcome, State string
		Status, Code             *int
	}
	var got []line
	log.mu.Lock()
	for _, raw := range log.lines {
		var l line
		if json.Unmarshal([]byte(raw), &l) == nil && l.Delivery != "" && l.Outcome != "" {
			got = append(got, l)
		}
	}
	log.mu.Unlock()
	if len(got) != 5 {
		t.Fatalf("%d attempt lines, want 5: %+v", len(got), got)
	}
	want := []struct{ delivery, outcome, state string }{
		{"d1", "retryable", "retrying"}, {"d1", "retryable", "retrying"}, {"d1", "retryable", "parked"}, {"d2", "sent", "sent"},
		{"d3", "permanent", "parked"},
	}
	for i, w := range want {
		if g := got[i]; g.Delivery != w.delivery || g.Outcome != w.outcome || g.State != w.state {
			t.Errorf("line %d: %s %s %s, want %s %s %s", i, g.Delivery, g.Outcome, g.State, w.delivery, w.outcome, w.state)
		}
	}
	if got[0].Status == nil || *got[0].Status != 500 || got[0].Code == nil || *got[0].Code != 2000 {
		t.Errorf("the 500's line lacks its status or code: %+v", got[0])
	}
	if got[1].Status != nil || got[1].Code != nil {
		t.Errorf("a timeout's line has status %v, code %v; want neither", got[1].Status, got[1].Code)
	}
}
