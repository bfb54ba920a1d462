package zendesk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	// From Zendesk's documentation (see shared/reference/zendesk.md).
	got := Sign(TestSigningSecret, "2021-03-25T05:09:27Z", []byte(`{"event":"ticket.updated","id":123}`))
	if want := "S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	const secret, ts = "s3cret", "2026-11-27T10:00:00Z"
	body := []byte(`{"ticket":{"id":1}}`)
	now, _ := time.Parse(time.RFC3339, ts)
	good := Sign(secret, ts, body)
	cases := []struct {
		name           string
		ts, sig        string
		body           []byte
		now            time.Time
		wantOK         bool
		wantSubstrings string
	}{
		{"valid", ts, good, body, now, true, ""},
		{"valid within skew", ts, good, body, now.Add(4 * time.Minute), true, ""},
		{"timestamp too old", ts, good, body, now.Add(6 * time.Minute), false, "away from now"},
		{"timestamp in the future", ts, good, body, now.Add(-6 * time.Minute), false, "away from now"},
		{"timestamp far away", "0000-01-01T00:00:00Z", good, body, now, false, "timestamp is more than a day away from now"},
		{"body changed", ts, good, []byte(`{"ticket":{"id":2}}`), now, false, "matches the body with no secret"},
		{"signed with another secret", ts, Sign("other", ts, body), body, now, false, "matches the body with no secret"},
		{"signed with Zendesk's test secret", ts, Sign(TestSigningSecret, ts, body), body, now, false, "Zendesk's fixed test secret"},
		{"body+timestamp order is not accepted", ts, Sign(secret, string(body), []byte(ts)), body, now, false, "matches the body with no secret"},
		{"hex digest", ts, hexHMAC(secret, ts, body), body, now, false, "is not an HMAC-SHA256 in base64"},
		{"not base64", ts, "not a signature!", body, now, false, "is not an HMAC-SHA256 in base64"},
		{"missing signature", ts, "", body, now, false, "required"},
		{"missing timestamp", "", good, body, now, false, "required"},
		{"timestamp not RFC 3339", "1700000000", good, body, now, false, "RFC 3339"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := Verify([]string{secret}, c.ts, c.sig, c.body, c.now, 5*time.Minute)
			if c.wantOK {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify = %v, want ErrSignature", err)
			}
			if !strings.Contains(err.Error(), c.wantSubstrings) {
				t.Fatalf("Verify = %q, want it to mention %q", err, c.wantSubstrings)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q leaks the secret", err)
			}
		})
	}
}

// Each Zendesk webhook has its own secret: a bridge fed by several accepts
// any of them; when none matches, it says so in the words it uses for one
// secret, telling the caller nothing of how many there are.
func TestVerifyAnyOfSeveralSecrets(t *testing.T) {
	t.Parallel()
	const ts = "2026-11-27T10:00:00Z"
	body := []byte(`{"ticket":{"id":1}}`)
	now, _ := time.Parse(time.RFC3339, ts)
	secrets := []string{"first", "second"}
	for _, s := range secrets {
		if err := Verify(secrets, ts, Sign(s, ts, body), body, now, time.Minute); err != nil {
			t.Errorf("signed with %s: %v", s, err)
		}
	}
	err := Verify(secrets, ts, Sign("third", ts, body), body, now, time.Minute)
	if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "matches the body with no secret in BRIDGE_ZENDESK_SIGNING_SECRET") {
		t.Errorf("signed with another: %v", err)
	}
	if one := Verify(secrets[:1], ts, Sign("third", ts, body), body, now, time.Minute); one == nil || one.Error() != err.Error() {
		t.Errorf("one secret and two are refused differently: %v / %v", one, err)
	}
	if err := Verify(nil, ts, Sign("first", ts, body), body, now, time.Minute); !errors.Is(err, ErrSignature) {
		t.Errorf("no secrets accepted a signature: %v", err)
	}
}

// hexHMAC is the signature as someone signing by hand often writes it.
func hexHMAC(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// A long invocation id is kept as its hash: bounded, and still the same
// invocation each time.
func TestInvocationID(t *testing.T) {
	t.Parallel()
	h := func(v string) http.Header { return http.Header{HeaderInvocationID: {v}} }
	if got := InvocationID(h(" 01HZX5 ")); got != "01HZX5" {
		t.Errorf("short id: %q", got)
	}
	long := strings.Repeat("J", 1<<20)
	a, b := InvocationID(h(long)), InvocationID(h(long))
	if a != b || len(a) > 128 || !strings.HasPrefix(a, "sha256:") || a == InvocationID(h(long+"x")) {
		t.Errorf("long id kept as %q (%d bytes)", a[:min(len(a), 80)], len(a))
	}
	if got := InvocationID(http.Header{}); got != "" {
		t.Errorf("no id: %q", got)
	}
}
