package fake8x8

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
)

// refusal is what 8x8 answers a request that passes the OpenAPI schema but
// breaks a rule its documents state in prose, which a schema cannot hold.
type refusal struct {
	status  int
	code    int    // 8x8's error code (docs/api-error-codes.md)
	message string // its description there
}

// msisdn is an E.164 number as 8x8's SMS destination pattern has it; the
// Chat Apps schema leaves user.msisdn a bare string.
var msisdn = regexp.MustCompile(`^\+?[1-9]\d{6,14}$`)

// semantics checks what the documents say in prose:
//   - SMS: "Text value is missing (REJECTED Status)" (sms_api.json): an
//     empty text is refused with status REJECTED in a 200.
//   - Chat Apps (business_messaging_api.json, "Content type"): a "text"
//     message needs content.text, a "template" one content.template; the
//     error codes 3003 Invalid MSISDN, 3005 Missed Text, 3030 Empty
//     Template, 3032 Invalid Template Name, 3036 Empty Template language and
//     3041 Invalid Template parameter name what 8x8 answers.
//
// refused is false when the request is fine.
func semantics(channel sender.Channel, body []byte) (r refusal, refused bool) {
	if channel == sender.SMS {
		var m struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(body, &m)
		if strings.TrimSpace(m.Text) == "" {
			return refusal{http.StatusOK, 0, "Text value is missing"}, true
		}
		return refusal{}, false
	}
	var m struct {
		User *struct {
			MSISDN *string `json:"msisdn"`
		} `json:"user"`
		Type    string `json:"type"`
		Content struct {
			Text     *string `json:"text"`
			Template *struct {
				Name       string `json:"name"`
				Language   string `json:"language"`
				Components []struct {
					Parameters []struct {
						Type string  `json:"type"`
						Text *string `json:"text"`
					} `json:"parameters"`
				} `json:"components"`
			} `json:"template"`
		} `json:"content"`
	}
	_ = json.Unmarshal(body, &m)
	bad := func(code int, msg string) (refusal, bool) {
		return refusal{http.StatusBadRequest, code, msg}, true
	}
	if m.User != nil && m.User.MSISDN != nil && !msisdn.MatchString(*m.User.MSISDN) {
		return bad(3003, "Invalid MSISDN")
	}
	switch strings.ToLower(m.Type) {
	case "text":
		if m.Content.Text == nil || strings.TrimSpace(*m.Content.Text) == "" {
			return bad(3005, "Missed Text")
		}
	case "template":
		t := m.Content.Template
		switch {
		case t == nil:
			return bad(3030, "Empty Template")
		case strings.TrimSpace(t.Name) == "":
			return bad(3032, "Invalid Template Name")
		case strings.TrimSpace(t.Language) == "":
			return bad(3036, "Empty Template language")
		}
		for _, c := range t.Components {
			for _, p := range c.Parameters {
				if strings.EqualFold(p.Type, "text") && (p.Text == nil || strings.TrimSpace(*p.Text) == "") {
					return bad(3041, "Invalid Template parameter")
				}
			}
		}
	}
	return refusal{}, false
}
