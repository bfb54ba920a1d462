package jsonappend

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "plain", `"quoted" \ back`, "<b>&amp;</b>", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"Zoë 🎉 日本", "\u2028\u2029", "\xff\xfe bad \xc3", "\xed\xa0\x80 surrogate"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String([]byte("x"), s); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Fatalf("String(%q) = %s, json.Marshal %s", s, got[1:], want)
		}
	})
}

func FuzzTime(f *testing.F) {
	f.Add(int64(1700000000123456789), 8*3600)
	f.Add(int64(-1<<63), 0)
	f.Add(int64(0), 100000)
	f.Fuzz(func(t *testing.T, ns int64, offset int) {
		tm := time.Unix(0, ns).In(time.FixedZone("", offset))
		want, werr := json.Marshal(tm)
		got, ok := Time([]byte("x"), tm)
		if ok != (werr == nil) {
			t.Fatalf("%v: json.Marshal error %v, Time ok %v", tm, werr, ok)
		}
		if !ok {
			if string(got) != "x" {
				t.Fatalf("a refused time changed b: %q", got)
			}
			return
		}
		if !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Fatalf("Time(%v) = %s, json.Marshal %s", tm, got[1:], want)
		}
	})
}

func TestField(t *testing.T) {
	b := Field([]byte("{"), "a")
	b = append(b, '1')
	b = StringField(b, "b", "", true)
	b = StringField(b, "c", "", false)
	if got := string(append(b, '}')); got != `{"a":1,"c":""}` {
		t.Fatalf("got %s", got)
	}
}
