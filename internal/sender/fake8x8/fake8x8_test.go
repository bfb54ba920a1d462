package fake8x8_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender/fake8x8"
)

const (
	validSMS      = `{"destination":"+6591234567","text":"Hello","encoding":"AUTO","clientMessageId":"d-1"}`
	validTemplate = `{"user":{"msisdn":"+6591234567"},"clientMessageId":"d-2","type":"template",` +
		`"content":{"template":{"name":"ticket_update","language":"en_GB","components":[{"type":"body","parameters":[{"type":"text","text":"42"}]}]}}}`
	validText = `{"user":{"msisdn":"+6591234567"},"clientMessageId":"d-3","type":"text","content":{"text":"Hi"}}`
)

type call struct {
	base, path, body string
	header           map[string]string
}

func (c call) do(t *testing.T, client *http.Client) (int, string) {
	t.Helper()
	path := c.path
	if path == "" {
		path = "/api/v1/subaccounts/Acme_SMS/messages"
	}
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer k3y")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSpecDir(t *testing.T) {
	dir := fake8x8.SpecDir(t)
	for _, f := range []string{"sms_api.json", "business_messaging_api.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestAcceptsValidRequests(t *testing.T) {
	f := fake8x8.New(t, fake8x8.SpecDir(t))
	tests := []struct {
		name, base, body, wantID string
		channel                  sender.Channel
		state                    func(map[string]any) string
	}{
		{"sms", f.SMSURL, validSMS, "d-1", sender.SMS, func(m map[string]any) string { return m["code"].(string) }},
		{"whatsapp template", f.ChatAppsURL, validTemplate, "d-2", sender.WhatsApp, func(m map[string]any) string { return m["state"].(string) }},
		{"whatsapp text", f.ChatAppsURL, validText, "d-3", sender.WhatsApp, func(m map[string]any) string { return m["state"].(string) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call{base: tt.base, body: tt.body}.do(t, nil)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			var got struct {
				UMID            string         `json:"umid"`
				ClientMessageID string         `json:"clientMessageId"`
				Status          map[string]any `json:"status"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if got.UMID == "" || got.ClientMessageID != tt.wantID || !strings.EqualFold(tt.state(got.Status), "queued") {
				t.Errorf("answer %s", body)
			}
			reqs := f.Requests()
			if len(reqs) != i+1 {
				t.Fatalf("%d requests recorded, want %d", len(reqs), i+1)
			}
			r := reqs[i]
			if r.Channel != tt.channel || r.ClientMessageID != tt.wantID || r.Method != http.MethodPost ||
				r.Path != "/api/v1/subaccounts/Acme_SMS/messages" || string(r.Body) != tt.body || r.Header.Get("Authorization") != "Bearer k3y" {
				t.Errorf("recorded %+v", r)
			}
		})
	}
	if v := f.Violations(); len(v) != 0 {
		t.Errorf("violations: %q", v)
	}
}

// The fake is only worth having if it really refuses what 8x8 would refuse.
func TestRejectsInvalidRequests(t *testing.T) {
	sms, chat := "sms", "chat"
	tests := []struct {
		name, to, path, body string
		header               map[string]string
		status               int
		want                 string // in the violation
	}{
		{"sms destination not a number", sms, "", `{"destination":"abc","text":"Hello","clientMessageId":"x"}`, nil, 400, "destination"},
		{"sms text missing", sms, "", `{"destination":"+6591234567","clientMessageId":"x"}`, nil, 400, "text"},
		{"sms encoding unknown", sms, "", `{"destination":"+6591234567","text":"Hi","encoding":"UTF8"}`, nil, 400, "encoding"},
		{"sms source too long", sms, "", `{"destination":"+6591234567","text":"Hi","source":"AVeryLongSenderName"}`, nil, 400, "source"},
		{"sms body not json", sms, "", `destination=+6591234567`, nil, 400, "body"},
		{"sms no bearer token", sms, "", validSMS, map[string]string{"Authorization": ""}, 401, "Authorization"},
		{"sms basic auth", sms, "", validSMS, map[string]string{"Authorization": "Basic a2V5Og=="}, 401, "Authorization"},
		{"sms no content type", sms, "", validSMS, map[string]string{"Content-Type": ""}, 400, "Content-Type"},
		{"subaccount too short", sms, "/api/v1/subaccounts/ab/messages", validSMS, nil, 400, "subAccountId"},
		{"sms batch is not implemented", sms, "/api/v1/subaccounts/Acme_SMS/messages/batch", `{"messages":[]}`, nil, 404, "Send-Many-Sms"},
		{"unknown path", sms, "/api/v2/messages", validSMS, nil, 404, "no such operation"},
		{"whatsapp type capitalised", chat, "", strings.Replace(validTemplate, `"template"`, `"Template"`, 1), nil, 400, "type"},
		{"whatsapp user missing", chat, "", `{"clientMessageId":"x","type":"text","content":{"text":"Hi"}}`, nil, 400, "user"},
		{"whatsapp clientMessageId too long", chat, "", strings.Replace(validText, "d-3", strings.Repeat("x", 51), 1), nil, 400, "clientMessageId"},
		{"whatsapp component type unknown", chat, "", strings.Replace(validTemplate, `"body"`, `"Body"`, 1), nil, 400, "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := fake8x8.New(t, fake8x8.SpecDir(t), fake8x8.TolerateViolations())
			base := f.SMSURL
			if tt.to == chat {
				base = f.ChatAppsURL
			}
			status, body := call{base: base, path: tt.path, body: tt.body, header: tt.header}.do(t, nil)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				ErrorID string `json:"errorId"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code == 0 || e.ErrorID == "" {
				t.Errorf("answer is not 8x8's error JSON: %s", body)
			}
			v := f.Violations()
			if len(v) != 1 {
				t.Fatalf("violations %q, want 1", v)
			}
			if !strings.Contains(v[0], tt.want) {
				t.Errorf("violation %q does not mention %q", v[0], tt.want)
			}
			if n := len(f.Requests()); n != 1 {
				t.Errorf("%d requests recorded, want 1", n)
			}
		})
	}
}

// What 8x8's documents say in prose and the schemas cannot hold is refused
// too, as 8x8 answers it: a test fails if the bridge ever sends such a thing.
func TestRefusesWhatTheDocumentsForbidInProse(t *testing.T) {
	sms, chat := "sms", "chat"
	tests := []struct {
		name, to, body string
		status, code   int // code 0: an SMS REJECTED in a 200
		want           string
	}{
		{"sms text empty", sms, `{"destination":"+6591234567","text":" ","clientMessageId":"x"}`, 200, 0, "Text value is missing"},
		{"whatsapp text missing", chat, `{"user":{"msisdn":"+6591234567"},"type":"text","content":{}}`, 400, 3005, "Missed Text"},
		{"whatsapp text empty", chat, strings.Replace(validText, `"Hi"`, `""`, 1), 400, 3005, "Missed Text"},
		{"whatsapp template missing", chat, `{"user":{"msisdn":"+6591234567"},"type":"template","content":{}}`, 400, 3030, "Empty Template"},
		{"whatsapp template name empty", chat, strings.Replace(validTemplate, `"ticket_update"`, `""`, 1), 400, 3032, "Invalid Template Name"},
		{"whatsapp template language missing", chat, strings.Replace(validTemplate, `"language":"en_GB",`, ``, 1), 400, 3036, "Empty Template language"},
		{"whatsapp template parameter without text", chat, strings.Replace(validTemplate, `,"text":"42"`, ``, 1), 400, 3041, "Invalid Template parameter"},
		{"whatsapp template parameter empty", chat, strings.Replace(validTemplate, `"42"`, `""`, 1), 400, 3041, "Invalid Template parameter"},
		{"whatsapp msisdn not a number", chat, strings.Replace(validText, `"+6591234567"`, `"12"`, 1), 400, 3003, "Invalid MSISDN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := fake8x8.New(t, fake8x8.SpecDir(t), fake8x8.TolerateViolations())
			base := f.SMSURL
			if tt.to == chat {
				base = f.ChatAppsURL
			}
			status, body := call{base: base, body: tt.body}.do(t, nil)
			var a struct {
				Code   int `json:"code"`
				Status struct {
					Code        string `json:"code"`
					Description string `json:"description"`
				} `json:"status"`
			}
			_ = json.Unmarshal([]byte(body), &a)
			if status != tt.status || a.Code != tt.code {
				t.Errorf("answer %d %s, want %d with code %d", status, body, tt.status, tt.code)
			}
			if tt.code == 0 && (a.Status.Code != "REJECTED" || a.Status.Description != tt.want) {
				t.Errorf("answer %s, want status REJECTED: %s", body, tt.want)
			}
			if v := f.Violations(); len(v) != 1 || !strings.Contains(v[0], tt.want) {
				t.Errorf("violations %q, want one naming %q", v, tt.want)
			}
		})
	}
	// The valid requests are not refused.
	f := fake8x8.New(t, fake8x8.SpecDir(t))
	for _, c := range []call{{base: f.SMSURL, body: validSMS}, {base: f.ChatAppsURL, body: validTemplate}, {base: f.ChatAppsURL, body: validText}} {
		if status, body := c.do(t, nil); status != 200 || strings.Contains(body, "REJECTED") {
			t.Errorf("%s: %d %s", c.body, status, body)
		}
	}
}

// errorRecorder is a testing.TB whose Errorf is captured, to see the fake
// fail a test without failing this one.
type errorRecorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestViolationFailsTheTest(t *testing.T) {
	rec := &errorRecorder{TB: t}
	f := fake8x8.New(rec, fake8x8.SpecDir(t))
	call{base: f.SMSURL, body: `{"destination":"abc","clientMessageId":"x"}`}.do(t, nil)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "violates 8x8's OpenAPI document") {
		t.Errorf("Errorf calls: %q", rec.errs)
	}
}

func TestScript(t *testing.T) {
	f := fake8x8.New(t, fake8x8.SpecDir(t))
	f.Script(
		fake8x8.Response{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: `{"code":429,"message":"Quota exceeded"}`},
		fake8x8.Response{Status: 502, Header: http.Header{"Content-Type": {"text/html"}}, Body: "<html>Bad gateway</html>"},
	)
	for _, want := range []struct {
		status int
		body   string
	}{{429, "Quota exceeded"}, {502, "Bad gateway"}, {200, `"QUEUED"`}} {
		status, body := call{base: f.SMSURL, body: validSMS}.do(t, nil)
		if status != want.status || !strings.Contains(body, want.body) {
			t.Errorf("got %d %s, want %d with %s", status, body, want.status, want.body)
		}
	}
}

func TestScriptIsNotUsedByInvalidRequests(t *testing.T) {
	f := fake8x8.New(t, fake8x8.SpecDir(t), fake8x8.TolerateViolations())
	f.Script(fake8x8.Response{Status: 500})
	if status, _ := (call{base: f.SMSURL, body: `{}`}).do(t, nil); status != 400 {
		t.Errorf("invalid request: status %d, want 400", status)
	}
	if status, _ := (call{base: f.SMSURL, body: validSMS}).do(t, nil); status != 500 {
		t.Errorf("valid request: status %d, want the scripted 500", status)
	}
}

func TestWithAPIKey(t *testing.T) {
	f := fake8x8.New(t, fake8x8.SpecDir(t), fake8x8.WithAPIKey("right"))
	status, body := call{base: f.SMSURL, body: validSMS, header: map[string]string{"Authorization": "Bearer wrong"}}.do(t, nil)
	if status != 401 || !strings.Contains(body, "1200") {
		t.Errorf("wrong key: %d %s", status, body)
	}
	status, _ = call{base: f.SMSURL, body: validSMS, header: map[string]string{"Authorization": "Bearer right"}}.do(t, nil)
	if status != 200 {
		t.Errorf("right key: %d", status)
	}
}

func TestDelayAndDrop(t *testing.T) {
	f := fake8x8.New(t, fake8x8.SpecDir(t))
	f.Script(fake8x8.Response{Delay: time.Minute}, fake8x8.Response{Drop: true})
	client := &http.Client{Timeout: 200 * time.Millisecond}
	for _, name := range []string{"delay", "drop"} {
		req, _ := http.NewRequest(http.MethodPost, f.SMSURL+"/api/v1/subaccounts/Acme_SMS/messages", strings.NewReader(validSMS))
		req.Header.Set("Authorization", "Bearer k")
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: got %d, want an error", name, resp.StatusCode)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v", name, d)
		}
	}
}

func TestWaitRequests(t *testing.T) {
	f := fake8x8.New(t, fake8x8.SpecDir(t))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			req, _ := http.NewRequest(http.MethodPost, f.ChatAppsURL+"/api/v1/subaccounts/Acme_WA/messages", strings.NewReader(validText))
			req.Header.Set("Authorization", "Bearer k")
			req.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reqs, err := f.WaitRequests(ctx, 3)
	if err != nil || len(reqs) < 3 {
		t.Fatalf("WaitRequests: %d, %v", len(reqs), err)
	}
	<-done

	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	reqs, err = f.WaitRequests(short, 4)
	if err == nil || len(reqs) != 3 {
		t.Errorf("WaitRequests(4) of 3: %d, %v; want 3 and an error", len(reqs), err)
	}
}
