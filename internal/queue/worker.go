package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
)

// Sender sends one message to 8x8 and classifies the answer.
type Sender interface {
	Send(ctx context.Context, m sender.Message) (sender.Result, error)
}

// Observer hears about every attempt (metrics).
type Observer interface {
	Attempted(d Delivery, r sender.Result)
	Finished(d Delivery, s State) // Sent or Parked
	Retried(d Delivery, rateLimited bool)
}

// Policy is when to retry and when to give up.
type Policy struct {
	Base        time.Duration // first backoff, doubled each attempt
	MaxDelay    time.Duration // cap of one backoff
	MaxAttempts int           // attempts in all; rate-limit waits do not count
	MaxAge      time.Duration // from acceptance (or replay) to giving up
}

// WorkerOptions configures a Worker.
type WorkerOptions struct {
	Queue       *Queue
	Sender      Sender
	Policy      Policy
	Concurrency int
	// RateLimit is the most requests per second per subaccount.
	RateLimit float64
	Log       zerolog.Logger
	Observer  Observer
	// Rand returns a number in [0, 1) for jitter; Now is the clock.
	Rand            func() float64
	Now             func() time.Time
	ShutdownTimeout time.Duration
	// Poll is how often idle workers look for a new delivery (10 ms when
	// zero): asynq has no blocking dequeue, so an idle bridge asks Redis
	// about 100 times a second per poll loop at 10 ms.
	Poll time.Duration
	// Mask hides a phone number in logs.
	Mask func(string) string
}

// Worker sends queued deliveries.
type Worker struct {
	o      WorkerOptions
	srv    *asynq.Server
	mu     sync.Mutex
	limits map[string]*rate.Limiter
	sent   sentFirings
}

// sentFirings remembers, for a while, the firings this worker has sent.
//
// asynq v0.26 marks a task done in Redis after the handler returns, and if
// Redis is away just then, its retry reuses a cancelled context and never
// succeeds: the lease expires and asynq runs the task again, and 8x8 would
// get the message twice. Within one process, the second run finds the
// firing here and completes without sending. Another bridge finds the mark
// recordSent writes once Redis is back (see process); a bridge that stops
// before Redis returns cannot leave one (see the README).
type sentFirings struct {
	mu sync.Mutex
	at map[string]sentFiring
}

// sentFiring is when a firing was sent, and its attempt record: a rerun
// writes it, so the delivery still shows how it was sent.
type sentFiring struct {
	at  time.Time
	rec []byte
}

// sentFor is how long a firing is remembered: well past asynq's lease
// recovery (one to two minutes).
const sentFor = 10 * time.Minute

func (s *sentFirings) add(key string, rec []byte, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at == nil {
		s.at = map[string]sentFiring{}
	}
	if len(s.at) >= 1024 && len(s.at)%1024 == 0 {
		for k, f := range s.at {
			if now.Sub(f.at) > sentFor {
				delete(s.at, k)
			}
		}
	}
	s.at[key] = sentFiring{at: now, rec: rec}
}

func (s *sentFirings) has(key string, now time.Time) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.at[key]
	return f.rec, ok && now.Sub(f.at) <= sentFor
}

// NewWorker returns a worker pool over o.Queue.
func NewWorker(o WorkerOptions) *Worker {
	w := &Worker{o: o, limits: map[string]*rate.Limiter{}}
	w.srv = asynq.NewServerFromRedisClient(o.Queue.rdb, serverConfig(o))
	return w
}

// serverConfig is how asynq runs the workers o describes.
func serverConfig(o WorkerOptions) asynq.Config {
	poll := o.Poll
	if poll <= 0 {
		poll = 10 * time.Millisecond
	}
	return asynq.Config{
		Concurrency: o.Concurrency,
		Queues:      map[string]int{o.Queue.name: 1},
		// asynq polls an empty queue once a second by default: a quiet
		// bridge would sit on a new delivery for ~0.9 s.
		TaskCheckInterval: poll,
		// Retries become due in whole seconds; check them often so a
		// Retry-After is honoured to the second, not to asynq's 5 s tick.
		// A slower poll asked for fewer commands: this check follows it.
		DelayedTaskCheckInterval: max(200*time.Millisecond, poll),
		RetryDelayFunc:           retryDelay,
		// asynq's count of failures (Retried) is the number of attempts
		// made before this one, over the delivery's whole life: every
		// attempt that fails counts, the one that parks it too; a wait
		// for a rate limit does not.
		IsFailure: func(err error) bool {
			var r *retryError
			return !errors.As(err, &r) || r.countsAsAttempt
		},
		ShutdownTimeout: o.ShutdownTimeout,
		Logger:          newAsynqLogger(o.Log),
		LogLevel:        asynq.WarnLevel,
	}
}

// Run sends until ctx is done, then lets in-flight attempts finish (up to
// the shutdown timeout); unfinished ones go back to the queue.
func (w *Worker) Run(ctx context.Context) error {
	mux := asynq.NewServeMux()
	mux.HandleFunc(taskType, w.process)
	if err := w.srv.Start(mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	<-ctx.Done()
	w.srv.Stop() // take nothing new while in-flight attempts finish
	w.srv.Shutdown()
	return nil
}

// retryError carries the worker's own decision to asynq's RetryDelayFunc.
type retryError struct {
	delay           time.Duration
	countsAsAttempt bool
	err             error
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// parkError parks the delivery: asynq keeps it in its retry set, due
// parkDelay from now (see parkDelay), until an operator replays it.
type parkError struct{ err error }

func (e *parkError) Error() string { return e.err.Error() }
func (e *parkError) Unwrap() error { return e.err }

func parked(format string, args ...any) error { return &parkError{fmt.Errorf(format, args...)} }

func retryDelay(_ int, err error, _ *asynq.Task) time.Duration {
	var r *retryError
	if errors.As(err, &r) {
		return wholeSeconds(r.delay, time.Now())
	}
	var p *parkError
	if errors.As(err, &p) {
		return parkDelay
	}
	return time.Second
}

// wholeSeconds stretches d so that now+d lands on a whole second at or after
// now+d: asynq stores due times truncated to the second, which would
// otherwise run a 2 s Retry-After after 1.6 s.
func wholeSeconds(d time.Duration, now time.Time) time.Duration {
	due := now.Add(d)
	if due.Truncate(time.Second).Equal(due) {
		return d
	}
	return due.Truncate(time.Second).Add(time.Second).Sub(now)
}

// rewrite writes, on a rerun of a delivery already sent, the attempt
// record its send could not store, so the delivery still shows its umid
// and attempts once completed. Best effort: the send is what matters.
func (w *Worker) rewrite(ctx context.Context, id string, rec []byte) {
	if len(rec) > 0 {
		_, _ = w.o.Queue.writeResult(ctx, id, rec)
	}
}

// Backoff is the delay before attempt+1: full jitter over base·2^(attempt-1),
// capped at max.
func Backoff(attempt int, base, max time.Duration, random float64) time.Duration {
	ceiling := float64(base) * math.Pow(2, float64(attempt-1))
	if ceiling > float64(max) || math.IsInf(ceiling, 0) {
		ceiling = float64(max)
	}
	return time.Duration(random * ceiling)
}

// delay is the wait before retrying after res, a retryable answer to the
// given attempt: 8x8's Retry-After when it gave one, else a backoff that
// grows with the attempts made, or for a 429 with the rateLimited answers in
// a row (a rate limit is no failed attempt, and must not be retried at a
// steady pace for hours).
func (p Policy) delay(res sender.Result, attempt, rateLimited int, random func() float64) time.Duration {
	if res.RetryAfter > 0 {
		return res.RetryAfter
	}
	n := attempt
	if res.Status == 429 {
		n = rateLimited
	}
	return Backoff(n, p.Base, p.MaxDelay, random())
}

func (w *Worker) limiter(subaccount string) *rate.Limiter {
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.limits[subaccount]
	if !ok {
		burst := max(1, int(w.o.RateLimit/10))
		l = rate.NewLimiter(rate.Limit(w.o.RateLimit), burst)
		w.limits[subaccount] = l
	}
	return l
}

func (w *Worker) process(ctx context.Context, t *asynq.Task) (err error) {
	var d Delivery
	if err := json.Unmarshal(t.Payload(), &d); err != nil {
		return parked("unreadable delivery: %v", err)
	}
	defer func() {
		// A bug must park the delivery for an operator, not retry it for ever.
		if p := recover(); p != nil {
			w.o.Log.Error().Str("delivery", d.ID).Interface("panic", p).Msg("worker panicked; delivery parked")
			w.finished(d, Parked)
			err = parked("worker panicked: %v", p)
		}
	}()
	firing := d.ID + "/" + d.token()
	if rec, sent := w.sent.has(firing, w.o.Now()); sent {
		w.rewrite(ctx, d.ID, rec)
		w.o.Log.Warn().Str("delivery", d.ID).Str("rule", d.Rule).Str("ticket", d.Ticket).
			Msg("delivery already sent by this bridge (the store missed its completion); not sent again")
		return nil
	}
	retried, _ := asynq.GetRetryCount(ctx)
	// Only a delivery that has failed before (a parked one has) can carry a
	// replay mark: the first attempt of a delivery, nearly all of them,
	// skips the lookup.
	var mark replayMark
	replayed := false
	if retried > 0 {
		// asynq counts a run after a lost lease as a retry, so a delivery
		// another bridge sent (and recorded, its completion lost) is here.
		if rec, sent := w.o.Queue.sentBefore(ctx, firing); sent {
			w.rewrite(ctx, d.ID, rec)
			w.o.Log.Warn().Str("delivery", d.ID).Str("rule", d.Rule).Str("ticket", d.Ticket).
				Msg("delivery already sent by another bridge (the store missed its completion); not sent again")
			return nil
		}
		mark, replayed = w.o.Queue.replayMark(ctx, d.ID, d.AcceptedAt)
	}
	attempt := retried + 1 // in the delivery's whole life
	log := w.o.Log.With().Str("delivery", d.ID).Str("rule", d.Rule).Str("ticket", d.Ticket).
		Str("channel", string(d.Message.Channel)).Str("to", w.o.Mask(d.Message.To)).Int("attempt", attempt).Logger()

	if err := w.limiter(d.Message.Subaccount).Wait(ctx); err != nil {
		// Shutting down: back to the queue without counting an attempt.
		return &retryError{delay: 0, err: err}
	}
	res, err := w.o.Sender.Send(ctx, d.Message)
	if w.o.Observer != nil {
		w.o.Observer.Attempted(d, res)
	}
	rec := Attempt{Attempts: attempt, Status: res.Status, Code: res.Code, Message: res.Message, UMID: res.UMID, At: w.o.Now()}
	if replayed {
		rec.Replays = mark.Replays
	}
	// A rate limit is a wait, not a failed attempt: its backoff grows with
	// the 429s in a row instead, read from the last attempt's record.
	rateLimited := res.Status == 429
	if rateLimited {
		rec.RateLimited = 1
		// A replay since the last attempt starts the count afresh (told by
		// the replay count, not by clocks of two machines).
		if last := w.o.Queue.lastAttempt(ctx, d.ID); last.Status == 429 && last.Replays == rec.Replays {
			rec.RateLimited = last.RateLimited + 1
		}
	}
	recJSON, _ := json.Marshal(rec) // plain fields: cannot fail
	held, werr := w.o.Queue.writeResult(ctx, d.ID, recJSON)
	if werr == nil && !held {
		log.Error().Msg("the store no longer holds this delivery (Redis lost its data during the attempt); what 8x8 answered is only in this log")
	}
	ev := log.Info()
	if err != nil {
		ev = log.Warn()
	}
	// outcome is what 8x8's answer was; state (below) is where that left
	// the delivery. A timeout or a refused connection has no status.
	ev = ev.Str("outcome", string(res.Outcome)).Dur("latency", res.Latency)
	if res.Status != 0 {
		ev = ev.Int("status", res.Status)
	}
	if res.UMID != "" {
		ev = ev.Str("umid", res.UMID)
	}
	if err != nil {
		if res.Code != 0 {
			ev = ev.Int("code", res.Code)
		}
		ev = ev.Str("error", res.Message)
	}

	if err == nil {
		if werr == nil {
			w.sent.add(firing, nil, w.o.Now())
		} else {
			// The store did not take the attempt's record, so asynq's
			// completion, next, will likely fail too, and another bridge
			// may run this delivery again after the lease: tell it, and
			// keep the record for the rerun to write.
			w.sent.add(firing, recJSON, w.o.Now())
			w.o.Queue.recordSent(firing, recJSON, w.o.Now, 250*time.Millisecond)
		}
		ev = ev.Str("state", "sent")
		if res.DryRun {
			ev.Msg("dry run: counted as sent, nothing went to 8x8")
		} else {
			ev.Msg("delivered to 8x8")
		}
		if replayed {
			w.o.Queue.forgetReplays(ctx, d.ID)
		}
		w.finished(d, Sent)
		return nil
	}
	if res.Outcome != sender.Retryable {
		ev.Str("state", "parked").Msg("8x8 refused the delivery; parked")
		w.finished(d, Parked)
		return parked("%v", err)
	}

	delay := w.o.Policy.delay(res, attempt, rec.RateLimited, w.o.Rand)
	if !replayed { // looked up lazily: it decides whether to park
		mark, replayed = w.o.Queue.replayMark(ctx, d.ID, d.AcceptedAt)
	}
	if reason, park := w.exhausted(d, retried, mark, replayed, rateLimited, delay); park {
		ev.Str("state", "parked").Str("parked_because", reason).Msg("8x8 did not accept the delivery in time; parked")
		w.finished(d, Parked)
		return parked("%v (%s)", err, reason)
	}
	ev.Str("state", "retrying").Dur("retry_in", delay).Bool("rate_limited", rateLimited).Msg("8x8 did not accept the delivery yet; will retry")
	if w.o.Observer != nil {
		w.o.Observer.Retried(d, rateLimited)
	}
	return &retryError{delay: delay, countsAsAttempt: !rateLimited, err: err}
}

// exhausted decides whether a retryable failure should be parked instead:
// out of attempts, or the next try would fall past the maximum age. Both are
// counted from the last replay, if any.
func (w *Worker) exhausted(d Delivery, retried int, mark replayMark, replayed, rateLimited bool, delay time.Duration) (string, bool) {
	p := w.o.Policy
	attempts, since := retried+1, d.AcceptedAt
	if replayed {
		attempts, since = retried+1-mark.RetriedBase, mark.At
	}
	if !rateLimited && attempts >= p.MaxAttempts {
		return fmt.Sprintf("%d attempts made", attempts), true
	}
	if w.o.Now().Add(delay).After(since.Add(p.MaxAge)) {
		return fmt.Sprintf("next attempt would be more than %s after acceptance", p.MaxAge), true
	}
	return "", false
}

func (w *Worker) finished(d Delivery, s State) {
	if w.o.Observer != nil {
		w.o.Observer.Finished(d, s)
	}
}

// asynqLogger sends asynq's own messages through zerolog. While Redis is
// away asynq repeats the same error several times a second; each distinct
// message is written at most once per quiet period, with a count of the
// repeats it stood for.
type asynqLogger struct {
	l     zerolog.Logger
	quiet time.Duration
	mu    sync.Mutex
	seen  map[string]*repeat
}

type repeat struct {
	at         time.Time
	suppressed int
}

func newAsynqLogger(l zerolog.Logger) *asynqLogger {
	return &asynqLogger{l: l.With().Str("component", "asynq").Logger(), quiet: 30 * time.Second, seen: map[string]*repeat{}}
}

func (a *asynqLogger) log(ev *zerolog.Event, args []any) {
	msg := fmt.Sprint(args...)
	a.mu.Lock()
	now := time.Now()
	r := a.seen[msg]
	if r != nil && now.Sub(r.at) < a.quiet {
		r.suppressed++
		a.mu.Unlock()
		ev.Discard()
		return
	}
	suppressed := 0
	if r != nil {
		suppressed = r.suppressed
	}
	if len(a.seen) > 256 {
		clear(a.seen)
	}
	a.seen[msg] = &repeat{at: now}
	a.mu.Unlock()
	if suppressed > 0 {
		ev = ev.Int("repeats_suppressed", suppressed)
	}
	ev.Msg(msg)
}

func (a *asynqLogger) Debug(args ...any) { a.log(a.l.Debug(), args) }
func (a *asynqLogger) Info(args ...any)  { a.log(a.l.Info(), args) }
func (a *asynqLogger) Warn(args ...any)  { a.log(a.l.Warn(), args) }
func (a *asynqLogger) Error(args ...any) { a.log(a.l.Error(), args) }
func (a *asynqLogger) Fatal(args ...any) { a.log(a.l.Error(), args) } // never exit the bridge from a library
