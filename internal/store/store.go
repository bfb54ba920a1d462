// Package store opens the Redis that holds fire-once claims and the delivery
// queue: a real one when configured, else an embedded in-process one so a
// first run needs nothing installed.
package store

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Store is an open Redis connection.
type Store struct {
	Client  redis.UniversalClient
	Durable bool
	closers []func()
}

// Open connects to url, or starts an embedded store when url is empty.
func Open(ctx context.Context, url string) (*Store, error) {
	if url == "" {
		return openEmbedded(ctx)
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		// net/url's errors quote pieces of the URL, password included
		// (an escape, a "port" cut at a # in the password): they are
		// named, never quoted. go-redis's own reasons (scheme, database
		// number) are passed on when they hold no part of the password.
		why := ""
		var ue *neturl.Error
		var esc neturl.EscapeError
		switch {
		case errors.As(err, &esc):
			why = " (a % escape is not valid: a password holding % # ? or / must be percent-encoded)"
		case errors.As(err, &ue):
			why = " (it cannot be parsed: a password holding # ? / or % must be percent-encoded)"
		default:
			if secret := password(url); secret == "" || !leaks(err.Error(), secret) {
				why = " (" + strings.TrimPrefix(err.Error(), "redis: ") + ")"
			}
		}
		return nil, fmt.Errorf("BRIDGE_REDIS_URL is not a valid redis:// or rediss:// URL%s: write redis://[:password@]host:port[/db]", why)
	}
	// Fail fast while Redis is away: Zendesk waits about 10 s for an answer
	// and a 503 with Retry-After is the useful one.
	opt.DialTimeout = time.Second
	opt.ReadTimeout = 2 * time.Second
	opt.WriteTimeout = 2 * time.Second
	opt.MaxRetries = 1
	c := redis.NewClient(opt)
	return &Store{Client: c, Durable: true, closers: []func(){func() { _ = c.Close() }}}, nil
}

// leaks reports whether msg holds secret, as written or quoted.
func leaks(msg, secret string) bool {
	q := strconv.Quote(secret)
	return strings.Contains(msg, secret) || strings.Contains(msg, q[1:len(q)-1])
}

// password is the password in a URL, or "" when it has none or cannot be
// parsed (then the whole URL is treated as secret by the caller's check on
// the userinfo as written).
func password(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		// Unparsable: take whatever sits between "://" and "@" as secret.
		rest := raw
		if _, after, ok := strings.Cut(raw, "://"); ok {
			rest = after
		}
		if userinfo, _, ok := strings.Cut(rest, "@"); ok && userinfo != "" {
			return userinfo
		}
		return ""
	}
	p, _ := u.User.Password()
	if p == "" && u.User != nil {
		p = u.User.Username() // redis://secret@host: a password without a user
	}
	return p
}

func openEmbedded(ctx context.Context) (*Store, error) {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, fmt.Errorf("start embedded store: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	// miniredis only expires keys when its clock is moved.
	tick := time.NewTicker(time.Second)
	done := make(chan struct{})
	go func() {
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				m.FastForward(now.Sub(last))
				m.SetTime(now)
				last = now
			}
		}
	}()
	return &Store{Client: c, Durable: false, closers: []func(){
		func() { _ = c.Close() },
		func() { tick.Stop(); close(done); m.Close() },
	}}, nil
}

// Close releases the connection (and stops an embedded store).
func (s *Store) Close() {
	for _, c := range s.closers {
		c()
	}
}
