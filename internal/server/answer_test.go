package server

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The webhook's answer is written by hand; it must be what c.JSON wrote
// (json.Marshal and a newline).
func TestAnswerIsJSONMarshal(t *testing.T) {
	for name, a := range map[string]webhookAnswer{
		"nothing":  {},
		"no rules": {Ticket: "1", Rules: []ruleResult{}, Result: "no_match", Message: "No rule matched this ticket; nothing was queued."},
		"all fields": {Ticket: "{{ticket.id}}", Result: "accepted", Message: "1 queued, 1 duplicate (already fired), 1 skipped.",
			Warning: "The body holds <placeholders> & \"quotes\"\n", Rules: []ruleResult{
				{Rule: "solved-sms", Result: "queued", Delivery: "0123456789abcdef0123456789abcdef", Channel: "sms", To: "+65•••••567"},
				{Rule: "wa", Result: "duplicate", Delivery: "fedc", Channel: "whatsapp", To: "+44•••••123", Reason: "already \u2028 sent \xff"},
				{Rule: "vip", Result: "skipped", Error: "invalid_phone", Reason: "tab\there"},
			}},
	} {
		checkAnswer(t, name, a)
	}
}

func FuzzAnswer(f *testing.F) {
	f.Add("1000123", "solved-sms", "queued", "a <b> & \"c\"\n\x01\xfe\u2029")
	f.Fuzz(func(t *testing.T, ticket, rule, result, text string) {
		checkAnswer(t, "fuzz", webhookAnswer{Ticket: ticket, Result: result, Message: text, Warning: text, Rules: []ruleResult{
			{Rule: rule, Result: result, Delivery: text, Channel: rule, To: ticket, Error: text, Reason: text}, {Rule: text},
		}})
	})
}

func checkAnswer(t *testing.T, name string, a webhookAnswer) {
	t.Helper()
	want, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.appendJSON(nil); !bytes.Equal(got, append(want, '\n')) {
		t.Fatalf("%s:\nappendJSON   %s\njson.Marshal %s", name, got, want)
	}
}
