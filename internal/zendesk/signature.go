// Package zendesk understands what Zendesk sends: signed webhook requests and
// the JSON bodies admins write into triggers.
package zendesk

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Header names Zendesk puts on every webhook request.
const (
	HeaderSignature    = "X-Zendesk-Webhook-Signature"
	HeaderTimestamp    = "X-Zendesk-Webhook-Signature-Timestamp"
	HeaderInvocationID = "X-Zendesk-Webhook-Invocation-Id"
	HeaderWebhookID    = "X-Zendesk-Webhook-Id"
	HeaderAccountID    = "X-Zendesk-Account-Id"
)

// TestSigningSecret signs Zendesk's "Test webhook" requests sent before a
// webhook exists; it is used as text, not decoded.
const TestSigningSecret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="

// Sign computes the signature Zendesk sends for a timestamp and raw body.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ErrSignature is wrapped by every verification failure.
var ErrSignature = errors.New("signature rejected")

// Verify checks a request's signature over the raw body as received, and that
// its timestamp is within maxSkew of now (Zendesk sets no replay window of its
// own, so without this a captured request could be replayed forever). Any of
// secrets may have signed it: each Zendesk webhook has its own.
func Verify(secrets []string, timestamp, signature string, body []byte, now time.Time, maxSkew time.Duration) error {
	if signature == "" || timestamp == "" {
		return fmt.Errorf("%w: %s and %s are required", ErrSignature, HeaderSignature, HeaderTimestamp)
	}
	ts, err := time.Parse(time.RFC3339, timestamp)
	if err != nil {
		return fmt.Errorf("%w: %s is not an RFC 3339 time", ErrSignature, HeaderTimestamp)
	}
	if d := now.Sub(ts); d > maxSkew || d < -maxSkew {
		away := d.Abs().Round(time.Second).String()
		if d.Abs() > 24*time.Hour { // a duration saturates at 292 years
			away = "more than a day"
		}
		return fmt.Errorf("%w: timestamp is %s away from now, more than the %s allowed", ErrSignature, away, maxSkew)
	}
	for _, secret := range secrets {
		if subtle.ConstantTimeCompare([]byte(Sign(secret, timestamp, body)), []byte(signature)) == 1 {
			return nil
		}
	}
	// Not what Zendesk sends: someone signing by hand, most often with a
	// hex digest. Said apart, or they go looking for a wrong secret.
	if mac, err := base64.StdEncoding.DecodeString(signature); err != nil || len(mac) != sha256.Size {
		return fmt.Errorf("%w: %s is not an HMAC-SHA256 in base64 (44 characters), as Zendesk sends it: "+
			"base64 of HMAC-SHA256(secret, the %s value followed by the raw body)", ErrSignature, HeaderSignature, HeaderTimestamp)
	}
	// Still refused, but an admin pressing Test on an unsaved webhook
	// learns why rather than doubting the secret they copied.
	if subtle.ConstantTimeCompare([]byte(Sign(TestSigningSecret, timestamp, body)), []byte(signature)) == 1 {
		return fmt.Errorf("%w: %s was made with Zendesk's fixed test secret, which the Test button uses before a webhook is saved; "+
			"save the webhook and test it again", ErrSignature, HeaderSignature)
	}
	// The answer goes to whoever called: one sentence whatever the number
	// of secrets, so it tells nothing of them.
	return fmt.Errorf("%w: %s matches the body with no secret in BRIDGE_ZENDESK_SIGNING_SECRET (each Zendesk webhook signs with its own: "+
		"copy this one's signing secret there, comma-separated from the others)", ErrSignature, HeaderSignature)
}

// maxInvocationID bounds an invocation id as the bridge keeps and logs it:
// Zendesk's are short; anything longer is someone else's.
const maxInvocationID = 128

// InvocationID is the request's X-Zendesk-Webhook-Invocation-Id as the
// bridge keeps it: trimmed, and, when longer than Zendesk's ever are, its
// SHA-256 instead, so that one request cannot write a megabyte into the
// store and the log, and the same id still names the same invocation.
func InvocationID(h http.Header) string {
	id := strings.TrimSpace(h.Get(HeaderInvocationID))
	if len(id) <= maxInvocationID {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}
