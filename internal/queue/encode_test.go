package queue

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
)

// encode is the stored payload, so it must be what json.Marshal writes:
// deliveries stored by either decode the same way.
func TestEncodeIsJSONMarshal(t *testing.T) {
	full := Delivery{ID: "0123456789abcdef0123456789abcdef", Rule: "solved-sms", Ticket: "1000123", Key: "solved-sms/1000123",
		Message: sender.Message{Channel: sender.SMS, Subaccount: "Acme_SMS", To: "+6591234567", ClientMessageID: "zd-1000123-0123",
			Text: "Ticket #1000123 <solved> & \"closed\"\n\tMerci, Zoë 🎉 \u2028\u2029 \x00\x1f\x7f \xff", Source: "Acme"},
		AcceptedAt: time.Date(2026, 11, 28, 4, 5, 6, 789, time.FixedZone("", 8*3600)), Window: 720 * time.Hour,
		Firing: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", Invocation: "01HZ\\inv"}
	wa := full
	wa.Message = sender.Message{Channel: sender.WhatsApp, Subaccount: "Acme_WA", To: "+447700900123", ClientMessageID: "x",
		Template: &sender.Template{Name: "ticket_update", Language: "en_GB", Body: []string{"Mei", "", "1000123"}}}
	noBody := wa
	noBody.Message.Template = &sender.Template{Name: "hello", Language: "en", Body: []string{}}
	for name, d := range map[string]Delivery{
		"full": full, "whatsapp template": wa, "template without body": noBody,
		"empty": {}, "minimal": {ID: "a", Rule: "r", Ticket: "1", AcceptedAt: time.Unix(0, 0).UTC()},
	} {
		checkEncode(t, name, d)
	}
	bad := full
	bad.AcceptedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := encode(bad); err == nil {
		t.Error("a year json.Marshal refuses was encoded")
	}
}

func FuzzEncode(f *testing.F) {
	f.Add("solved-sms", "1000123", "Ticket <#1> & \"x\"\n", "\u2028\xff\x01", int64(1700000000123456789), int64(3600e9), true)
	f.Fuzz(func(t *testing.T, rule, ticket, text, other string, at, window int64, template bool) {
		d := Delivery{ID: other, Rule: rule, Ticket: ticket, Key: text + other,
			Message:    sender.Message{Channel: sender.SMS, Subaccount: other, To: ticket, ClientMessageID: rule, Text: text, Source: other},
			AcceptedAt: time.Unix(0, at).In(time.FixedZone("", int(window%86400))), Window: time.Duration(window), Firing: other, Invocation: text}
		if template {
			d.Message.Template = &sender.Template{Name: text, Language: other, Body: []string{rule, ticket, text}}
		}
		checkEncode(t, "fuzz", d)
	})
}

func checkEncode(t *testing.T, name string, d Delivery) {
	t.Helper()
	want, werr := json.Marshal(d)
	got, gerr := encode(d)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%s: json.Marshal error %v, encode error %v", name, werr, gerr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\nencode       %s\njson.Marshal %s", name, got, want)
	}
}

func BenchmarkEncode(b *testing.B) {
	d := Delivery{ID: "0123456789abcdef0123456789abcdef", Rule: "solved-sms", Ticket: "1000123", Key: "solved-sms/1000123",
		Message: sender.Message{Channel: sender.SMS, Subaccount: "Bench_SMS", To: "+6591234567", ClientMessageID: "zd-1000123-0123456789abcdef",
			Text: "Update for ticket #1000123 (solved). View: https://acme.zendesk.com/agent/tickets/1000123", Source: "BenchSupport"},
		AcceptedAt: time.Now(), Window: 720 * time.Hour, Firing: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", Invocation: "01HZXYZ"}
	for _, c := range []struct {
		name string
		f    func(Delivery) ([]byte, error)
	}{{"encode", encode}, {"json.Marshal", func(d Delivery) ([]byte, error) { return json.Marshal(d) }}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.f(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
