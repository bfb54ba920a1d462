package sender

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Validate refuses, before any request, what 8x8 would refuse anyway or what
// the bridge promises never to send (an empty message). The error wraps
// ErrInvalidMessage and never quotes the phone number.
func (m Message) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, args...))
	}
	if m.Channel != SMS && m.Channel != WhatsApp {
		return bad("unknown channel %q", m.Channel)
	}
	// The path parameter's pattern in both specs: ^[A-Za-z0-9\-._&]{3,50}$
	switch {
	case m.Subaccount == "":
		return bad("subaccount is empty")
	case !validSubaccount(m.Subaccount):
		return bad("subaccount %q is not 3 to 50 letters, digits, '-', '.', '_' or '&'", m.Subaccount)
	case m.To == "":
		return bad("recipient is empty")
	case !isE164(m.To):
		return bad("recipient is not an E.164 number ('+' and 7 to 15 digits)")
	case m.ClientMessageID == "":
		return bad("clientMessageId is empty")
	case utf8.RuneCountInString(m.ClientMessageID) > MaxClientMessageID:
		return bad("clientMessageId is %d characters, at most %d are allowed", utf8.RuneCountInString(m.ClientMessageID), MaxClientMessageID)
	}
	if m.Channel == SMS {
		switch {
		case m.Template != nil:
			return bad("an SMS cannot carry a WhatsApp template")
		case strings.TrimSpace(m.Text) == "":
			return bad("SMS text is empty")
		case utf8.RuneCountInString(m.Source) > 16: // SmsRequest.source maxLength
			return bad("SMS source %q is longer than 16 characters", m.Source)
		}
		return nil
	}
	if t := m.Template; t != nil {
		switch {
		case strings.TrimSpace(t.Name) == "":
			return bad("WhatsApp template name is empty")
		case strings.TrimSpace(t.Language) == "":
			return bad("WhatsApp template language is empty")
		}
		for i, p := range t.Body {
			if strings.TrimSpace(p) == "" {
				return bad("WhatsApp template body parameter %d is empty", i+1)
			}
		}
		return nil
	}
	switch n := utf8.RuneCountInString(m.Text); {
	case strings.TrimSpace(m.Text) == "":
		return bad("WhatsApp text is empty")
	case n > 35000: // content.text maxLength
		return bad("WhatsApp text is %d characters, at most 35000 are allowed", n)
	}
	return nil
}

func validSubaccount(s string) bool {
	if len(s) < 3 || len(s) > 50 {
		return false
	}
	for _, r := range s {
		ok := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' ||
			r == '-' || r == '.' || r == '_' || r == '&'
		if !ok {
			return false
		}
	}
	return true
}

// isE164 checks the shape only ('+', no leading zero, 7 to 15 digits, the
// range SmsRequest.destination accepts); whether the number exists is the
// phone package's business.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
