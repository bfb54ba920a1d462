package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/queue"
)

// deliveryJSON is a delivery as the operator sees it.
type deliveryJSON struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Rule     string `json:"rule"`
	Ticket   string `json:"ticket"`
	Channel  string `json:"channel"`
	To       string `json:"to"`
	Key      string `json:"key,omitempty"`
	Attempts int    `json:"attempts"`
	// LastStatus is null when the last attempt got no HTTP answer (a
	// timeout), LastCode when 8x8 gave no error code (a REJECTED state).
	LastStatus  *int   `json:"last_status"`
	LastCode    *int   `json:"last_code"`
	LastMessage string `json:"last_message"`
	// RateLimited counts the 429s in a row that the last attempt ended.
	RateLimited   int        `json:"rate_limited,omitempty"`
	UMID          string     `json:"umid,omitempty"`
	AcceptedAt    time.Time  `json:"accepted_at"`
	ParkedAt      *time.Time `json:"parked_at,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

func toJSON(in queue.Info) deliveryJSON {
	d := deliveryJSON{
		ID: in.ID, State: string(in.State), Rule: in.Rule, Ticket: in.Ticket,
		Channel: string(in.Message.Channel), To: phone.Mask(in.Message.To), Key: maskKey(in.Key, in.Message.To),
		Attempts: in.Last.Attempts, LastStatus: unlessZero(in.Last.Status), LastCode: unlessZero(in.Last.Code),
		LastMessage: in.Last.Message, RateLimited: in.Last.RateLimited, UMID: in.Last.UMID, AcceptedAt: in.AcceptedAt,
	}
	if !in.ParkedAt.IsZero() {
		d.ParkedAt = &in.ParkedAt
	}
	if !in.NextAttemptAt.IsZero() {
		d.NextAttemptAt = &in.NextAttemptAt
	}
	return d
}

// unlessZero is n, or nil for 0: neither an HTTP status nor an 8x8 code is
// ever 0, so 0 means there was none.
func unlessZero(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

func (s *server) listDeliveries(c echo.Context) error {
	state := queue.State(c.QueryParam("state"))
	if state == "" {
		state = queue.Parked
	}
	valid := false
	for _, st := range queue.States {
		valid = valid || st == state
	}
	if !valid {
		return fail(http.StatusBadRequest, "invalid_state", "state must be one of queued, active, retrying, parked or sent.").with("state", string(state))
	}
	limit := 100
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return fail(http.StatusBadRequest, "invalid_limit", "limit must be a whole number from 1 to 1000.")
		}
		limit = n
	}
	infos, err := s.Queue.List(c.Request().Context(), state, limit)
	if err != nil {
		return storeUnavailable("The store does not answer: " + storeError(err) + ".")
	}
	out := make([]deliveryJSON, 0, len(infos))
	for _, in := range infos {
		out = append(out, toJSON(in))
	}
	answer := map[string]any{"state": state, "limit": limit, "deliveries": out}
	// total says whether the listing is cut: the operator would otherwise
	// take the first page for all of them.
	if depth, err := s.Queue.Depth(c.Request().Context()); err == nil {
		answer["total"] = max(depth[state], len(out))
	}
	return c.JSON(http.StatusOK, answer)
}

// deliveryID is the {id} of the path, unescaped, or an error answer when it
// cannot be a delivery id (32 hexadecimal characters, as listed).
func deliveryID(c echo.Context) (string, error) {
	id := c.Param("id")
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		shown := id
		if len(shown) > 64 {
			shown = shown[:64] + "…"
		}
		return "", fail(http.StatusNotFound, "unknown_delivery", "Delivery ids are 32 lower-case hexadecimal characters, as GET /deliveries lists them.").with("id", shown)
	}
	return id, nil
}

func (s *server) getDelivery(c echo.Context) error {
	id, err := deliveryID(c)
	if err != nil {
		return err
	}
	in, err := s.Queue.Get(c.Request().Context(), id)
	switch {
	case errors.Is(err, queue.ErrNotFound):
		return unknownDelivery(id)
	case err != nil:
		return storeUnavailable("The store does not answer: " + storeError(err) + ".")
	}
	return c.JSON(http.StatusOK, toJSON(in))
}

func (s *server) replay(c echo.Context) error {
	id, err := deliveryID(c)
	if err != nil {
		return err
	}
	err = s.Queue.Replay(c.Request().Context(), id)
	switch {
	case errors.Is(err, queue.ErrNotFound):
		return unknownDelivery(id)
	case errors.Is(err, queue.ErrNotParked):
		return fail(http.StatusConflict, "not_parked", "Only parked deliveries can be replayed; "+notParked(err)+".").with("id", id)
	case err != nil:
		return storeUnavailable("The store does not answer: " + storeError(err) + ".")
	}
	s.Log.Info().Str("delivery", id).Msg("parked delivery replayed")
	return c.JSON(http.StatusAccepted, map[string]any{"id": id, "state": queue.Queued, "message": "Queued again with the same clientMessageId."})
}

// replayParked replays every parked delivery the query's filters match:
// status (8x8's HTTP status), code (8x8's error code), rule; all=1 stands
// for no filter, which must be asked for. limit (1000, at most
// queue.MaxBulk) bounds one call.
func (s *server) replayParked(c echo.Context) error {
	var f queue.Filter
	for _, p := range []struct {
		name string
		to   *int
	}{{"status", &f.Status}, {"code", &f.Code}} {
		v := strings.TrimSpace(c.QueryParam(p.name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fail(http.StatusBadRequest, "invalid_filter", p.name+" must be a whole number, as GET /deliveries lists it (last_"+p.name+").").with(p.name, shorten(v))
		}
		*p.to = n
	}
	f.Rule = strings.TrimSpace(c.QueryParam("rule"))
	all, ok := flag(c, "all")
	if !ok {
		return fail(http.StatusBadRequest, "invalid_filter", "all must be 1 (every parked delivery) or 0.")
	}
	if f == (queue.Filter{}) && !all {
		return fail(http.StatusBadRequest, "missing_filter", "Say which parked deliveries to replay: status=401, code=1200 and/or rule=NAME, or all=1 for every one.")
	}
	limit := 1000
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > queue.MaxBulk {
			return fail(http.StatusBadRequest, "invalid_limit", fmt.Sprintf("limit must be a whole number from 1 to %d.", queue.MaxBulk))
		}
		limit = n
	}
	// Bounded in time, well inside the server's 30 s write timeout: the
	// operator gets the summary, and runs it again for the rest.
	ctx, cancel := context.WithTimeout(c.Request().Context(), bulkBudget)
	defer cancel()
	b, err := s.Queue.ReplayParked(ctx, f, limit)
	if err != nil {
		s.Log.Warn().Int("replayed", len(b.Replayed)).Str("reason", storeError(err)).Err(err).Msg("bulk replay stopped: store unavailable")
		return storeUnavailable(fmt.Sprintf("The store stopped answering after %d deliveries were queued again: %s. Run it again to replay the rest.",
			len(b.Replayed), storeError(err))).with("replayed", len(b.Replayed)).with("ids", nonNil(b.Replayed))
	}
	s.Log.Info().Int("status", f.Status).Int("code", f.Code).Str("rule", f.Rule).Int("matched", b.Matched).Int("replayed", len(b.Replayed)).
		Msg("parked deliveries replayed")
	msg := fmt.Sprintf("%d parked deliveries matched; %d queued again with their own clientMessageIds", b.Matched, len(b.Replayed))
	if b.Skipped > 0 {
		msg += fmt.Sprintf(", %d were no longer parked", b.Skipped)
	}
	if b.More {
		msg += "; more parked deliveries match (the limit or the time of one call was reached): run it again for them"
	}
	status := http.StatusOK
	if len(b.Replayed) > 0 {
		status = http.StatusAccepted
	}
	answer := map[string]any{"matched": b.Matched, "replayed": len(b.Replayed), "skipped": b.Skipped, "more": b.More,
		"ids": nonNil(b.Replayed), "message": msg + "."}
	// A typo in the rule must not read as "nothing is parked". (A rule
	// removed since keeps its parked deliveries, so it is not refused.)
	if f.Rule != "" && b.Matched == 0 && !s.hasRule(f.Rule) {
		answer["warning"] = "rules.yaml has no rule named " + strconv.Quote(shorten(f.Rule)) + "; check its spelling (GET /deliveries?state=parked lists each one's rule)."
	}
	return c.JSON(status, answer)
}

func (s *server) hasRule(name string) bool {
	_, ok := s.Rules.Current().Rule(name)
	return ok
}

// bulkBudget bounds one bulk replay over HTTP.
const bulkBudget = 20 * time.Second

func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// shorten bounds a value from a request quoted back in an answer or a log
// line, cut at a character's start.
func shorten(v string) string {
	if len(v) <= 64 {
		return v
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "…"
}

func (s *server) deleteDelivery(c echo.Context) error {
	id, err := deliveryID(c)
	if err != nil {
		return err
	}
	err = s.Queue.Delete(c.Request().Context(), id)
	switch {
	case errors.Is(err, queue.ErrNotFound):
		return unknownDelivery(id)
	case errors.Is(err, queue.ErrNotParked):
		return fail(http.StatusConflict, "not_parked", "Only parked deliveries can be deleted; "+notParked(err)+".").with("id", id)
	case err != nil:
		return storeUnavailable("The store does not answer: " + storeError(err) + ".")
	}
	s.Log.Info().Str("delivery", id).Msg("parked delivery deleted")
	return c.JSON(http.StatusOK, map[string]any{"id": id, "state": "deleted", "message": "Deleted; its fire-once key can fire again."})
}

func unknownDelivery(id string) error {
	return fail(http.StatusNotFound, "unknown_delivery", "There is no delivery with that id (a sent one is kept for its rule's once_for).").with("id", id)
}

// notParked says what a delivery that is not parked is instead.
func notParked(err error) string {
	var np *queue.NotParkedError
	if errors.As(err, &np) {
		return "this one is " + string(np.State)
	}
	return "this one is not"
}

// maskKey masks the value of a fire-once key ("rule/value") when it holds
// the recipient's number, as a key made from the phone does.
func maskKey(key, to string) string {
	rule, value, ok := strings.Cut(key, "/")
	if !ok {
		return phone.HideIfHolds(key, to)
	}
	return rule + "/" + phone.HideIfHolds(value, to)
}
