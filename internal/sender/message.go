package sender

import (
	"errors"
	"fmt"
	"time"
)

// Channel is the 8x8 product a message goes through.
type Channel string

const (
	SMS      Channel = "sms"
	WhatsApp Channel = "whatsapp"
)

// Message is one rendered notification, ready for 8x8. The queue stores it
// as JSON, so a delivery keeps the rendering it was queued with even when
// rules.yaml changes afterwards.
type Message struct {
	Channel    Channel `json:"channel"`
	Subaccount string  `json:"subaccount"`
	// To is the recipient in E.164 ("+6591234567").
	To string `json:"to"`
	// ClientMessageID is sent as clientMessageId (at most 50 characters) and is
	// the same on every attempt of one delivery, replays included.
	ClientMessageID string `json:"client_message_id"`

	// Text is the SMS text, or the WhatsApp freeform text when Template is nil.
	Text string `json:"text,omitempty"`
	// Source is the SMS sender id; empty lets 8x8 pick the subaccount default.
	Source string `json:"source,omitempty"`
	// Template is a pre-approved WhatsApp template; nil means freeform Text.
	Template *Template `json:"template,omitempty"`
}

// Template is a WhatsApp template with its body parameters in order.
type Template struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Body     []string `json:"body,omitempty"`
}

// Outcome is what one attempt at 8x8 came to.
type Outcome string

const (
	Sent      Outcome = "sent"
	Permanent Outcome = "permanent" // will never succeed as it is: park it
	Retryable Outcome = "retryable" // may succeed later: retry it
)

// Result describes one attempt. Send fills it whatever the outcome.
type Result struct {
	Outcome Outcome
	// Status is the HTTP status 8x8 answered; 0 when no answer came
	// (timeout, connection refused).
	Status int
	// Code and Message are 8x8's error code and text (or the transport error,
	// or the REJECTED status description).
	Code    int
	Message string
	// ErrorID is 8x8's errorId of an error answer: the reference 8x8 support
	// asks for.
	ErrorID string
	// UMID is 8x8's message id when the message was accepted.
	UMID string
	// RetryAfter is 8x8's Retry-After (any answer but Sent), zero when not
	// given; the retry policy decides whether to honour it.
	RetryAfter time.Duration
	// Latency is how long the HTTP exchange took.
	Latency time.Duration
	// DryRun says nothing went to 8x8: a DryRun sender took the message.
	DryRun bool
}

// Error is returned by Send for anything but Sent, so callers can use the
// ordinary error path while the decision stays made in one place.
type Error struct {
	Result Result
	// Err is the cause when it is not 8x8's answer: ErrInvalidMessage, or the
	// transport error (so errors.Is(err, context.Canceled) tells a shutdown).
	// Its text is redacted like Result.Message: it never carries the API key.
	Err error
}

// ErrInvalidMessage is the cause of a Permanent Result for a message that was
// refused before any request was made (empty text, bad number, ...).
var ErrInvalidMessage = errors.New("invalid message")

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	switch {
	case e.Result.Status == 0:
		return fmt.Sprintf("8x8 %s: %s", e.Result.Outcome, e.Result.Message)
	case e.Result.Code != 0:
		return fmt.Sprintf("8x8 %s: HTTP %d, code %d: %s", e.Result.Outcome, e.Result.Status, e.Result.Code, e.Result.Message)
	default:
		return fmt.Sprintf("8x8 %s: HTTP %d: %s", e.Result.Outcome, e.Result.Status, e.Result.Message)
	}
}
