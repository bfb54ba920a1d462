// Package server is the bridge's HTTP surface: Zendesk webhooks, the /test
// dry run, the operator's delivery routes, health and metrics.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/rs/zerolog"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/queue"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
)

// Queue is what the server needs of the delivery queue.
type Queue interface {
	Enqueue(ctx context.Context, d queue.Delivery, window time.Duration) (queued bool, holder queue.State, err error)
	Fired(ctx context.Context, id string, window time.Duration) (queue.State, bool, error)
	List(ctx context.Context, s queue.State, limit int) ([]queue.Info, error)
	Get(ctx context.Context, id string) (queue.Info, error)
	Replay(ctx context.Context, id string) error
	ReplayParked(ctx context.Context, f queue.Filter, limit int) (queue.Bulk, error)
	Delete(ctx context.Context, id string) error
	Ping(ctx context.Context) error
	Depth(ctx context.Context) (map[queue.State]int, error)
}

// Sender sends a /test message at once, outside the queue.
type Sender interface {
	Send(ctx context.Context, m sender.Message) (sender.Result, error)
}

// Requester shows what would be posted to 8x8.
type Requester interface {
	Request(m sender.Message) (url string, body []byte, err error)
}

// Metrics is what the server counts.
type Metrics interface {
	Webhook(outcome string)
	RuleResult(rule, result string)
	Handler() http.Handler
}

// Rules is the current rule set and the result of its last load.
type Rules interface {
	Current() *rules.Set
	Status() any
}

// Options are the server's dependencies and settings.
type Options struct {
	Rules     Rules
	Queue     Queue
	Sender    Sender
	Requester Requester
	Metrics   Metrics
	Log       zerolog.Logger
	Now       func() time.Time

	MaxBody        int64
	SigningSecrets []string // any may sign a webhook; none: no signature asked
	ZendeskToken   string
	MaxSkew        time.Duration
	AdminToken     string
	DryRun         bool
	Durable        bool
	StoreWarnings  func() []string // what in Redis's settings risks its data; may be nil
	// ReadBudget is the memory the request bodies being read may take at
	// once (0: 64 MiB); a request waits ReadWait (0: 5 s) for its turn,
	// then is answered 503.
	ReadBudget int64
	ReadWait   time.Duration
}

type server struct {
	Options
	// bodies bounds the request bodies read at once, so that many slow
	// or large requests, before any signature is checked, cannot hold
	// more than about ReadBudget of memory between them.
	bodies chan struct{}
}

// New returns the bridge's HTTP handler.
func New(o Options) http.Handler {
	if o.ReadBudget <= 0 {
		o.ReadBudget = 64 << 20
	}
	if o.ReadWait <= 0 {
		o.ReadWait = 5 * time.Second // Zendesk retries the 503 after
	}
	// Each reading takes up to twice BRIDGE_MAX_BODY (io.ReadAll's growth).
	slots := 1
	if o.MaxBody > 0 {
		slots = max(slots, int(o.ReadBudget/(2*o.MaxBody)))
	}
	s := &server{Options: o, bodies: make(chan struct{}, slots)}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Logger.SetOutput(io.Discard)
	// A panic in a handler becomes a logged 500 in the usual shape, not a
	// reset connection.
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.Log.Error().Err(err).Str("path", c.Request().URL.Path).Bytes("stack", stack).Msg("handler panicked")
			return err
		},
	}))
	s.routes(e)
	return e
}

// routes is the whole API surface.
func (s *server) routes(e *echo.Echo) {
	e.POST("/webhooks/zendesk", s.webhook)
	e.POST("/webhooks/zendesk/", s.webhook) // as pasted with a slash: every rule
	e.POST("/webhooks/zendesk/:rule", s.webhook)

	e.POST("/test", s.test, s.requireAdmin)
	e.GET("/deliveries", s.listDeliveries, s.requireAdmin)
	e.GET("/deliveries/:id", s.getDelivery, s.requireAdmin)
	e.POST("/deliveries/:id/replay", s.replay, s.requireAdmin)
	e.POST("/deliveries/replay", s.replayParked, s.requireAdmin)
	e.DELETE("/deliveries/:id", s.deleteDelivery, s.requireAdmin)

	e.GET("/healthz", s.healthz)
	e.HEAD("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.HEAD("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(s.Metrics.Handler()))
}

// requireAdmin guards the admin routes with BRIDGE_ADMIN_TOKEN. With no
// token the routes do not exist, except a dry-run bridge's /test, which
// cannot send and so is safe to leave open.
func (s *server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.AdminToken == "" {
			if s.DryRun && c.Path() == "/test" {
				return readableQuery(next)(c)
			}
			return fail(http.StatusNotFound, "not_found", "Admin routes are off: set BRIDGE_ADMIN_TOKEN to use them.")
		}
		if !bearer(c.Request(), s.AdminToken) {
			return unauthorized("Send the admin token as Authorization: Bearer <BRIDGE_ADMIN_TOKEN>.")
		}
		return readableQuery(next)(c)
	}
}

// readableQuery refuses a query string that cannot be read whole. Go drops
// the pairs it cannot parse (a ";" separator, a bad %-escape) without a
// word, which would turn /test?send=1;to=... into a silent dry run, or
// /deliveries?state=sent;limit=5 into the parked listing.
func readableQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := url.ParseQuery(c.Request().URL.RawQuery); err != nil {
			return fail(http.StatusBadRequest, "invalid_query", "The query string cannot be read ("+err.Error()+
				"): separate parameters with & and URL-encode values (%2B for +).")
		}
		return next(c)
	}
}

func unauthorized(msg string) *apiError {
	e := fail(http.StatusUnauthorized, "unauthorized", msg)
	e.Header = http.Header{"Www-Authenticate": {`Bearer realm="bridge"`}}
	return e
}

// bearer compares the request's bearer token in constant time.
func bearer(r *http.Request, token string) bool {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(h[len(prefix):])), []byte(token)) == 1
}

// readBody reads at most limit bytes. A larger body is read on (up to a
// bound) and discarded before answering 413, so a client still sending sees
// the status rather than a reset connection.
func (s *server) readBody(c echo.Context, limit int64) ([]byte, *apiError) {
	r := c.Request()
	if r.ContentLength > limit {
		_, _ = io.CopyN(io.Discard, r.Body, 4*limit)
		return nil, tooLarge(limit)
	}
	select {
	case s.bodies <- struct{}{}:
	default: // all taken: wait a little for one
		t := time.NewTimer(s.ReadWait)
		select {
		case s.bodies <- struct{}{}:
			t.Stop()
		case <-t.C:
			e := fail(http.StatusServiceUnavailable, "busy", "The bridge is reading as many requests as it may at once; try again shortly.")
			e.Header = http.Header{"Retry-After": {"5"}}
			return nil, e
		case <-r.Context().Done():
			t.Stop()
			return nil, fail(http.StatusBadRequest, "unreadable_body", "The request body could not be read.")
		}
	}
	defer func() { <-s.bodies }()
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fail(http.StatusBadRequest, "unreadable_body", "The request body could not be read.")
	}
	if int64(len(b)) > limit {
		_, _ = io.CopyN(io.Discard, r.Body, 4*limit)
		return nil, tooLarge(limit)
	}
	return b, nil
}

func tooLarge(limit int64) *apiError {
	e := fail(http.StatusRequestEntityTooLarge, "body_too_large",
		"The body is larger than BRIDGE_MAX_BODY allows; send ticket ids and short fields, not whole comments.")
	e.Header = http.Header{"Connection": {"close"}}
	return e.with("limit_bytes", limit)
}

func (s *server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"status": "ok"})
}

func (s *server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	store := "redis"
	if !s.Durable {
		store = "embedded"
	}
	if err := s.Queue.Ping(ctx); err != nil {
		return storeUnavailable("The store does not answer: "+storeError(err)).with("store", store).with("durable", s.Durable).with("rules", s.Rules.Status())
	}
	body := map[string]any{"status": "ready", "store": store, "durable": s.Durable, "dry_run": s.DryRun, "rules": s.Rules.Status()}
	if !s.Durable {
		body["warning"] = "the embedded store is not durable: queued deliveries and fire-once keys are lost on restart; set BRIDGE_REDIS_URL"
	} else if s.StoreWarnings != nil {
		// durable still says the store outlives the bridge; this says
		// what in Redis's own settings can lose it anyway.
		if w := s.StoreWarnings(); len(w) > 0 {
			body["warning"] = strings.Join(w, "; ")
		}
	}
	return c.JSON(http.StatusOK, body)
}

// storeError says what went wrong with the store without quoting anything
// that may hold a password.
func storeError(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case strings.Contains(err.Error(), "refused"):
		return "connection refused"
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection pool") || strings.Contains(err.Error(), "client is closed") {
		return "unreachable"
	}
	// It answered, but not as expected: the log has the error.
	return "failed (see the bridge's log)"
}
