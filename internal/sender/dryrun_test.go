package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

func smsMessage(id string) Message {
	return Message{Channel: SMS, Subaccount: "Acme_SMS", To: "+6591234567", ClientMessageID: id, Text: "Your ticket 42 is solved", Source: "Acme"}
}

func TestDryRunSend(t *testing.T) {
	var logs bytes.Buffer
	d := NewDryRun(zerolog.New(&logs), 0)
	m := smsMessage("d-1")
	res, err := d.Send(context.Background(), m)
	if err != nil || res != (Result{Outcome: Sent, UMID: "dry-run-d-1", DryRun: true}) {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	wa := Message{Channel: WhatsApp, Subaccount: "Acme_WA", To: "+6591234567", ClientMessageID: "d-2",
		Template: &Template{Name: "ticket_update", Language: "en_GB", Body: []string{"42"}}}
	if _, err := d.Send(context.Background(), wa); err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want one per message:\n%s", len(lines), logs.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"level": "info", "sender": "dry_run", "channel": "sms", "subaccount": "Acme_SMS", "to": "+6591****67",
		"client_message_id": "d-1", "encoding": "GSM7", "segments": 1.0, "outcome": "sent", "umid": "dry-run-d-1", "message": "dry run: not sent to 8x8"}
	if fmt.Sprint(line) != fmt.Sprint(want) {
		t.Errorf("log line\n got %v\nwant %v", line, want)
	}
	if strings.Contains(logs.String(), "+6591234567") || strings.Contains(logs.String(), "solved") {
		t.Errorf("the log has the number or the text:\n%s", logs.String())
	}
	if !strings.Contains(lines[1], `"template":"ticket_update"`) {
		t.Errorf("WhatsApp line without template: %s", lines[1])
	}

	got := d.Sent()
	if len(got) != 2 || got[0].ClientMessageID != "d-1" || got[1].ClientMessageID != "d-2" {
		t.Fatalf("Sent() = %+v", got)
	}
	got[1].Template.Body[0] = "changed"
	wa.Template.Body[0] = "changed too"
	if d.Sent()[1].Template.Body[0] != "42" {
		t.Error("what was recorded can be changed from outside")
	}
}

func TestDryRunKeepsTheLastN(t *testing.T) {
	d := NewDryRun(zerolog.Nop(), 3)
	for i := range 7 {
		if _, err := d.Send(context.Background(), smsMessage(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		got := d.Sent()
		if want := min(i+1, 3); len(got) != want {
			t.Fatalf("after %d sends: %d kept, want %d", i+1, len(got), want)
		}
		if last := got[len(got)-1].ClientMessageID; last != fmt.Sprint(i) {
			t.Fatalf("after %d sends: last is %s", i+1, last)
		}
	}
	var ids []string
	for _, m := range d.Sent() {
		ids = append(ids, m.ClientMessageID)
	}
	if strings.Join(ids, ",") != "4,5,6" {
		t.Errorf("kept %v, want 4,5,6 oldest first", ids)
	}
}

func TestDryRunRefusesWhatClientRefuses(t *testing.T) {
	var logs bytes.Buffer
	d := NewDryRun(zerolog.New(&logs), 0)
	m := smsMessage("d-1")
	m.Text = "  "
	res, err := d.Send(context.Background(), m)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalidMessage) || res.Outcome != Permanent || e.Result != res {
		t.Fatalf("Send = %+v, %v; want Permanent *Error wrapping ErrInvalidMessage", res, err)
	}
	if len(d.Sent()) != 0 {
		t.Error("an invalid message was recorded as sent")
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "SMS text is empty") {
		t.Errorf("log: %s", logs.String())
	}
}

func TestDryRunCanceled(t *testing.T) {
	d := NewDryRun(zerolog.Nop(), 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := d.Send(ctx, smsMessage("d-1"))
	if res.Outcome != Retryable || !errors.Is(err, context.Canceled) || len(d.Sent()) != 0 {
		t.Errorf("Send on a canceled context = %+v, %v", res, err)
	}
}

func TestDryRunConcurrent(t *testing.T) {
	d := NewDryRun(zerolog.Nop(), 10)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_, _ = d.Send(context.Background(), smsMessage(fmt.Sprint(i)))
			_ = d.Sent()
		})
	}
	wg.Wait()
	if n := len(d.Sent()); n != 10 {
		t.Errorf("%d kept, want 10", n)
	}
}
