// Package redistest gives tests a real Redis: the shared one CI starts, or a
// private redis-server of their own when they need to stop and start it.
//
// Without a Redis the tests skip with a message saying how to run them;
// BRIDGE_TEST_REDIS_REQUIRED=1 (set by .ci/run) turns that skip into a failure.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is tried when BRIDGE_TEST_REDIS_URL is unset: a local Redis,
// database 15, away from whatever a developer keeps in database 0.
const DefaultURL = "redis://127.0.0.1:6379/15"

const howTo = "start one (redis-server --port 6379) or set BRIDGE_TEST_REDIS_URL=redis://host:port/db, or run .ci/run"

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("BRIDGE_TEST_REDIS_REQUIRED") == "1" {
		t.Fatalf("real Redis required but %s", why)
	}
	t.Skipf("skipping: needs a real Redis, but %s; %s", why, howTo)
}

// URL returns the shared test Redis, checked to answer.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("BRIDGE_TEST_REDIS_URL")
	if u == "" {
		u = DefaultURL
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("BRIDGE_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		unavailable(t, fmt.Sprintf("%s does not answer (%v)", u, err))
	}
	return u
}

// Queue returns a queue name no other test uses, and deletes its keys when
// the test ends, so tests share one Redis without seeing each other.
func Queue(t testing.TB, url string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "test-" + hex.EncodeToString(b[:])
	t.Cleanup(func() { Clean(url, name) })
	return name
}

// Clean deletes every key of queue name.
func Clean(url, name string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	for _, pattern := range []string{"asynq:{" + name + "}:*", "bridge:" + name + ":*"} {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	}
	c.SRem(ctx, "asynq:queues", name)
}

// Server is a private redis-server the test may stop and start.
type Server struct {
	t    testing.TB
	Port int
	dir  string // its working directory: whatever it writes stays out of the repository
	cmd  *exec.Cmd
}

// Start runs a private redis-server on a free port, stopped at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		unavailable(t, "redis-server is not on PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{t: t, Port: port, dir: t.TempDir()}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(s.Port) + "/0" }

// Stop kills the server (as a crash would) and waits for it to go.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(s.Port)})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c.Ping(context.Background()).Err() == nil {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling a starting process: there is no signal to await
	}
	s.t.Fatalf("redis-server on port %d did not answer", s.Port)
}
