// Package fake8x8 is an in-process 8x8 for tests: an SMS API and a Chat Apps
// API that check every request against 8x8's published OpenAPI documents,
// answer like 8x8 (or as scripted), and record what they were sent.
package fake8x8

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
)

// The two single-message operations the fake implements; other operations of
// the documents (batch, templates, ...) are violations here.
const (
	smsOperation      = "Send-Sms-Single"
	chatAppsOperation = "Send-Message"
)

// Response is one canned answer. Status 0 means 200; a Body without a
// Content-Type header is sent as application/json.
type Response struct {
	Status int
	Header http.Header
	Body   string
	// Delay holds the answer back (a slow 8x8); the wait ends early when the
	// client gives up.
	Delay time.Duration
	// Drop closes the connection without answering (after Delay).
	Drop bool
}

// Request is one request the fake received, valid or not.
type Request struct {
	Method          string
	Path            string // as sent, escaped
	Header          http.Header
	Body            []byte
	Channel         sender.Channel // by the listener it came to: SMSURL or ChatAppsURL
	ClientMessageID string         // from the body, if it had one
	At              time.Time      // when it arrived
}

// Option changes how New behaves.
type Option func(*Server)

// TolerateViolations records schema violations (see Violations) without
// failing the test: for tests of invalid requests.
func TolerateViolations() Option { return func(s *Server) { s.tolerate = true } }

// WithAPIKey makes the fake answer 401 (code 1200), as 8x8 does, to any
// bearer token but key. Without it any non-empty token is accepted.
func WithAPIKey(key string) Option { return func(s *Server) { s.apiKey = key } }

// Server is the fake. SMS goes to SMSURL, WhatsApp to ChatAppsURL: the two
// APIs share their paths, so they need one listener each, like 8x8's hosts.
type Server struct {
	SMSURL      string
	ChatAppsURL string

	t        testing.TB
	tolerate bool
	apiKey   string
	closed   chan struct{}

	mu         sync.Mutex
	script     []Response
	requests   []Request
	violations []string
	changed    chan struct{} // closed and replaced on every recorded request
}

type api struct {
	name      string // the document's file name, for messages
	channel   sender.Channel
	operation string
	router    routers.Router
}

// New starts the fake with sms_api.json and business_messaging_api.json from
// specDir (see SpecDir), and stops it when the test ends. Any request that
// violates the documents fails the test (t.Errorf) and is answered 400 (401
// for a missing bearer token), unless TolerateViolations is given.
func New(t testing.TB, specDir string, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, closed: make(chan struct{}), changed: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	smsAPI, err := load(filepath.Join(specDir, "sms_api.json"), sender.SMS, smsOperation)
	if err != nil {
		t.Fatalf("fake8x8: %v", err)
	}
	chatAPI, err := load(filepath.Join(specDir, "business_messaging_api.json"), sender.WhatsApp, chatAppsOperation)
	if err != nil {
		t.Fatalf("fake8x8: %v", err)
	}
	smsSrv := httptest.NewServer(s.handler(smsAPI))
	chatSrv := httptest.NewServer(s.handler(chatAPI))
	s.SMSURL, s.ChatAppsURL = smsSrv.URL, chatSrv.URL
	t.Cleanup(func() {
		close(s.closed) // ends Delays, so that Close does not wait for them
		smsSrv.Close()
		chatSrv.Close()
	})
	return s
}

// load reads one of 8x8's documents and builds its router.
//
// kin-openapi options, and why:
//   - IsExternalRefsAllowed: harmless here (every $ref is internal, though
//     many point into other operations' paths, e.g.
//     "#/paths/~1api~1v1~1accounts~1%7BaccountId%7D~1prices/get/responses/400"),
//     and it keeps the loader working should 8x8 split the files.
//   - DisableExamplesValidation: business_messaging_api.json has an example
//     that breaks its own schema (the WhatsApp Flows preview "expires_at":
//     "2025-12-13T05:49:59+0000" is not an RFC 3339 date-time), and kin-openapi
//     refuses the whole document for it. Examples are documentation: this
//     does not touch how request bodies are validated.
//   - Servers cleared: the fake listens on 127.0.0.1, not on 8x8's hosts, and
//     each document has a listener of its own, so the host says nothing.
func load(path string, ch sender.Channel, operation string) (*api, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	doc.Servers = nil
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &api{name: filepath.Base(path), channel: ch, operation: operation, router: router}, nil
}

// SpecDir finds 8x8's OpenAPI documents: shared/reference/8x8/openapi beside
// the working directory or any of its ancestors (the repository is checked
// out at X/main, the shared material at X/shared). It fails the test when
// there is none.
func SpecDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("fake8x8: %v", err)
	}
	for dir := wd; ; {
		cand := filepath.Join(dir, "shared", "reference", "8x8", "openapi")
		if isFile(filepath.Join(cand, "sms_api.json")) && isFile(filepath.Join(cand, "business_messaging_api.json")) {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	t.Fatalf("fake8x8: 8x8's OpenAPI documents not found: no shared/reference/8x8/openapi/{sms_api,business_messaging_api}.json "+
		"in %s or any parent directory; check out shared/ beside the repository (X/main and X/shared)", wd)
	return ""
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// Script queues canned answers, used one per valid request in order. When
// the queue is empty the fake accepts: 200 QUEUED (SMS) or queued (Chat Apps)
// with a fresh umid and the request's clientMessageId.
func (s *Server) Script(responses ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, responses...)
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneRequests(s.requests)
}

// WaitRequests blocks until at least n requests were received and returns
// them all, or returns those received so far with ctx's error.
func (s *Server) WaitRequests(ctx context.Context, n int) ([]Request, error) {
	for {
		s.mu.Lock()
		if len(s.requests) >= n {
			out := cloneRequests(s.requests)
			s.mu.Unlock()
			return out, nil
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return s.Requests(), fmt.Errorf("fake8x8: waiting for %d requests: %w", n, ctx.Err())
		}
	}
}

// Violations returns a description of every request that broke 8x8's
// documents, in order.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

func (s *Server) handler(a *api) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the client went away mid-request
		}
		var ids struct {
			ClientMessageID string `json:"clientMessageId"`
		}
		_ = json.Unmarshal(body, &ids)
		s.record(Request{
			Method:          r.Method,
			Path:            r.URL.EscapedPath(),
			Header:          r.Header.Clone(),
			Body:            body,
			Channel:         a.channel,
			ClientMessageID: ids.ClientMessageID,
			At:              time.Now(),
		})

		in, status, problem := s.validate(a, r, body)
		if problem != "" {
			s.violation(fmt.Sprintf("%s %s %s (%s): %s\nbody: %s", a.channel, r.Method, r.URL.EscapedPath(), a.name, problem, body))
			code := 1000 // Invalid parameter
			if status == http.StatusUnauthorized {
				code = 1200 // Unauthorized Access
			}
			writeError(w, status, code, problem)
			return
		}
		if s.apiKey != "" && r.Header.Get("Authorization") != "Bearer "+s.apiKey {
			writeError(w, http.StatusUnauthorized, 1200, "Request was not authenticated properly")
			return
		}
		if no, refused := semantics(a.channel, body); refused {
			s.violation(fmt.Sprintf("%s %s %s (%s): %s\nbody: %s", a.channel, r.Method, r.URL.EscapedPath(), a.name, no.message, body))
			if no.status == http.StatusOK { // SMS: REJECTED in a 200
				s.reject(w, a, in, body, no.message)
			} else {
				writeError(w, no.status, no.code, no.message)
			}
			return
		}

		resp, scripted := s.next()
		if resp.Delay > 0 {
			select {
			case <-time.After(resp.Delay):
			case <-r.Context().Done():
				return
			case <-s.closed:
				return
			}
		}
		if resp.Drop {
			drop(w)
			return
		}
		if !scripted {
			resp = s.accept(a, in, body)
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		if w.Header().Get("Content-Type") == "" && resp.Body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(cmp.Or(resp.Status, http.StatusOK))
		_, _ = io.WriteString(w, resp.Body)
	}
}

// validate checks r against the document: route, operation, bearer token,
// path parameters, Content-Type and body schema. It returns the HTTP status
// 8x8 would answer and a description when something is wrong.
func (s *Server) validate(a *api, r *http.Request, body []byte) (*openapi3filter.RequestValidationInput, int, string) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := a.router.FindRoute(r)
	if err != nil {
		return nil, http.StatusNotFound, fmt.Sprintf("no such operation: %v", err)
	}
	if route.Operation.OperationID != a.operation {
		return nil, http.StatusNotFound, fmt.Sprintf("operation %s is valid, but fake8x8 implements only %s", route.Operation.OperationID, a.operation)
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			MultiError: true,
			// Validate what was sent, without filling in defaults
			// (encoding AUTO) that were not.
			SkipSettingDefaults: true,
			// Both documents declare a global bearer security scheme:
			// without an AuthenticationFunc every request would fail with
			// ErrAuthenticationServiceMissing.
			AuthenticationFunc: requireBearer,
			// Name the failing field, without dumping its schema: the Chat
			// Apps request schema alone is thousands of lines.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		status := http.StatusBadRequest
		var sec *openapi3filter.SecurityRequirementsError
		if errors.As(err, &sec) {
			status = http.StatusUnauthorized
		}
		return nil, status, err.Error()
	}
	return in, 0, ""
}

// requireBearer is the security check of both documents (http, scheme
// bearer): only that a token is there; WithAPIKey checks which.
func requireBearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	tok, ok := strings.CutPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return errors.New(`no "Authorization: Bearer <api key>" header`)
	}
	return nil
}

// reject answers an SMS the way 8x8 refuses one in a 200: status REJECTED
// with why.
func (s *Server) reject(w http.ResponseWriter, a *api, in *openapi3filter.RequestValidationInput, body []byte, why string) {
	resp := s.answer(a, in, body, map[string]any{"code": "REJECTED", "description": why})
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.Status)
	_, _ = io.WriteString(w, resp.Body)
}

// accept builds 8x8's success answer for a valid request and checks it
// against the document too, so that the fake cannot drift from 8x8.
func (s *Server) accept(a *api, in *openapi3filter.RequestValidationInput, body []byte) Response {
	return s.answer(a, in, body, nil)
}

// answer is 8x8's 200 for the request, with smsStatus in place of QUEUED
// when it is not nil, checked against the document.
func (s *Server) answer(a *api, in *openapi3filter.RequestValidationInput, body []byte, smsStatus map[string]any) Response {
	var req struct {
		Destination     string `json:"destination"`
		Text            string `json:"text"`
		Encoding        string `json:"encoding"`
		ClientMessageID string `json:"clientMessageId"`
		User            *struct {
			MSISDN string `json:"msisdn"`
		} `json:"user"`
	}
	_ = json.Unmarshal(body, &req)
	var answer any
	if a.channel == sender.SMS {
		if smsStatus == nil {
			smsStatus = map[string]any{"code": "QUEUED", "description": "SMS is accepted and queued for processing"}
		}
		enc := req.Encoding
		if enc != "GSM7" && enc != "UCS2" {
			enc, _ = sender.SMSEncoding(req.Text)
		}
		answer = map[string]any{
			"umid":            newUUID(),
			"clientMessageId": req.ClientMessageID,
			"destination":     req.Destination,
			"encoding":        enc,
			"status":          smsStatus,
		}
	} else {
		user := map[string]any{}
		if req.User != nil && req.User.MSISDN != "" {
			user["msisdn"] = req.User.MSISDN
		}
		answer = map[string]any{
			"umid":            newUUID(),
			"user":            user,
			"clientMessageId": req.ClientMessageID,
			"status":          map[string]any{"state": "queued", "timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.00Z")},
		}
	}
	b, _ := json.Marshal(answer)
	resp := Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: string(b)}
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.Status,
		Header:                 resp.Header,
		Body:                   io.NopCloser(strings.NewReader(resp.Body)),
		Options:                &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
	})
	if err != nil {
		s.t.Errorf("fake8x8: bug: its own %s answer breaks %s: %v\n%s", a.channel, a.name, err, resp.Body)
	}
	return resp
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) violation(v string) {
	s.mu.Lock()
	s.violations = append(s.violations, v)
	s.mu.Unlock()
	if !s.tolerate {
		s.t.Errorf("fake8x8: request violates 8x8's OpenAPI document: %s", v)
	}
}

func (s *Server) next() (Response, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script) == 0 {
		return Response{}, false
	}
	r := s.script[0]
	s.script = s.script[1:]
	return r, true
}

// writeError answers like 8x8: code, message, errorId, timestamp.
func writeError(w http.ResponseWriter, status, code int, message string) {
	b, _ := json.Marshal(map[string]any{
		"code":      code,
		"message":   message,
		"errorId":   newUUID(),
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.00Z"),
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// drop closes the connection without a word, as a crashed proxy would.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func cloneRequests(in []Request) []Request {
	out := make([]Request, len(in))
	for i, r := range in {
		r.Header = r.Header.Clone()
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}
