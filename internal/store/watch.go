package store

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Watch follows a durable store for what an on-call operator must hear of
// and no request would show: that it stopped answering, that it answers
// again, and above all that it came back without its data (a Redis
// restarted without persistence, a flush, a failover to an empty replica),
// which silently drops every queued, retrying and parked delivery and every
// fire-once claim.
//
// A marker key with a random value is written once; a store that answers
// without it, or with another bridge's new one, has lost its data since.
type Watch struct {
	client redis.UniversalClient
	key    string
	log    zerolog.Logger
	reset  func() // counts a reset (metrics)

	seen  bool   // the store answered at least once
	down  bool   // it did not answer the last check
	epoch string // the marker's value at the last check
	looks int    // checks since Redis's settings were last read

	mu       sync.Mutex
	findings []string // Durability's, at the last reading
}

// persistsNothing starts Durability's finding of a Redis without persistence.
const persistsNothing = "Redis persists nothing"

// settingsEvery is how many checks pass between readings of Redis's
// persistence and eviction settings (each is two commands).
const settingsEvery = 12

// NewWatch watches client through the marker key; reset is called for each
// loss of data seen.
func NewWatch(client redis.UniversalClient, key string, log zerolog.Logger, reset func()) *Watch {
	return &Watch{client: client, key: key, log: log.With().Str("component", "store").Logger(), reset: reset}
}

// Run checks every interval until ctx is done.
func (w *Watch) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Check(ctx)
		}
	}
}

// Check looks at the store once, and logs what changed since the last look.
func (w *Watch) Check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	epoch, err := w.marker(ctx)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return // stopping
		}
		if w.seen && !w.down { // at startup, the bridge has said so already
			w.log.Warn().Err(err).Msg("store stopped answering: webhooks answer 503 and /readyz is 503 until it does")
		}
		w.down = true
		return
	}
	if w.down {
		w.log.Info().Msg("store answers again")
	}
	if !w.seen || w.down || w.looks >= settingsEvery {
		w.settings(ctx)
	}
	w.looks++
	if w.epoch != "" && epoch != w.epoch {
		w.log.Error().Msg("the store came back without its data (Redis restarted without persistence, was flushed, or failed over to an empty replica): " +
			"every queued, retrying and parked delivery and every fire-once claim it held is lost, so tickets may be notified again; " +
			"give Redis persistence (appendonly yes) and maxmemory-policy noeviction, and check Zendesk's webhook log for tickets to re-trigger")
		if w.reset != nil {
			w.reset()
		}
	}
	w.seen, w.down, w.epoch = true, false, epoch
}

// marker reads the marker, writing a new one when there is none.
func (w *Watch) marker(ctx context.Context) (string, error) {
	v, err := w.client.Get(ctx, w.key).Result()
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, redis.Nil) {
		return "", err
	}
	if w.epoch == "" && !w.seen {
		w.log.Info().Str("key", w.key).Msg("store marker written: this Redis is new to this queue, or lost its data while no bridge ran")
	}
	// NX: of two bridges that find it gone, both read the one value written.
	if err := w.client.SetNX(ctx, w.key, rand.Text(), 0).Err(); err != nil {
		return "", err
	}
	return w.client.Get(ctx, w.key).Result()
}

// Durability lists what in Redis's own settings puts the bridge's data at
// risk, from its INFO (persistence and memory sections) and its "save"
// setting ("" when CONFIG is not allowed, as on many managed services, which
// persist on their own terms): nothing persisted, or keys evicted under
// memory pressure. Each is a sentence for a startup warning.
func Durability(info, save string, saveKnown bool) []string {
	fields := map[string]string{}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	var out []string
	if fields["aof_enabled"] == "0" && saveKnown && strings.TrimSpace(save) == "" {
		out = append(out, persistsNothing+" (appendonly no, no save points): a Redis restart loses every queued delivery and fire-once claim; set appendonly yes")
	}
	if p, ok := fields["maxmemory_policy"]; ok && p != "noeviction" {
		out = append(out, "Redis's maxmemory-policy is "+p+": under memory pressure it may evict deliveries and fire-once claims; set noeviction")
	}
	return out
}

// settings reads Redis's persistence and eviction settings, best effort,
// and logs each of Durability's findings when it is new: at startup, and
// when someone changes them (or a failover lands on a Redis set otherwise).
func (w *Watch) settings(ctx context.Context) {
	w.looks = 0
	info, err := w.client.Info(ctx, "persistence", "memory").Result()
	if err != nil {
		return
	}
	save, err := w.client.ConfigGet(ctx, "save").Result()
	v, known := save["save"]
	known = known && err == nil
	found := Durability(info, v, known)
	w.mu.Lock()
	before := w.findings
	// A CONFIG GET that failed this time (a timeout, or a Redis that now
	// forbids CONFIG) says nothing new of persistence: what was found
	// stands while INFO still shows no append-only file, rather than a
	// false all-clear.
	if !known && strings.Contains(info, "aof_enabled:0") {
		for _, f := range before {
			if strings.HasPrefix(f, persistsNothing) {
				found = append([]string{f}, found...)
			}
		}
	}
	w.findings = found
	w.mu.Unlock()
	for _, f := range found {
		if !slices.Contains(before, f) {
			w.log.Warn().Msg(f)
		}
	}
	if len(before) > 0 && len(found) == 0 {
		w.log.Info().Msg("Redis now persists its data and does not evict keys")
	}
}

// Warnings are what puts the bridge's data at risk in Redis's settings, as
// last read (for /readyz).
func (w *Watch) Warnings() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.findings)
}
