package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/redistest"
)

func TestEmbedded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Durable {
		t.Fatal("the embedded store says it is durable")
	}
	if err := s.Client.Set(ctx, "k", "v", time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	// miniredis only expires keys when its clock moves: the store moves it.
	deadline := time.Now().Add(5 * time.Second)
	for s.Client.Exists(ctx, "k").Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("a key with a 1 s TTL still exists after 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRedis(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Durable || s.Client.Ping(context.Background()).Err() != nil {
		t.Fatal("real Redis: not durable or not answering")
	}
}

func TestBadURLKeepsThePasswordOut(t *testing.T) {
	t.Parallel()
	_, err := Open(context.Background(), "redis://:hunter2@host:notaport/0")
	if err == nil || !strings.Contains(err.Error(), "BRIDGE_REDIS_URL") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Open = %v", err)
	}
}

// A bad URL is explained, without quoting its password.
func TestOpenBadURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ url, want, secret string }{
		{"redis://:hunter2@localhost:6379/abc", `invalid database number: "abc"`, "hunter2"},
		{"http://localhost:6379", "invalid URL scheme", ""},
		{"redis://user:hunter2@local%host:6379/0", "BRIDGE_REDIS_URL is not a valid", "hunter2"},
		{`redis://:pa"ss@localhost:6379/0`, "cannot be parsed", `pa\"ss`},
		{"redis://:secr#etpw@localhost:6379/0", "cannot be parsed", "secr"},
		{"redis://:Xy9?Qz@localhost:6379/0", "BRIDGE_REDIS_URL is not a valid", "Xy9"},
		{"redis://:hun%zzter@localhost:6379/0", "% escape", "%zz"},
		{"redis://:a\\b@localhost:6379/0", "BRIDGE_REDIS_URL is not a valid", `a\\b`},
	} {
		_, err := Open(context.Background(), c.url)
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.secret != "" && strings.Contains(err.Error(), c.secret)) {
			t.Errorf("Open(%q) = %v; want it to say %q and not %q", c.url, err, c.want, c.secret)
		}
	}
}
