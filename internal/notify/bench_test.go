package notify

import (
	"testing"
	"time"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

// BenchmarkPlan is the per-webhook work between the decoded body and the
// enqueue: match, render, normalise, key. Compare with BenchmarkDecodeBody,
// which the baseline handler does too.
func BenchmarkPlan(b *testing.B) {
	set := testSet(&testing.T{})
	data, err := zendesk.DecodeBody([]byte(`{"ticket":{"id":12345,"status":"solved","tags":"notify vip","priority":"high","requester":{"phone":"9123 4567","first_name":"Mei"}}}`))
	if err != nil {
		b.Fatal(err)
	}
	r, _ := set.Rule("solved-sms")
	in := Input{Data: data, Now: time.Unix(1700000000, 0)}
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(set, r, in); !d.Ready() {
			b.Fatal(d.Refusal)
		}
	}
}

func BenchmarkDecodeBody(b *testing.B) {
	body := []byte(`{"ticket":{"id":12345,"status":"solved","tags":"notify vip","priority":"high","requester":{"phone":"9123 4567","first_name":"Mei"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := zendesk.DecodeBody(body); err != nil {
			b.Fatal(err)
		}
	}
}
