package sender

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func errBody(code int, message string) string {
	return fmt.Sprintf(`{"code":%d,"message":%q,"errorId":"b4478860-b76c-e811-814e-022a35cc1c71","timestamp":"2018-08-04T09:25:40.9235752+00:00"}`, code, message)
}

func TestClassify(t *testing.T) {
	const smsQueued = `{"umid":"bda3d56d-1424-e711-813c-06ed3428fe67","clientMessageId":"d-1","destination":"6591234567","encoding":"GSM7","status":{"code":"QUEUED","description":"SMS is accepted and queued for processing"}}`
	const chatQueued = `{"umid":"82188ee0-109f-e811-8150-020897df5459","user":{"msisdn":"+6591234567"},"clientMessageId":"d-1","status":{"state":"queued","timestamp":"2021-01-04T08:19:45.99Z"}}`
	retryAt := func(d time.Duration) http.Header {
		return http.Header{"Retry-After": {now.Add(d).Format(http.TimeFormat)}}
	}
	h := func(k, v string) http.Header { return http.Header{k: {v}} }
	long := strings.Repeat("Internal error\n\t ", 40)

	tests := []struct {
		name    string
		status  int
		header  http.Header
		body    string
		channel Channel
		want    Result
	}{
		// 2xx: read the status.
		{"sms queued", 200, nil, smsQueued, SMS, Result{Outcome: Sent, UMID: "bda3d56d-1424-e711-813c-06ed3428fe67"}},
		{"sms queued 202", 202, nil, smsQueued, SMS, Result{Outcome: Sent, UMID: "bda3d56d-1424-e711-813c-06ed3428fe67"}},
		{"sms queued lower case", 200, nil, strings.Replace(smsQueued, "QUEUED", "queued", 1), SMS, Result{Outcome: Sent, UMID: "bda3d56d-1424-e711-813c-06ed3428fe67"}},
		{"chatapps queued", 200, nil, chatQueued, WhatsApp, Result{Outcome: Sent, UMID: "82188ee0-109f-e811-8150-020897df5459"}},
		{"chatapps Queued", 200, nil, strings.Replace(chatQueued, `"queued"`, `"Queued"`, 1), WhatsApp, Result{Outcome: Sent, UMID: "82188ee0-109f-e811-8150-020897df5459"}},
		{"sms rejected", 200, nil, `{"umid":"u-1","destination":"6591234567","encoding":"GSM7","status":{"code":"REJECTED","description":"Destination is blacklisted"}}`, SMS,
			Result{Outcome: Permanent, Message: "REJECTED: Destination is blacklisted", UMID: "u-1"}},
		{"sms rejected without description", 200, nil, `{"umid":"u-1","status":{"code":"REJECTED"}}`, SMS,
			Result{Outcome: Permanent, Message: "REJECTED", UMID: "u-1"}},
		{"chatapps rejected", 200, nil, `{"umid":"u-2","user":{"msisdn":"+6591234567"},"status":{"state":"rejected","errorCode":3038,"errorMessage":"Template not found"}}`, WhatsApp,
			Result{Outcome: Permanent, Code: 3038, Message: "rejected: Template not found", UMID: "u-2"}},
		{"chatapps failed", 200, nil, `{"umid":"u-3","user":{},"status":{"state":"failed","detail":"rejected_by_operator"}}`, WhatsApp,
			Result{Outcome: Permanent, Message: "failed: rejected_by_operator", UMID: "u-3"}},
		{"chatapps errorCode as string", 200, nil, `{"umid":"u-2","status":{"state":"failed","errorCode":"3041","errorMessage":"Invalid Template parameter"}}`, WhatsApp,
			Result{Outcome: Permanent, Code: 3041, Message: "failed: Invalid Template parameter", UMID: "u-2"}},
		// Chat Apps' MessageStatus has states past queued: 8x8 has it.
		{"chatapps sent", 200, nil, strings.Replace(chatQueued, `"queued"`, `"sent"`, 1), WhatsApp, Result{Outcome: Sent, UMID: "82188ee0-109f-e811-8150-020897df5459"}},
		{"chatapps delivered", 200, nil, strings.Replace(chatQueued, `"queued"`, `"delivered"`, 1), WhatsApp, Result{Outcome: Sent, UMID: "82188ee0-109f-e811-8150-020897df5459"}},
		{"chatapps read", 200, nil, strings.Replace(chatQueued, `"queued"`, `"read"`, 1), WhatsApp, Result{Outcome: Sent, UMID: "82188ee0-109f-e811-8150-020897df5459"}},
		{"chatapps OK", 200, nil, strings.Replace(chatQueued, `"queued"`, `"OK"`, 1), WhatsApp, Result{Outcome: Sent, UMID: "82188ee0-109f-e811-8150-020897df5459"}},
		{"chatapps undelivered", 200, nil, `{"umid":"u-3","user":{},"status":{"state":"undelivered","detail":"rejected_by_operator"}}`, WhatsApp,
			Result{Outcome: Permanent, Message: "undelivered: rejected_by_operator", UMID: "u-3"}},
		{"chatapps error", 200, nil, `{"umid":"u-3","user":{},"status":{"state":"error","errorCode":3005,"errorMessage":"Missed Text"}}`, WhatsApp,
			Result{Outcome: Permanent, Code: 3005, Message: "error: Missed Text", UMID: "u-3"}},
		// Neither taken nor refused: parked, saying 8x8 may have it.
		{"chatapps unknown", 200, nil, strings.Replace(chatQueued, `"queued"`, `"unknown"`, 1), WhatsApp,
			Result{Outcome: Permanent, Message: "state unknown, which 8x8 may answer for a message it has: check the umid with 8x8 before replaying", UMID: "82188ee0-109f-e811-8150-020897df5459"}},
		{"sms state not in SmsStatus", 200, nil, strings.Replace(smsQueued, "QUEUED", "SENT", 1), SMS,
			Result{Outcome: Permanent, Message: "state SENT, which 8x8 may answer for a message it has: check the umid with 8x8 before replaying: SMS is accepted and queued for processing", UMID: "bda3d56d-1424-e711-813c-06ed3428fe67"}},
		// The SMS state field is status.code, Chat Apps' is status.state: the
		// other one means nothing.
		{"sms answer read as chatapps", 200, nil, smsQueued, WhatsApp, Result{Outcome: Sent, UMID: "bda3d56d-1424-e711-813c-06ed3428fe67"}},
		{"umid without status", 200, nil, `{"umid":"u-4"}`, SMS, Result{Outcome: Sent, UMID: "u-4"}},
		{"not json", 200, nil, `<html>OK</html>`, SMS, Result{Outcome: Permanent, Message: "unexpected 8x8 response: <html>OK</html>"}},
		{"empty json", 200, nil, `{}`, WhatsApp, Result{Outcome: Permanent, Message: "unexpected 8x8 response: {}"}},
		{"204 no content", 204, nil, ``, SMS, Result{Outcome: Permanent, Message: "unexpected 8x8 response: empty body"}},
		{"status of the wrong type", 200, nil, `{"umid":"u-5","status":"QUEUED"}`, SMS, Result{Outcome: Permanent, Message: `unexpected 8x8 response: {"umid":"u-5","status":"QUEUED"}`}},

		// 1xx and 3xx: see the table in Classify.
		{"101", 101, nil, ``, SMS, Result{Outcome: Retryable, Message: "Switching Protocols"}},
		{"301 with Location", 301, h("Location", "https://sms.8x8.uk/api/v1/subaccounts/Acme/messages"), ``, SMS,
			Result{Outcome: Permanent, Message: "redirected to https://sms.8x8.uk/api/v1/subaccounts/Acme/messages: check the 8x8 base URL"}},
		{"308 without Location", 308, nil, ``, SMS, Result{Outcome: Permanent, Message: "Permanent Redirect"}},

		// Permanent 4xx, with 8x8's error codes (api-error-codes.md).
		{"400 invalid msisdn", 400, nil, errBody(1002, "Invalid MSISDN format (not E.164 international number)"), SMS,
			Result{Outcome: Permanent, Code: 1002, Message: "Invalid MSISDN format (not E.164 international number)"}},
		{"400 invalid template parameter", 400, nil, errBody(3041, "Invalid Template parameter"), WhatsApp,
			Result{Outcome: Permanent, Code: 3041, Message: "Invalid Template parameter"}},
		{"400 bad request retry-after ignored by outcome", 400, h("Retry-After", "5"), errBody(1000, "Invalid parameter"), SMS,
			Result{Outcome: Permanent, Code: 1000, Message: "Invalid parameter", RetryAfter: 5 * time.Second}},
		{"401 unauthorized", 401, nil, errBody(1200, "Request was not authenticated properly"), SMS,
			Result{Outcome: Permanent, Code: 1200, Message: "Request was not authenticated properly"}},
		{"403 forbidden", 403, nil, errBody(1201, "Access forbidden"), WhatsApp, Result{Outcome: Permanent, Code: 1201, Message: "Access forbidden"}},
		{"404 not found", 404, nil, errBody(1300, "Object wasn't found or is already expired"), SMS,
			Result{Outcome: Permanent, Code: 1300, Message: "Object wasn't found or is already expired"}},
		{"404 without body", 404, nil, ``, SMS, Result{Outcome: Permanent, Message: "Not Found"}},
		{"410 gone", 410, nil, errBody(2002, "Unsupported API version"), SMS, Result{Outcome: Permanent, Code: 2002, Message: "Unsupported API version"}},
		{"422 unprocessable", 422, nil, errBody(3038, "Template not found"), WhatsApp, Result{Outcome: Permanent, Code: 3038, Message: "Template not found"}},
		{"426 upgrade required", 426, h("Upgrade", "TLS/1.3"), errBody(1014, "TLS 1.3+ is required for Singapore-bound messages. Detected: TLSv1.2"), SMS,
			Result{Outcome: Permanent, Code: 1014, Message: "TLS 1.3+ is required for Singapore-bound messages. Detected: TLSv1.2"}},
		{"other 4xx", 418, nil, `short and stout`, SMS, Result{Outcome: Permanent, Message: "short and stout"}},
		{"413", 413, nil, ``, SMS, Result{Outcome: Permanent, Message: "Request Entity Too Large"}},

		// Retryable.
		{"408", 408, nil, ``, SMS, Result{Outcome: Retryable, Message: "Request Timeout"}},
		{"425", 425, nil, ``, SMS, Result{Outcome: Retryable, Message: "Too Early"}},
		{"429 seconds", 429, h("Retry-After", "1"), errBody(429, "Quota exceeded. Please try again in 1 second(s)."), SMS,
			Result{Outcome: Retryable, Code: 429, Message: "Quota exceeded. Please try again in 1 second(s).", RetryAfter: time.Second}},
		{"429 date", 429, retryAt(30 * time.Second), errBody(429, "Quota exceeded"), WhatsApp,
			Result{Outcome: Retryable, Code: 429, Message: "Quota exceeded", RetryAfter: 30 * time.Second}},
		{"429 date in the past", 429, retryAt(-time.Hour), ``, SMS, Result{Outcome: Retryable, Message: "Too Many Requests"}},
		{"429 negative seconds", 429, h("Retry-After", "-3"), ``, SMS, Result{Outcome: Retryable, Message: "Too Many Requests"}},
		{"429 unreadable", 429, h("Retry-After", "soon"), ``, SMS, Result{Outcome: Retryable, Message: "Too Many Requests"}},
		{"500 internal error", 500, nil, errBody(2000, "Internal server error"), SMS, Result{Outcome: Retryable, Code: 2000, Message: "Internal server error"}},
		{"502 html", 502, nil, "<html>\n<body>\r\n<h1>502 Bad Gateway</h1>\n</body>\n</html>\n", WhatsApp,
			Result{Outcome: Retryable, Message: "<html> <body> <h1>502 Bad Gateway</h1> </body> </html>"}},
		{"503 retry-after", 503, h("Retry-After", "120"), ``, SMS, Result{Outcome: Retryable, Message: "Service Unavailable", RetryAfter: 2 * time.Minute}},
		{"504 long body", 504, nil, long, SMS, Result{Outcome: Retryable, Message: oneLine(long)}},
		{"599", 599, nil, ``, SMS, Result{Outcome: Retryable, Message: "HTTP status 599"}},
		{"error JSON without message", 500, nil, `{"code":2001}`, SMS, Result{Outcome: Retryable, Code: 2001, Message: "Internal Server Error"}},
		{"JSON that is not 8x8's error", 500, nil, `{"error":"boom"}`, SMS, Result{Outcome: Retryable, Message: `{"error":"boom"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Status = tt.status
			if strings.HasPrefix(tt.body, `{"code"`) && strings.Contains(tt.body, "errorId") {
				tt.want.ErrorID = "b4478860-b76c-e811-814e-022a35cc1c71"
			}
			got := Classify(tt.status, tt.header, []byte(tt.body), tt.channel, now)
			if got != tt.want {
				t.Errorf("Classify(%d, %s)\n got %+v\nwant %+v", tt.status, tt.body, got, tt.want)
			}
			if len(got.Message) > maxMessage || strings.ContainsAny(got.Message, "\r\n\t") {
				t.Errorf("message not one short line: %q", got.Message)
			}
		})
	}
}

// Every status SPEC names, by outcome: the table above in one glance.
func TestClassifySpecStatuses(t *testing.T) {
	for outcome, statuses := range map[Outcome][]int{
		Permanent: {400, 401, 403, 404, 410, 422, 426},
		Retryable: {408, 425, 429, 500, 501, 502, 503, 504, 599},
	} {
		for _, status := range statuses {
			if got := Classify(status, nil, nil, SMS, now).Outcome; got != outcome {
				t.Errorf("HTTP %d: %s, want %s", status, got, outcome)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"1", time.Second},
		{" 42 ", 42 * time.Second},
		{"-1", 0},
		{"1.5", 0},
		{"99999999999999999999", 0}, // does not parse as int64: ignored
		{"9223372036854775807", time.Duration(9223372036) * time.Second},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second},
		{now.Add(90 * time.Second).Format(time.ANSIC), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.value, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassifyError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errors.New("connection refused"))}, "connection error: dial tcp: connect: connection refused"},
		{fmt.Errorf("Post %q: %w", "https://sms.8x8.com/x", context.DeadlineExceeded), `timeout: Post "https://sms.8x8.com/x": context deadline exceeded`},
		{fmt.Errorf("Post: %w", context.Canceled), "canceled: Post: context canceled"},
		{&net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}, "timeout: read tcp: i/o timeout"},
		{errors.New("tls: failed to verify certificate"), "connection error: tls: failed to verify certificate"},
	}
	for _, tt := range tests {
		got := ClassifyError(tt.err)
		want := Result{Outcome: Retryable, Message: tt.want}
		if got != want {
			t.Errorf("ClassifyError(%v)\n got %+v\nwant %+v", tt.err, got, want)
		}
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  a \r\n\t b  ", "a b"},
		{"bad \xff utf8", "bad utf8"},
		{"nul\x00byte", "nul byte"},
		{strings.Repeat("é", 150), strings.Repeat("é", 98) + "…"}, // 2-byte runes cut on a boundary
		{strings.Repeat("x", 200), strings.Repeat("x", 200)},
		{strings.Repeat("x", 201), strings.Repeat("x", 197) + "…"},
	}
	for _, tt := range tests {
		got := oneLine(tt.in)
		if got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) > maxMessage {
			t.Errorf("oneLine(%q) is %d bytes", tt.in, len(got))
		}
	}
}

func TestClassifyMasksNumbersInMessages(t *testing.T) {
	t.Parallel()
	r := Classify(400, nil, []byte(`{"code":1002,"message":"Invalid MSISDN +6591234567"}`), SMS, time.Now())
	if strings.Contains(r.Message, "+6591234567") || !strings.Contains(r.Message, "+6591****67") {
		t.Fatalf("message %q", r.Message)
	}
	r = Classify(200, nil, []byte(`{"umid":"u","destination":"6591234567","encoding":"GSM7","status":{"code":"REJECTED","description":"blocked 6591234567"}}`), SMS, time.Now())
	if strings.Contains(r.Message, "6591234567") {
		t.Fatalf("message %q", r.Message)
	}
}
