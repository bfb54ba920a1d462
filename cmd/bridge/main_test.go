package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/redistest"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender/fake8x8"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

const (
	testSecret = "zendesk-signing-secret"
	testAPIKey = "eightbyeight-api-key"
	testAdmin  = "admin-token"
)

// lines collects a bridge's log output and hands over the listen address
// as soon as the startup line is written.
type lines struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	addr  chan string
	found bool
	grew  chan struct{} // closed by the next Write, for await
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.grew != nil {
		close(l.grew)
		l.grew = nil
	}
	if !l.found {
		sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
		for sc.Scan() {
			var line struct{ Message, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "bridge listening" {
				l.found = true
				l.addr <- line.Addr
				break
			}
		}
	}
	return len(p), nil
}

// await returns once a line whose message starts with message has been written.
func (l *lines) await(t *testing.T, message string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		l.mu.Lock()
		for _, line := range bytes.Split(l.buf.Bytes(), []byte("\n")) {
			var m struct{ Message string }
			if json.Unmarshal(line, &m) == nil && strings.HasPrefix(m.Message, message) {
				l.mu.Unlock()
				return
			}
		}
		if l.grew == nil {
			l.grew = make(chan struct{})
		}
		grew := l.grew
		l.mu.Unlock()
		select {
		case <-grew:
		case <-timeout:
			t.Fatalf("no log line %q within 20s:\n%s", message, l)
		}
	}
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type bridge struct {
	URL  string
	logs *lines
	stop func() error
}

// baseEnv is a bridge that really sends, to the fake 8x8, with a signing
// secret, on its own queue in the real test Redis when there is one.
func baseEnv(t *testing.T, fake *fake8x8.Server) map[string]string {
	return map[string]string{
		"BRIDGE_ADDR":                   "127.0.0.1:0",
		"BRIDGE_RULES_FILE":             "testdata/rules.yaml",
		"BRIDGE_8X8_API_KEY":            testAPIKey,
		"BRIDGE_8X8_SMS_URL":            fake.SMSURL,
		"BRIDGE_8X8_CHATAPPS_URL":       fake.ChatAppsURL,
		"BRIDGE_ZENDESK_SIGNING_SECRET": testSecret,
		"BRIDGE_ADMIN_TOKEN":            testAdmin,
		"BRIDGE_RETRY_BASE":             "10ms",
		"BRIDGE_RETRY_MAX_DELAY":        "20ms",
		"BRIDGE_WORKERS":                "4",
		"BRIDGE_SHUTDOWN_TIMEOUT":       "5s",
	}
}

// withRedis puts the bridge on the real test Redis, on a queue of its own.
func withRedis(t *testing.T, env map[string]string) map[string]string {
	url := redistest.URL(t)
	env["BRIDGE_REDIS_URL"] = url
	env["BRIDGE_QUEUE"] = redistest.Queue(t, url)
	return env
}

// environOf is env as os.Environ gives it: the bridge's whole environment.
func environOf(env map[string]string) []string {
	environ := make([]string, 0, len(env))
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	return environ
}

// start runs the real run() with env and waits until it listens.
func start(t *testing.T, env map[string]string) *bridge {
	t.Helper()
	logs := &lines{addr: make(chan string, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return env[k] }, environOf(env), logs, io.Discard)
	}()
	b := &bridge{logs: logs}
	var once sync.Once
	var stopErr error
	b.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { _ = b.stop() })
	select {
	case addr := <-logs.addr:
		b.URL = "http://" + addr
	case err := <-done:
		t.Fatalf("bridge exited before listening: %v\n%s", err, logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("bridge did not start\n%s", logs)
	}
	return b
}

type answer struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (b *bridge) do(t *testing.T, method, path string, body []byte, header http.Header) answer {
	t.Helper()
	req, _ := http.NewRequest(method, b.URL+path, bytes.NewReader(body))
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &a.Body)
	return a
}

// signed returns Zendesk's headers for body, signed now.
func signed(body []byte, invocation string) http.Header {
	ts := time.Now().UTC().Format(time.RFC3339)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(zendesk.HeaderTimestamp, ts)
	h.Set(zendesk.HeaderSignature, zendesk.Sign(testSecret, ts, body))
	if invocation != "" {
		h.Set(zendesk.HeaderInvocationID, invocation)
	}
	return h
}

func (b *bridge) webhook(t *testing.T, path string, body []byte, invocation string) answer {
	t.Helper()
	return b.do(t, http.MethodPost, path, body, signed(body, invocation))
}

func (b *bridge) admin(t *testing.T, method, path string, body []byte) answer {
	t.Helper()
	return b.do(t, method, path, body, http.Header{"Authorization": {"Bearer " + testAdmin}})
}

func ticket(id, status, tags, phone string) []byte {
	b, _ := json.Marshal(map[string]any{"ticket": map[string]any{
		"id": id, "status": status, "tags": tags, "link": "https://acme.zendesk.com/agent/tickets/" + id,
		"requester": map[string]any{"name": "Mei Ling", "phone": phone},
	}})
	return b
}

func waitRequests(t *testing.T, fake *fake8x8.Server, n int) []fake8x8.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reqs, err := fake.WaitRequests(ctx, n)
	if err != nil {
		t.Fatalf("waiting for %d 8x8 requests: got %d: %v", n, len(fake.Requests()), err)
	}
	return reqs
}

func ruleResults(a answer) map[string]map[string]any {
	out := map[string]map[string]any{}
	rs, _ := a.Body["rules"].([]any)
	for _, r := range rs {
		m, _ := r.(map[string]any)
		name, _ := m["rule"].(string)
		out[name] = m
	}
	return out
}

// A misspelt variable is named in a warning with the one it probably
// meant; its value, which may be a secret, is not logged.
func TestUnknownVariablesAreWarned(t *testing.T) {
	t.Parallel()
	fake := fake8x8.New(t, fake8x8.SpecDir(t))
	env := baseEnv(t, fake)
	env["BRIDGE_WORKER"] = "8"
	env["BRIDGE_REDIS_URI"] = "redis://:hunter2@redis.internal:6379"
	b := start(t, env)

	var warned []map[string]any
	for _, l := range strings.Split(b.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["variable"] != nil {
			warned = append(warned, m)
		}
	}
	slices.SortFunc(warned, func(a, b map[string]any) int { return strings.Compare(a["variable"].(string), b["variable"].(string)) })
	if len(warned) != 2 || warned[0]["variable"] != "BRIDGE_REDIS_URI" || warned[0]["did_you_mean"] != "BRIDGE_REDIS_URL" ||
		warned[1]["variable"] != "BRIDGE_WORKER" || warned[1]["did_you_mean"] != "BRIDGE_WORKERS" || warned[1]["level"] != "warn" {
		t.Fatalf("warnings %v\n%s", warned, b.logs)
	}
	if strings.Contains(b.logs.String(), "hunter2") {
		t.Fatalf("a value reached the log:\n%s", b.logs)
	}
}
