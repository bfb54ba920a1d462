// Package queue stores deliveries durably in Redis (with asynq) and hands
// them to a worker pool that sends them to 8x8, retrying and parking by the
// sender's classification.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

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

// States lists every state, in the order an operator reads them.
var States = []State{Queued, Active, Retrying, Parked, Sent}

// Attempt is what the last attempt came to; the worker writes it as the
// task's result so listings can show it.
type Attempt struct {
	Attempts   int       `json:"attempts"`
	Status     int       `json:"status,omitempty"`
	Code       int       `json:"code,omitempty"`
	Message    string    `json:"message,omitempty"`
	UMID       string    `json:"umid,omitempty"`
	At         time.Time `json:"at"`
	ReplayedAt time.Time `json:"replayed_at,omitzero"`
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

// Queue enqueues and inspects deliveries.
type Queue struct {
	rdb       redis.UniversalClient
	client    *asynq.Client
	inspector *asynq.Inspector
	name      string
	now       func() time.Time
}

// New returns a queue named name on rdb. Several bridges may share one.
func New(rdb redis.UniversalClient, name string, now func() time.Time) *Queue {
	return &Queue{
		rdb:       rdb,
		client:    asynq.NewClientFromRedisClient(rdb),
		inspector: asynq.NewInspectorFromRedisClient(rdb),
		name:      name,
		now:       now,
	}
}

// Name is the asynq queue name.
func (q *Queue) Name() string { return q.name }

// Enqueue stores d durably unless its id is already claimed, and keeps the
// claim for window after it completes. Claim and store are one Redis script
// (asynq's TaskID enqueue): queued=false means the key had fired already.
func (q *Queue) Enqueue(ctx context.Context, d Delivery, window time.Duration) (queued bool, err error) {
	payload, err := json.Marshal(d)
	if err != nil {
		return false, fmt.Errorf("encode delivery: %w", err)
	}
	_, err = q.client.EnqueueContext(ctx, asynq.NewTask(taskType, payload),
		asynq.TaskID(d.ID),
		asynq.Queue(q.name),
		// The worker decides retry or park itself; asynq's own count must
		// never archive a delivery that waits for a rate limit.
		asynq.MaxRetry(1<<30),
		asynq.Timeout(2*time.Minute),
		asynq.Retention(window),
	)
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store delivery: %w", err)
	}
	return true, nil
}

// Get returns one delivery.
func (q *Queue) Get(ctx context.Context, id string) (Info, error) {
	ti, err := q.inspector.GetTaskInfo(q.name, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return Info{}, ErrNotFound
	}
	if err != nil {
		return Info{}, err
	}
	return info(ti), nil
}

// Fired reports whether a claim for id exists, and in which state.
func (q *Queue) Fired(ctx context.Context, id string) (State, bool, error) {
	in, err := q.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return in.State, true, nil
}

// List returns up to limit deliveries in a state, newest first where asynq
// keeps an order.
func (q *Queue) List(ctx context.Context, state State, limit int) ([]Info, error) {
	var lists []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)
	switch state {
	case Queued:
		lists = append(lists, q.inspector.ListPendingTasks, q.inspector.ListScheduledTasks)
	case Active:
		lists = append(lists, q.inspector.ListActiveTasks)
	case Retrying:
		lists = append(lists, q.inspector.ListRetryTasks)
	case Parked:
		lists = append(lists, q.inspector.ListArchivedTasks)
	case Sent:
		lists = append(lists, q.inspector.ListCompletedTasks)
	default:
		return nil, fmt.Errorf("unknown state %q", state)
	}
	pages := []int{1}
	if state == Parked {
		// asynq lists the archive oldest first; an operator wants the
		// newest. The last limit entries lie on the last two pages.
		d, err := q.Depth(ctx)
		if err != nil {
			return nil, err
		}
		if last := (d[Parked] + limit - 1) / limit; last > 1 {
			pages = []int{last - 1, last}
		}
	}
	var out []Info
	for _, list := range lists {
		for _, page := range pages {
			tis, err := list(q.name, asynq.PageSize(limit), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				continue // nothing was ever queued
			}
			if err != nil {
				return nil, err
			}
			for _, ti := range tis {
				out = append(out, info(ti))
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

// Replay queues a parked delivery again, with the same id and so the same
// clientMessageId, and a fresh budget of attempts and age.
func (q *Queue) Replay(ctx context.Context, id string) error {
	in, err := q.Get(ctx, id)
	if err != nil {
		return err
	}
	if in.State != Parked {
		return fmt.Errorf("%w: it is %s", ErrNotParked, in.State)
	}
	prev, _ := q.replayMark(ctx, id, in.AcceptedAt)
	mark := replayMark{Replays: prev.Replays + 1, RetriedBase: in.retried, At: q.now(), Accepted: in.AcceptedAt}
	b, _ := json.Marshal(mark)
	// As long as asynq may keep the parked task; deleted once it is sent.
	if err := q.rdb.Set(ctx, q.replayKey(id), b, 90*24*time.Hour).Err(); err != nil {
		return err
	}
	err = q.inspector.RunTask(q.name, id)
	if errors.Is(err, asynq.ErrTaskNotFound) {
		return ErrNotFound
	}
	if err != nil {
		// Another replay may have won the race: say so rather than blame
		// the store.
		if in, gerr := q.Get(ctx, id); gerr == nil && in.State != Parked {
			return fmt.Errorf("%w: it is %s", ErrNotParked, in.State)
		}
	}
	return err
}

// replayMark lets the worker count the attempt budget and age from the last
// replay rather than from acceptance. asynq's failure count (Retried) does
// not grow when a task is parked, so Replays makes up the lifetime count.
type replayMark struct {
	Replays     int       `json:"replays"`
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
	// GetQueueInfo reports a queue nothing was ever queued on with an
	// internal error type, not asynq.ErrQueueNotFound: ask first.
	exists, err := q.rdb.SIsMember(ctx, "asynq:queues", q.name).Result()
	if err != nil {
		return nil, err
	}
	if !exists {
		return map[State]int{}, nil
	}
	qi, err := q.inspector.GetQueueInfo(q.name)
	if err != nil {
		return nil, err
	}
	return map[State]int{
		Queued:   qi.Pending + qi.Scheduled,
		Active:   qi.Active,
		Retrying: qi.Retry,
		Parked:   qi.Archived,
		Sent:     qi.Completed,
	}, nil
}

// Ping checks the store answers.
func (q *Queue) Ping(ctx context.Context) error { return q.rdb.Ping(ctx).Err() }

func info(ti *asynq.TaskInfo) Info {
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
		in.State = Retrying
		in.NextAttemptAt = ti.NextProcessAt
	case asynq.TaskStateArchived:
		in.State = Parked
		in.ParkedAt = ti.LastFailedAt
	case asynq.TaskStateCompleted:
		in.State = Sent
	}
	in.retried = ti.Retried
	return in
}
