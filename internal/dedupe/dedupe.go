// Package dedupe decides when two notifications are the same one, so that a
// rule fires at most once per key however often Zendesk calls.
//
// The claim itself is made by the queue, atomically with storing the delivery
// (the delivery's id is derived from its Key): a claim that is not queued, or
// a delivery queued twice, cannot happen.
package dedupe

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// InvocationWindow is how long a Zendesk webhook invocation id is
// remembered; Zendesk re-delivers one invocation within minutes.
const InvocationWindow = 24 * time.Hour

// Key names one firing of a rule.
type Key struct {
	Rule string
	// Value is the rendered `once` key, or the Zendesk invocation id when
	// the rule has `once: false`.
	Value string
	// Invocation says Value is an invocation id rather than a once key.
	Invocation bool
}

// Once is the key of a rule whose `once` template rendered to value.
func Once(rule, value string) Key { return Key{Rule: rule, Value: value} }

// Invocation is the key of a `once: false` rule for one Zendesk invocation:
// a re-delivery of the same invocation must not send again.
func Invocation(rule, invocationID string) Key {
	return Key{Rule: rule, Value: invocationID, Invocation: true}
}

// ID is the delivery id this key claims: 32 hex characters, stable across
// bridges and restarts, and short enough to build an 8x8 clientMessageId.
func (k Key) ID() string {
	kind := "once"
	if k.Invocation {
		kind = "invocation"
	}
	var buf [128]byte // most keys fit: hashed without allocating
	b := append(buf[:0], kind...)
	b = append(append(b, 0), k.Rule...)
	b = append(append(b, 0), k.Value...)
	sum := sha256.Sum256(append(b, 0))
	return hex.EncodeToString(sum[:16])
}

// String is how the key is shown to people (/test, logs).
func (k Key) String() string {
	if k.Invocation {
		return k.Rule + "/invocation:" + k.Value
	}
	return k.Rule + "/" + k.Value
}

// Window is how long the key stays claimed.
func (k Key) Window(onceFor time.Duration) time.Duration {
	if k.Invocation {
		return InvocationWindow
	}
	return onceFor
}
