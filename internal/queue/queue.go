// Package queue stores deliveries durably in Redis (with asynq) and hands
// them to a worker pool that sends them to 8x8, retrying and parking by the
// sender's classification.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/dedupe"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
)

// taskType is the asynq task type of a delivery.
const taskType = "bridge:delivery"

// Delivery is one notification to send: what the queue stores.
type Delivery struct {
	// ID is the fire-once claim (dedupe.Key.ID) or a random id when the
	// delivery claims nothing (a /test send).
	ID     string `json:"id"`
	Rule   string `json:"rule"`
	Ticket string `json:"ticket"`
	// Key is the human form of the claim, for operators.
	Key        string         `json:"key,omitempty"`
	Message    sender.Message `json:"message"`
	AcceptedAt time.Time      `json:"accepted_at"`
	// Window is how long the claim holds, counted from AcceptedAt (the
	// rule's once_for when it was claimed); Enqueue sets it.
	Window time.Duration `json:"window,omitempty"`
	// Firing tells this claim of the id from a later one of the same key;
	// Enqueue sets it.
	Firing string `json:"firing,omitempty"`
	// Invocation is Zendesk's X-Zendesk-Webhook-Invocation-Id of the webhook
	// that claimed it, if any: a re-delivery of that invocation stays a
	// duplicate for dedupe.InvocationWindow, even past a shorter window.
	Invocation string `json:"invocation,omitempty"`
}

// token is a string found in d's stored payload and in no other firing's:
// its Firing, or for a delivery stored before Firing existed, its
// acceptance time as encoded there (nanoseconds).
func (d Delivery) token() string {
	if d.Firing != "" {
		return d.Firing
	}
	at, err := json.Marshal(d.AcceptedAt)
	if err != nil || d.AcceptedAt.IsZero() {
		return ""
	}
	return `"accepted_at":` + string(at)
}

// State is where a delivery is in its life.
type State string

const (
	Queued   State = "queued"   // waiting for a worker
	Active   State = "active"   // a worker is sending it
	Retrying State = "retrying" // waiting for its next attempt
	Sent     State = "sent"     // 8x8 accepted it (kept for once_for)
	Parked   State = "parked"   // failed for good; an operator may replay it
)

// A parked delivery stays in asynq's retry set, due parkDelay after it was
// parked, rather than in asynq's archive: the archive keeps at most 10,000
// tasks for at most 90 days and deletes the oldest beyond that, which would
// release their fire-once claims and lose them for operators. Nothing runs
// a task this far in the future; a replay moves it to the front. A task in
// the retry set due later than parkedBeyond from now is parked: no backoff
// or Retry-After comes near it.
const (
	parkDelay    = 100 * 365 * 24 * time.Hour
	parkedBeyond = parkDelay / 2
)

// States lists every state, in the order an operator reads them.
var States = []State{Queued, Active, Retrying, Parked, Sent}

// Attempt is what the last attempt came to; the worker writes it as the
// task's result so listings can show it.
type Attempt struct {
	Attempts int       `json:"attempts"`
	Status   int       `json:"status,omitempty"`
	Code     int       `json:"code,omitempty"`
	Message  string    `json:"message,omitempty"`
	UMID     string    `json:"umid,omitempty"`
	At       time.Time `json:"at"`
	// RateLimited counts 8x8's 429 answers in a row up to this attempt,
	// this one included (0 when it was not a 429): waits for a rate limit
	// are not attempts, so this is what their backoff grows with.
	RateLimited int `json:"rate_limited,omitempty"`
	// Replays is how many times the delivery had been replayed when this
	// attempt was made: a 429 after a replay starts RateLimited afresh.
	Replays int `json:"replays,omitempty"`
}

// Info is a delivery as an operator sees it.
type Info struct {
	Delivery
	State State
	// Last is what its last attempt came to (zero before the first).
	Last Attempt
	// ParkedAt is when it was parked; NextAttemptAt when it runs next.
	ParkedAt      time.Time
	NextAttemptAt time.Time
	LastError     string

	retried int // asynq's count of failed attempts
}

// ErrNotFound is returned for an unknown delivery id.
var ErrNotFound = errors.New("no such delivery")

// ErrNotParked is returned when replaying a delivery that is not parked.
var ErrNotParked = errors.New("delivery is not parked")

// NotParkedError is ErrNotParked with the state the delivery is in.
type NotParkedError struct{ State State }

func (e *NotParkedError) Error() string        { return "delivery is not parked: it is " + string(e.State) }
func (e *NotParkedError) Is(target error) bool { return target == ErrNotParked }

// Queue enqueues and inspects deliveries.
type Queue struct {
	rdb       redis.UniversalClient
	client    *asynq.Client
	inspector *asynq.Inspector
	name      string
	now       func() time.Time
	// options are Enqueue's options that are the same for every delivery.
	options []asynq.Option
}

// New returns a queue named name on rdb. Several bridges may share one.
func New(rdb redis.UniversalClient, name string, now func() time.Time) *Queue {
	return &Queue{
		rdb:       rdb,
		client:    asynq.NewClientFromRedisClient(rdb),
		inspector: asynq.NewInspectorFromRedisClient(rdb),
		name:      name,
		now:       now,
		options: []asynq.Option{
			asynq.Queue(name),
			// The worker decides retry or park itself; asynq's own count
			// must never archive a delivery that waits for a rate limit.
			asynq.MaxRetry(1 << 30),
			asynq.Timeout(2 * time.Minute),
		},
	}
}

// Name is the asynq queue name.
func (q *Queue) Name() string { return q.name }

// Enqueue stores d durably unless its id is claimed, and claims it for
// window from d.AcceptedAt. Claim and store are one Redis script (asynq's
// TaskID enqueue). queued=false means the key has fired within its window;
// holder is then the state of the delivery that holds it ("" if it went
// meanwhile).
//
// asynq keeps a sent delivery for window after it completes and a parked one
// until it is replayed, so an id can stay taken after its window: such a
// claim is released here, when the same key fires again, by a script that
// deletes exactly the delivery found expired (and nothing that took its
// place meanwhile), and the enqueue is tried again.
func (q *Queue) Enqueue(ctx context.Context, d Delivery, window time.Duration) (queued bool, holder State, err error) {
	d.Window = window
	if d.Firing == "" {
		d.Firing = rand.Text()
	}
	payload, err := encode(d)
	if err != nil {
		return false, "", fmt.Errorf("encode delivery: %w", err)
	}
	task := asynq.NewTask(taskType, payload)
	var opts [8]asynq.Option // q.options and the two below
	n := copy(opts[:], q.options)
	opts[n] = asynq.TaskID(d.ID)
	// At least window from the claim; Enqueue releases it on time. The
	// task is the claim, so a re-delivery of d's invocation must find it
	// for dedupe.InvocationWindow too, even when the rule's window is
	// shorter: asynq's janitor would otherwise delete it and the
	// re-delivery would send again.
	keep := window
	if d.Invocation != "" {
		keep = max(keep, dedupe.InvocationWindow)
	}
	opts[n+1] = asynq.Retention(retention(keep))
	for range 3 {
		_, err = q.client.EnqueueContext(ctx, task, opts[:n+2]...)
		if err == nil {
			return true, "", nil
		}
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			return false, "", fmt.Errorf("store delivery: %w", err)
		}
		released, holder, err := q.releaseExpired(ctx, d, window)
		if err != nil || !released {
			return false, holder, err
		}
	}
	// Released twice and taken again each time: another bridge queued it.
	return false, "", nil
}

// retention is window rounded up to asynq's whole seconds (it would keep
// a 500 ms window for 0 s, releasing the claim at completion).
func retention(window time.Duration) time.Duration {
	if r := window.Truncate(time.Second) + time.Second; r > window {
		return r
	}
	return window // would overflow
}

// expired reports whether in's claim has run out for next, a webhook of
// the same key whose rule now says window: in is over (sent or parked) and
// its window has passed. in's own window counts (the once_for in force when
// it was claimed); window stands in for a delivery stored without one. A
// delivery still being sent keeps its key whatever its age, so that one key
// never has two in flight; and a re-delivery of the invocation that claimed
// it stays a duplicate for dedupe.InvocationWindow.
func (q *Queue) expired(in Info, next Delivery, window time.Duration) bool {
	if in.State != Sent && in.State != Parked {
		return false
	}
	now := q.now()
	if next.Invocation != "" && next.Invocation == in.Invocation && now.Before(in.AcceptedAt.Add(dedupe.InvocationWindow)) {
		return false
	}
	if in.Window > 0 {
		window = in.Window
	}
	return window > 0 && !now.Before(in.AcceptedAt.Add(window))
}

// releaseExpired deletes the delivery holding d's id if its claim has run
// out for d. released=true means the id may be free now (another webhook may
// still win it): the caller tries to enqueue again. Otherwise holder is the
// state of the delivery that keeps it.
func (q *Queue) releaseExpired(ctx context.Context, d Delivery, window time.Duration) (released bool, holder State, err error) {
	in, err := q.Get(ctx, d.ID)
	if errors.Is(err, ErrNotFound) {
		return true, "", nil // gone since the conflict: asynq's janitor
	}
	if err != nil {
		return false, "", fmt.Errorf("read claim: %w", err)
	}
	token := in.token()
	if !q.expired(in, d, window) || token == "" {
		return false, in.State, nil
	}
	n, err := q.release(ctx, d.ID, token, true)
	if err != nil {
		return false, "", fmt.Errorf("release claim: %w", err)
	}
	if n {
		// Its replay mark, if any, belongs to the firing just deleted.
		q.forgetReplays(ctx, d.ID)
	}
	return true, "", nil
}

// release runs releaseScript for one firing of id; sent says whether a
// sent delivery may go too, or only a parked one.
func (q *Queue) release(ctx context.Context, id, firing string, sent bool) (bool, error) {
	n, err := releaseScript.Run(ctx, q.rdb,
		[]string{q.asynqKey("t:" + id), q.asynqKey("completed"), q.asynqKey("retry"), q.asynqKey("archived")},
		id, firing, q.now().Add(parkedBeyond).Unix(), sent,
	).Int()
	return n == 1, err
}

// Delete drops a parked delivery for good, and with it its fire-once claim:
// the key can fire again. It is for deliveries nobody will replay (a number
// that can never receive), which would otherwise stay parked.
func (q *Queue) Delete(ctx context.Context, id string) error {
	in, err := q.Get(ctx, id)
	if err != nil {
		return err
	}
	if in.State != Parked {
		return &NotParkedError{State: in.State}
	}
	deleted, err := q.release(ctx, id, in.token(), false)
	if err != nil {
		return err
	}
	if !deleted { // replayed, or replaced, since it was read
		if in, gerr := q.Get(ctx, id); gerr == nil && in.State != Parked {
			return &NotParkedError{State: in.State}
		}
		return ErrNotFound
	}
	q.forgetReplays(ctx, id)
	return nil
}

// asynqKey names one of asynq's keys for this queue (asynq/internal/base:
// "asynq:{<queue>}:<suffix>"). Only the scripts here and Depth use them,
// and the queue tests pin the layout on both stores.
func (q *Queue) asynqKey(suffix string) string { return "asynq:{" + q.name + "}:" + suffix }

// releaseScript deletes a finished delivery's task (what asynq's own
// DeleteTask does) only if it is still the firing the caller found expired:
// sent, parked or archived, with that firing's token in its message. A
// delivery queued in its place since then, or the same one replayed, is
// left alone.
//
// KEYS: task hash, completed, retry, archived. ARGV: task id, firing token,
// the least retry score of a parked task, 1 if a sent delivery may go too.
var releaseScript = redis.NewScript(`
local state = redis.call("HGET", KEYS[1], "state")
if state ~= "retry" and state ~= "archived" and not (state == "completed" and ARGV[4] == "1") then
	return 0
end
local msg = redis.call("HGET", KEYS[1], "msg")
if ARGV[2] == "" or not msg or not string.find(msg, ARGV[2], 1, true) then
	return 0
end
if state == "retry" then
	local due = redis.call("ZSCORE", KEYS[3], ARGV[1])
	if not due or tonumber(due) < tonumber(ARGV[3]) then
		return 0
	end
end
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("ZREM", KEYS[3], ARGV[1])
redis.call("ZREM", KEYS[4], ARGV[1])
return 1
`)

// writeResultScript stores an attempt's record in the task's hash, as
// asynq's ResultWriter does, but only while the hash still holds the task:
// after Redis lost its data mid-attempt, the ResultWriter's HSET would
// create a hash with a result and no task, which asynq cannot read and
// which would hold the delivery's id (its fire-once claim) for ever.
//
// KEYS: task hash. ARGV: the record.
var writeResultScript = redis.NewScript(`
if redis.call("HEXISTS", KEYS[1], "msg") == 0 then
	return 0
end
redis.call("HSET", KEYS[1], "result", ARGV[1])
return 1
`)

// writeResult stores rec as delivery id's last attempt. held=false means
// the store no longer has the delivery (it lost its data); err that it did
// not answer. It is written even while the worker stops: the record of an
// attempt that went out is worth the wait.
func (q *Queue) writeResult(ctx context.Context, id string, rec []byte) (held bool, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	n, err := writeResultScript.Run(ctx, q.rdb, []string{q.asynqKey("t:" + id)}, rec).Int()
	return n == 1, err
}

// dropDamaged deletes the hash of id if it holds no task (no "msg"), as a
// result written by asynq's ResultWriter after Redis lost the task leaves
// it; asynq cannot read such a hash, and it would hold the id's claim for
// ever. It reports whether there was one.
func (q *Queue) dropDamaged(ctx context.Context, id string) bool {
	n, err := dropDamagedScript.Run(ctx, q.rdb, []string{q.asynqKey("t:" + id)}).Int()
	return err == nil && n == 1
}

var dropDamagedScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 1 and redis.call("HEXISTS", KEYS[1], "msg") == 0 then
	redis.call("DEL", KEYS[1])
	return 1
end
return 0
`)

// named makes sure asynq's set of queue names holds this queue, which its
// Inspector needs to find any of the queue's deliveries. asynq's client adds
// the name once per process, so a Redis that restarted empty, or a failover
// to a replica that never had the name, would leave every delivery queued
// since then unlisted, unreplayable and uncounted until the bridge
// restarted. One SADD per inspection repairs that.
func (q *Queue) named(ctx context.Context) error {
	return q.rdb.SAdd(ctx, "asynq:queues", q.name).Err()
}

// Get returns one delivery.
func (q *Queue) Get(ctx context.Context, id string) (Info, error) {
	if err := q.named(ctx); err != nil {
		return Info{}, err
	}
	return q.get(ctx, id)
}

// get is Get once the queue is known to be named.
func (q *Queue) get(ctx context.Context, id string) (Info, error) {
	ti, err := q.inspector.GetTaskInfo(q.name, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return Info{}, ErrNotFound
	}
	if err != nil {
		if q.dropDamaged(ctx, id) { // what asynq could not read is no delivery
			return Info{}, ErrNotFound
		}
		return Info{}, err
	}
	return q.info(ti), nil
}

// Fired reports whether id is claimed for a webhook whose rule says
// window, and the state of the delivery that holds it. A delivery whose
// window has passed no longer holds it.
func (q *Queue) Fired(ctx context.Context, id string, window time.Duration) (State, bool, error) {
	in, err := q.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if q.expired(in, Delivery{}, window) {
		return "", false, nil
	}
	return in.State, true, nil
}

// List returns up to limit deliveries in a state, newest first where asynq
// keeps an order.
func (q *Queue) List(ctx context.Context, state State, limit int) ([]Info, error) {
	type source struct {
		list  func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)
		pages []int
	}
	if err := q.named(ctx); err != nil {
		return nil, err
	}
	first := []int{1}
	var sources []source
	switch state {
	case Queued:
		sources = []source{{q.inspector.ListPendingTasks, first}, {q.inspector.ListScheduledTasks, first}}
	case Active:
		sources = []source{{q.inspector.ListActiveTasks, first}}
	case Retrying:
		// Retries come first in the retry set, parked deliveries last.
		sources = []source{{q.inspector.ListRetryTasks, first}}
	case Sent:
		sources = []source{{q.inspector.ListCompletedTasks, first}}
	case Parked:
		// asynq lists both sets oldest first; an operator wants the newest,
		// which are the last limit entries: on the last two pages.
		sizes, err := q.sizes(ctx)
		if err != nil {
			return nil, err
		}
		sources = []source{
			{q.inspector.ListRetryTasks, lastPages(sizes.retry, limit)},
			{q.inspector.ListArchivedTasks, lastPages(sizes.archived, limit)},
		}
	default:
		return nil, fmt.Errorf("unknown state %q", state)
	}
	var out []Info
	for _, src := range sources {
		for _, page := range src.pages {
			tis, err := src.list(q.name, asynq.PageSize(limit), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				continue // nothing was ever queued
			}
			if err != nil {
				return nil, err
			}
			for _, ti := range tis {
				if in := q.info(ti); in.State == state {
					out = append(out, in)
				}
			}
		}
	}
	if state == Parked {
		sort.SliceStable(out, func(i, j int) bool { return out[i].ParkedAt.After(out[j].ParkedAt) })
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// lastPages are the pages of size limit that hold the last limit of n entries.
func lastPages(n, limit int) []int {
	last := (n + limit - 1) / limit
	if last <= 1 {
		return []int{1}
	}
	return []int{last - 1, last}
}

// Replay queues a parked delivery again, with the same id and so the same
// clientMessageId, and a fresh budget of attempts and age.
func (q *Queue) Replay(ctx context.Context, id string) error {
	in, err := q.Get(ctx, id)
	if err != nil {
		return err
	}
	return q.replay(ctx, in)
}

// replay is Replay of a delivery already read.
func (q *Queue) replay(ctx context.Context, in Info) error {
	id := in.ID
	if in.State != Parked {
		return &NotParkedError{State: in.State}
	}
	prev, _ := q.replayMark(ctx, id, in.AcceptedAt)
	mark := replayMark{Replays: prev.Replays + 1, RetriedBase: in.retried, At: q.now(), Accepted: in.AcceptedAt}
	b, _ := json.Marshal(mark)
	// Deleted once the delivery is sent or replaced; the TTL only bounds
	// what a delivery deleted behind the bridge's back leaves.
	if err := q.rdb.Set(ctx, q.replayKey(id), b, 90*24*time.Hour).Err(); err != nil {
		return err
	}
	err := q.inspector.RunTask(q.name, id)
	if errors.Is(err, asynq.ErrTaskNotFound) {
		return ErrNotFound
	}
	if err != nil {
		// Another replay may have won the race: say so rather than blame
		// the store.
		if in, gerr := q.Get(ctx, id); gerr == nil && in.State != Parked {
			return &NotParkedError{State: in.State}
		}
	}
	return err
}

// Filter picks parked deliveries for a bulk replay by what their last
// attempt came to; a zero field matches any.
type Filter struct {
	Status int    // 8x8's HTTP status, such as 401
	Code   int    // 8x8's error code, such as 1200
	Rule   string // the rule's name, in any case
}

func (f Filter) matches(in Info) bool {
	return (f.Status == 0 || in.Last.Status == f.Status) &&
		(f.Code == 0 || in.Last.Code == f.Code) &&
		(f.Rule == "" || strings.EqualFold(in.Rule, f.Rule))
}

// MaxBulk bounds one bulk replay: an operator repeats it for more.
const MaxBulk = 10_000

// Bulk is what a bulk replay did.
type Bulk struct {
	Matched  int      // parked deliveries the filter matched and this call took on
	Replayed []string // ids queued again
	Skipped  int      // matched but no longer parked when replayed (another replay, a new firing)
	// More says matching parked deliveries are left: the limit was reached,
	// or ctx ran out first. Running it again takes them on.
	More bool
}

// ReplayParked replays the parked deliveries f matches, at most limit (and
// MaxBulk) of them: the runbook's case of many deliveries parked by one
// cause (a revoked API key: 401) that is now fixed. It takes the ids of
// every parked delivery first, newest first (those in asynq's retry set,
// then any in its archive), so that retries scheduled meanwhile, which sort
// before parked deliveries, cannot shift any out of reach. When ctx is done
// it stops and reports More, so a caller can bound the time one call
// takes; on a store error it stops and returns what it replayed before.
func (q *Queue) ReplayParked(ctx context.Context, f Filter, limit int) (Bulk, error) {
	var b Bulk
	limit = min(limit, MaxBulk)
	if err := q.named(ctx); err != nil {
		return b, err
	}
	parked, err := q.rdb.ZRevRangeByScore(ctx, q.asynqKey("retry"), &redis.ZRangeBy{
		Min: strconv.FormatInt(q.now().Add(parkedBeyond).Unix(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return b, err
	}
	archived, err := q.rdb.ZRevRange(ctx, q.asynqKey("archived"), 0, -1).Result()
	if err != nil {
		return b, err
	}
	for _, id := range append(parked, archived...) {
		if ctx.Err() != nil {
			b.More = true
			return b, nil
		}
		in, err := q.get(ctx, id) // named above
		switch {
		case errors.Is(err, ErrNotFound):
			continue // gone since the ids were read
		case err != nil && ctx.Err() != nil:
			b.More = true
			return b, nil
		case err != nil:
			return b, err
		}
		if in.State != Parked || !f.matches(in) {
			continue
		}
		if b.Matched == limit {
			b.More = true
			return b, nil
		}
		b.Matched++
		switch err := q.replay(ctx, in); { // read just now: not read again
		case err == nil:
			b.Replayed = append(b.Replayed, id)
		case errors.Is(err, ErrNotParked), errors.Is(err, ErrNotFound):
			b.Skipped++
		case ctx.Err() != nil: // out of time mid-replay: it can be run again
			b.Matched--
			b.More = true
			return b, nil
		default:
			return b, err
		}
	}
	return b, nil
}

// replayMark lets the worker count the attempt budget and age from the last
// replay rather than from acceptance.
type replayMark struct {
	Replays     int       `json:"replays"`      // for an operator reading Redis
	RetriedBase int       `json:"retried_base"` // Retried when last replayed
	At          time.Time `json:"at"`
	// Accepted ties the mark to one firing of the key: a later delivery
	// with the same id ignores it.
	Accepted time.Time `json:"accepted"`
}

// forgetReplays drops the mark of a delivery that was sent, so a later
// firing of the same key starts afresh.
func (q *Queue) forgetReplays(ctx context.Context, id string) {
	_ = q.rdb.Del(ctx, q.replayKey(id)).Err()
}

func (q *Queue) replayKey(id string) string { return "bridge:" + q.name + ":replay:" + id }

func (q *Queue) sentKey(firing string) string { return "bridge:" + q.name + ":sent:" + firing }

// recordSent notes in the store that firing was sent, for a bridge that
// runs it again after asynq lost its completion (see Worker.process). The
// store is away when this is needed, so it is tried until it answers, for
// at most sentFor, in the background; a closed client ends it.
// rec is the attempt's record, which the rerun writes in its place.
func (q *Queue) recordSent(firing string, rec []byte, now func() time.Time, retry time.Duration) {
	until := now().Add(sentFor)
	go func() {
		for now().Before(until) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := q.rdb.Set(ctx, q.sentKey(firing), rec, sentFor).Err()
			cancel()
			if err == nil || errors.Is(err, redis.ErrClosed) {
				return
			}
			time.Sleep(retry)
		}
	}()
}

// sentBefore returns the attempt record recordSent wrote for firing, if any.
func (q *Queue) sentBefore(ctx context.Context, firing string) ([]byte, bool) {
	rec, err := q.rdb.Get(ctx, q.sentKey(firing)).Bytes()
	return rec, err == nil
}

// lastAttempt is the record the previous attempt of delivery id wrote (zero
// if none, or if the store does not answer).
func (q *Queue) lastAttempt(ctx context.Context, id string) Attempt {
	var a Attempt
	if b, err := q.rdb.HGet(ctx, q.asynqKey("t:"+id), "result").Bytes(); err == nil {
		_ = json.Unmarshal(b, &a)
	}
	return a
}

func (q *Queue) replayMark(ctx context.Context, id string, accepted time.Time) (replayMark, bool) {
	b, err := q.rdb.Get(ctx, q.replayKey(id)).Bytes()
	if err != nil {
		return replayMark{}, false
	}
	var m replayMark
	if json.Unmarshal(b, &m) != nil || !m.Accepted.Equal(accepted) {
		return replayMark{}, false
	}
	return m, true
}

// Depth counts deliveries by state.
func (q *Queue) Depth(ctx context.Context) (map[State]int, error) {
	sz, err := q.sizes(ctx)
	if err != nil {
		return nil, err
	}
	return map[State]int{
		Queued:   sz.pending + sz.scheduled,
		Active:   sz.active,
		Retrying: sz.retry - sz.parked,
		Parked:   sz.parked + sz.archived,
		Sent:     sz.completed,
	}, nil
}

// sizes are the lengths of asynq's sets for the queue; parked is the part of
// the retry set that is parked (see parkDelay).
type sizes struct {
	pending, scheduled, active, retry, archived, completed, parked int
}

func (q *Queue) sizes(ctx context.Context) (sizes, error) {
	// GetQueueInfo reports a queue missing from asynq's names with an
	// internal error type, not asynq.ErrQueueNotFound.
	if err := q.named(ctx); err != nil {
		return sizes{}, err
	}
	qi, err := q.inspector.GetQueueInfo(q.name)
	if err != nil {
		return sizes{}, err
	}
	parked, err := q.rdb.ZCount(ctx, q.asynqKey("retry"), strconv.FormatInt(q.now().Add(parkedBeyond).Unix(), 10), "+inf").Result()
	if err != nil {
		return sizes{}, err
	}
	return sizes{
		pending: qi.Pending, scheduled: qi.Scheduled, active: qi.Active, retry: qi.Retry,
		archived: qi.Archived, completed: qi.Completed, parked: int(parked),
	}, nil
}

// Ping checks the store answers.
func (q *Queue) Ping(ctx context.Context) error { return q.rdb.Ping(ctx).Err() }

func (q *Queue) info(ti *asynq.TaskInfo) Info {
	var in Info
	_ = json.Unmarshal(ti.Payload, &in.Delivery)
	in.ID = ti.ID
	_ = json.Unmarshal(ti.Result, &in.Last)
	in.LastError = ti.LastErr
	switch ti.State {
	case asynq.TaskStatePending, asynq.TaskStateScheduled:
		in.State = Queued
	case asynq.TaskStateActive:
		in.State = Active
	case asynq.TaskStateRetry:
		if ti.NextProcessAt.After(q.now().Add(parkedBeyond)) {
			in.State = Parked
			in.ParkedAt = parkedAt(in.Last, ti)
		} else {
			in.State = Retrying
			in.NextAttemptAt = ti.NextProcessAt
		}
	case asynq.TaskStateArchived: // by hand (asynqmon, say): parked too
		in.State = Parked
		in.ParkedAt = parkedAt(in.Last, ti)
	case asynq.TaskStateCompleted:
		in.State = Sent
	}
	in.retried = ti.Retried
	return in
}

// parkedAt is when the delivery was parked: its last attempt, which parked
// it (asynq keeps only whole seconds), else asynq's time of the failure.
func parkedAt(last Attempt, ti *asynq.TaskInfo) time.Time {
	if !last.At.IsZero() {
		return last.At
	}
	return ti.LastFailedAt
}
