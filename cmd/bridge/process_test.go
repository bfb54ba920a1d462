package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/redistest"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender/fake8x8"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// TestMain removes the bridge binary the process tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds the real bridge once for the tests that signal a process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bridge-test-bin")
		if err != nil {
			buildErr = err
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "bridge")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build bridge: %v", buildErr)
	}
	return binPath
}

type child struct {
	*bridge
	cmd    *exec.Cmd
	exit   chan error
	stderr *lines // where a panic would be written
}

// startChild runs the built bridge as a real process with env.
func startChild(t *testing.T, env map[string]string) *child {
	t.Helper()
	cmd := exec.Command(binary(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lines{addr: make(chan string, 1)}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{bridge: &bridge{logs: &lines{addr: make(chan string, 1)}}, cmd: cmd, exit: make(chan error, 1), stderr: stderr}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			_, _ = c.logs.Write(append(sc.Bytes(), '\n'))
		}
		c.exit <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case addr := <-c.logs.addr:
		c.URL = "http://" + addr
	case err := <-c.exit:
		t.Fatalf("bridge exited: %v\n%s", err, c.logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("bridge did not start\n%s", c.logs)
	}
	return c
}

// A bridge killed while a delivery waits for its retry: the next bridge
// delivers it, exactly once.
func TestKilledWhileRetryingDeliversOnce(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	fake.Script(fake8x8.Response{Status: 503, Header: http.Header{"Retry-After": {"5"}}, Body: `{"code":2000,"message":"busy"}`})
	env := withRedis(t, baseEnv(t, fake))
	first := startChild(t, env)
	if a := first.webhook(t, "/webhooks/zendesk/solved-sms", ticket("31", "solved", "", "9123 4567"), ""); a.Status != 202 {
		t.Fatalf("webhook: %d %s", a.Status, a.Raw)
	}
	waitRequests(t, fake, 1)
	awaitState(t, first.bridge, "retrying", 1)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.exit

	second := startChild(t, env)
	reqs := waitRequests(t, fake, 2)
	if reqs[1].ClientMessageID != reqs[0].ClientMessageID {
		t.Fatalf("clientMessageId changed across the restart")
	}
	sent := awaitState(t, second.bridge, "sent", 1)
	if len(sent) != 1 {
		t.Fatalf("%d sent", len(sent))
	}
	_ = second.cmd.Process.Signal(syscall.SIGTERM)
	<-second.exit
	if n := len(fake.Requests()); n != 2 {
		t.Fatalf("%d 8x8 requests, want 2 (the 503, then one delivery)", n)
	}
}

// SIGTERM: stop accepting, finish the in-flight 8x8 attempt, exit 0.
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	fake.Script(fake8x8.Response{Delay: 1500 * time.Millisecond, // a slow but successful 8x8
		Body: `{"umid":"u-slow","destination":"+6591234567","encoding":"GSM7","status":{"code":"QUEUED","description":"SMS is accepted and queued for processing"}}`})
	env := withRedis(t, baseEnv(t, fake))
	c := startChild(t, env)
	c.webhook(t, "/webhooks/zendesk/solved-sms", ticket("41", "solved", "", "9123 4567"), "")
	waitRequests(t, fake, 1) // the attempt is in flight
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.exit:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, c.logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("bridge did not stop within 20s of SIGTERM")
	}
	// The attempt finished rather than being cut: 8x8's answer was logged.
	delivered := false
	for _, line := range splitLines(c.logs.String()) {
		var l struct{ Message, Outcome string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Message == "delivered to 8x8" {
			delivered = true
		}
	}
	if !delivered {
		t.Fatalf("the in-flight delivery did not finish before exit:\n%s", c.logs)
	}
	if _, err := http.Get(c.URL + "/healthz"); err == nil {
		t.Fatal("the stopped bridge still answers")
	}
}

// A second SIGTERM while the first waits for a slow 8x8 stops at once,
// with exit status 1 and the reason, and without a panic: asynq's
// goroutines still hold the Redis client when the bridge returns.
func TestSecondSIGTERMStopsAtOnce(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	fake.Script(fake8x8.Response{Delay: time.Minute}) // ends when the bridge hangs up
	env := withRedis(t, baseEnv(t, fake))
	c := startChild(t, env)
	c.webhook(t, "/webhooks/zendesk/solved-sms", ticket("43", "solved", "", "9123 4567"), "")
	waitRequests(t, fake, 1) // the attempt is in flight, and stays so
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.logs.await(t, "shutting down: no new requests, finishing in-flight ones")
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	select {
	case err := <-c.exit:
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("exit %v, want status 1\nstdout:\n%s\nstderr:\n%s", err, c.logs, c.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("bridge did not stop within 20s of the second SIGTERM")
	}
	c.logs.await(t, "second signal: stopping without waiting; unfinished deliveries stay queued")
	if s := c.stderr.String(); strings.Contains(s, "panic") || !strings.Contains(s, "second signal") {
		t.Fatalf("stderr:\n%s", s)
	}
}

func splitLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// Redis stops: webhooks get 503 with Retry-After and nothing is claimed;
// /readyz says why; when Redis is back the bridge recovers by itself.
func TestRedisOutageAnswers503ThenRecovers(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	env := baseEnv(t, fake)
	env["BRIDGE_REDIS_URL"] = rs.URL()
	b := start(t, env)
	// This Redis keeps nothing across a restart: /readyz says so.
	if a := b.do(t, http.MethodGet, "/readyz", nil, nil); a.Status != 200 || a.Body["durable"] != true ||
		!strings.Contains(a.Raw, "Redis persists nothing") {
		t.Fatalf("readyz: %d %s", a.Status, a.Raw)
	}
	rs.Stop()
	a := b.webhook(t, "/webhooks/zendesk/solved-sms", ticket("51", "solved", "", "9123 4567"), "")
	if a.Status != http.StatusServiceUnavailable || a.Header.Get("Retry-After") != "5" || a.Body["error"] != "store_unavailable" {
		t.Fatalf("webhook with Redis down: %d %v %s", a.Status, a.Header, a.Raw)
	}
	if a := b.do(t, http.MethodGet, "/readyz", nil, nil); a.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with Redis down: %d %s", a.Status, a.Raw)
	}
	rs.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for {
		a = b.webhook(t, "/webhooks/zendesk/solved-sms", ticket("51", "solved", "", "9123 4567"), "")
		if a.Status == http.StatusAccepted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery 15s after Redis returned: %d %s", a.Status, a.Raw)
		}
		time.Sleep(100 * time.Millisecond) // go-redis keeps its last dial error for about a second
	}
	waitRequests(t, fake, 1)
	// This Redis keeps nothing across a restart, which the bridge said at
	// startup, and now says it lost (its watch looks every 5 s).
	b.logs.await(t, "Redis persists nothing")
	b.logs.await(t, "the store came back without its data")
}
