package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/redistest"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// syncBuffer is a log both a test and a watch may touch.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}

// The watch says when the store stops and starts answering, and when it
// answers without its data, on every bridge that shares it.
func TestWatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	defer c.Close()
	var logs syncBuffer
	resets := 0
	w := NewWatch(c, "bridge:q:marker", zerolog.New(&logs), func() { resets++ })
	other := NewWatch(c, "bridge:q:marker", zerolog.Nop(), nil) // a second bridge
	otherResets := 0
	other.reset = func() { otherResets++ }

	w.Check(ctx)
	other.Check(ctx)
	if got := logs.take(); !strings.Contains(got, "store marker written") || resets != 0 {
		t.Fatalf("first check: %d resets, log %s", resets, got)
	}
	w.Check(ctx)
	if got := logs.take(); got != "" || resets != 0 {
		t.Fatalf("a quiet check logged %q, %d resets", got, resets)
	}

	// Redis restarts, keeping its data: down, then up, no reset.
	m.Close()
	w.Check(ctx)
	if got := logs.take(); !strings.Contains(got, "store stopped answering") {
		t.Fatalf("store down: %s", got)
	}
	w.Check(ctx)
	if got := logs.take(); got != "" {
		t.Fatalf("still down, logged again: %s", got)
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	w.Check(ctx)
	if got := logs.take(); !strings.Contains(got, "store answers again") || strings.Contains(got, "without its data") || resets != 0 {
		t.Fatalf("store back with its data: %d resets, log %s", resets, got)
	}

	// It loses its data: said once, by each bridge.
	m.FlushAll()
	w.Check(ctx)
	if got := logs.take(); !strings.Contains(got, `"level":"error"`) || !strings.Contains(got, "came back without its data") || resets != 1 {
		t.Fatalf("store emptied: %d resets, log %s", resets, got)
	}
	other.Check(ctx)
	w.Check(ctx)
	if resets != 1 || otherResets != 1 {
		t.Fatalf("resets seen: %d and %d, want 1 on each bridge", resets, otherResets)
	}
}

func TestDurability(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		info, save string
		known      bool
		want       []string
	}{
		{"aof_enabled:1\r\nmaxmemory_policy:noeviction\r\n", "", true, nil},
		{"aof_enabled:0\r\nmaxmemory_policy:noeviction\r\n", "3600 1 300 100", true, nil},
		{"aof_enabled:0\r\nmaxmemory_policy:noeviction\r\n", "", false, nil}, // CONFIG not allowed: unknown, not alarming
		{"aof_enabled:0\r\nmaxmemory_policy:noeviction\r\n", "", true, []string{"persists nothing"}},
		{"aof_enabled:1\r\nmaxmemory_policy:allkeys-lru\r\n", "", true, []string{"maxmemory-policy is allkeys-lru"}},
	} {
		got := Durability(c.info, c.save, c.known)
		if len(got) != len(c.want) {
			t.Errorf("Durability(%q, %q, %v) = %q, want %d warnings", c.info, c.save, c.known, got, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("Durability(%q, %q) warning %q does not say %q", c.info, c.save, got[i], w)
			}
		}
	}
}

// The watch reads Redis's persistence settings at its first look and again
// now and then: /readyz shows what it found, and a change is logged once.
// A private redis-server, started without persistence, whose settings the
// test changes.
func TestWatchFollowsRedisSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs := redistest.Start(t)
	opt, err := redis.ParseURL(rs.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	var logs syncBuffer
	w := NewWatch(c, "bridge:q:marker", zerolog.New(&logs), nil)

	w.Check(ctx)
	if got := w.Warnings(); len(got) != 1 || !strings.Contains(got[0], "persists nothing") {
		t.Fatalf("warnings without persistence: %q", got)
	}
	if got := logs.take(); strings.Count(got, "persists nothing") != 1 {
		t.Fatalf("first look logged: %s", got)
	}
	for range settingsEvery { // settings unchanged: nothing logged again
		w.Check(ctx)
	}
	if got := logs.take(); strings.Contains(got, "persists nothing") {
		t.Fatalf("an unchanged setting was logged again: %s", got)
	}

	// A CONFIG GET that fails (a timeout, a Redis that forbids CONFIG)
	// is no all-clear.
	var failConfig atomic.Bool
	c.AddHook(failing{cmd: "config", on: &failConfig})
	failConfig.Store(true)
	for range settingsEvery {
		w.Check(ctx)
	}
	if got := w.Warnings(); len(got) != 1 {
		t.Fatalf("warnings after a failed CONFIG GET: %q", got)
	}
	if got := logs.take(); strings.Contains(got, "now persists") {
		t.Fatalf("a failed CONFIG GET was read as an all-clear: %s", got)
	}
	failConfig.Store(false)

	if err := c.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	for range settingsEvery {
		w.Check(ctx)
	}
	if got := w.Warnings(); len(got) != 0 {
		t.Fatalf("warnings with appendonly yes: %q", got)
	}
	if got := logs.take(); !strings.Contains(got, "now persists its data") {
		t.Fatalf("the change was not logged: %s", got)
	}
}

// failing fails every command named cmd while on is set.
type failing struct {
	cmd string
	on  *atomic.Bool
}

func (f failing) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f failing) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.on.Load() && cmd.Name() == f.cmd {
			cmd.SetErr(errors.New("i/o timeout"))
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}

func (f failing) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// go-redis's own lines come out as the bridge's JSON, a few at a time.
// (Not parallel: go-redis's logger is the process's.)
func TestRedisLinesAreJSON(t *testing.T) {
	var logs syncBuffer
	LogRedisTo(zerolog.New(&logs))
	t.Cleanup(func() { LogRedisTo(zerolog.New(io.Discard)) })
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	for range 5 { // each tries 5 dials, then logs once
		_ = c.Ping(context.Background()).Err()
	}
	lines := strings.Split(strings.TrimSpace(logs.take()), "\n")
	if len(lines) == 0 || len(lines) > 3 {
		t.Fatalf("%d lines for 5 failed pings, want 1 to 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		var v struct{ Level, Component, Message string }
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.Level != "warn" || v.Component != "go-redis" || !strings.Contains(v.Message, "dial") {
			t.Fatalf("not a bridge line: %s (%v)", l, err)
		}
	}
}
