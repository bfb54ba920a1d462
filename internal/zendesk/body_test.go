package zendesk

import (
	"reflect"
	"strings"
	"testing"
)

func TestDecodeBodyValues(t *testing.T) {
	body := `{
	  "ticket": {
	    "id": 8447388090494, "id_text": "8447388090494", "small": 12345, "negative": -7,
	    "score": 1.50, "exp": 1e3, "huge": 123456789012345678901234567890,
	    "sci": 1.2345e4, "tiny": 1.5e-3, "far": 1e999999999, "whole": 12345.0,
	    "title": "Printer \u00e9 on fire", "solved": true, "due": null,
	    "tags": ["VIP", "gold"],
	    "requester": {"phone": "+65 9123 4567", "name": "Ann"}
	  }
	}`
	data, err := DecodeBody([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]any{
		"ticket.id":              int64(8447388090494),
		"ticket.id_text":         "8447388090494",
		"ticket.small":           int64(12345),
		"ticket.negative":        int64(-7),
		"ticket.score":           "1.50",
		"ticket.exp":             int64(1000),
		"ticket.sci":             int64(12345),
		"ticket.tiny":            "0.0015",
		"ticket.far":             "1e999999999",
		"ticket.whole":           "12345.0", // the form a decimal field was sent in
		"ticket.huge":            "123456789012345678901234567890",
		"ticket.title":           "Printer é on fire",
		"ticket.solved":          true,
		"ticket.due":             nil,
		"ticket.tags":            []any{"VIP", "gold"},
		"ticket.requester.phone": "+65 9123 4567",
	} {
		got, ok := Lookup(data, path)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("Lookup(%q) = %#v, %v; want %#v", path, got, ok, want)
		}
	}
	for path, want := range map[string]string{
		"ticket.id": "8447388090494", "ticket.id_text": "8447388090494", "ticket.score": "1.50",
		"ticket.solved": "true", "ticket.due": "", "ticket.negative": "-7",
	} {
		v, _ := Lookup(data, path)
		if got := Text(v); got != want {
			t.Errorf("Text(%s) = %q, want %q", path, got, want)
		}
	}
}

func TestDecimal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"12345": "12345", "12345.0": "12345", "1.2345e4": "12345", "1.2345E+4": "12345",
		"-1.50E-1": "-0.15", "0.000": "0", "-0": "0", "0.5": "0.5", "1e-3": "0.001",
		"1.20e1": "12", "100": "100", "1e2": "100", "8447388090494": "8447388090494",
	} {
		if got, ok := Decimal(in); !ok || got != want {
			t.Errorf("Decimal(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-", "abc", "1.", ".5", "01", "1e", "1e999999999", "1e-41", "+1", "1.2.3", "1x", "9e40", "1e+-5", "1e++5", "1e-", "1e5x"} {
		if got, ok := Decimal(in); ok {
			t.Errorf("Decimal(%q) = %q, want not ok", in, got)
		}
	}
}

func TestDecodeBodyErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33)
	deepArrays := `{"a":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + "}"
	okDeep := strings.Repeat(`{"a":`, 32) + "1" + strings.Repeat("}", 32)
	for _, tc := range []struct{ name, body, want string }{
		{"empty", "", "the body is empty; expected a JSON object"},
		{"blank", " \n", "the body is empty; expected a JSON object"},
		{"array", `[1,2]`, "the body must be a JSON object ({...}), not an array"},
		{"string", `"x"`, "the body must be a JSON object ({...}), not a string"},
		{"number", `12`, "the body must be a JSON object ({...}), not a number"},
		{"null", `null`, "the body must be a JSON object ({...}), not null"},
		{"syntax", `{"a": x}`, "the body is not valid JSON: invalid character 'x' looking for beginning of value (byte offset 6)"},
		{"unquoted quote", `{"title": "say "hi""}`, "the body is not valid JSON: invalid character 'h' after object key:value pair (byte offset 16)"},
		{"truncated", `{"a": [1, 2`, "the body is not valid JSON: it ends before the JSON is complete (byte offset 11)"},
		{"trailing object", `{"a":1} {"b":2}`, "the body has more data after the JSON object (byte offset 8)"},
		{"trailing junk", "{\"a\":1}\n x", "the body has more data after the JSON object (byte offset 9)"},
		{"utf8", "{\"a\": \"caf\xe9\"}", "the body is not valid UTF-8 (byte offset 10)"},
		{"deep objects", deep, "the body nests objects and arrays deeper than 32 levels (byte offset 160)"},
		{"deep arrays", deepArrays, "the body nests objects and arrays deeper than 32 levels (byte offset 36)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeBody([]byte(tc.body))
			if err == nil || err.Error() != tc.want {
				t.Errorf("DecodeBody(%q) error = %v\nwant %s", tc.body, err, tc.want)
			}
		})
	}
	if _, err := DecodeBody([]byte(okDeep)); err != nil {
		t.Errorf("32 levels must be accepted: %v", err)
	}
	if _, err := DecodeBody([]byte("{\"a\":1}\r\n\t ")); err != nil {
		t.Errorf("trailing white space must be accepted: %v", err)
	}
}

func TestDecodeBodyDuplicateKeysLastWins(t *testing.T) {
	data, err := DecodeBody([]byte(`{"a": 1, "a": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	if data["a"] != int64(2) {
		t.Errorf("a = %#v, want 2", data["a"])
	}
}

func TestLookup(t *testing.T) {
	data := map[string]any{
		"ticket": map[string]any{
			"id":        int64(1),
			"requester": map[string]any{"phone": "123", "none": nil},
			"list":      []any{map[string]any{"a": 1}},
		},
		"a.b": "dotted key",
	}
	for _, tc := range []struct {
		path string
		want any
		ok   bool
	}{
		{"ticket.requester.phone", "123", true},
		{"ticket.requester.none", nil, true},
		{"ticket.requester.missing", nil, false},
		{"ticket.id.more", nil, false},
		{"ticket.list.0.a", nil, false},
		{"ticket.requester", data["ticket"].(map[string]any)["requester"], true},
		{"", nil, false},
		{"ticket.", nil, false},
		{".ticket", nil, false},
		{"a.b", nil, false},
		{"nosuch", nil, false},
	} {
		got, ok := Lookup(data, tc.path)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Lookup(%q) = %#v, %v; want %#v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTags(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
		unusable   bool
	}{
		{"zendesk string", `{"ticket": {"tags": "VIP notify_customer_sms  gold"}}`, []string{"vip", "notify_customer_sms", "gold"}, false},
		{"array", `{"ticket": {"tags": ["VIP", "Gold", ""]}}`, []string{"vip", "gold"}, false},
		{"array of numbers", `{"ticket": {"tags": [12, "a"]}}`, []string{"12", "a"}, false},
		{"empty string", `{"ticket": {"tags": ""}}`, nil, false},
		{"null", `{"ticket": {"tags": null}}`, nil, false},
		{"missing", `{"ticket": {}}`, nil, false},
		{"no ticket", `{}`, nil, false},
		{"an object is not a list of tags", `{"ticket": {"tags": {"no_sms": true}}}`, nil, true},
		{"nor is a list of objects", `{"ticket": {"tags": [{"no_sms": true}]}}`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := DecodeBody([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := Tags(data)
			if !reflect.DeepEqual(got, tc.want) || ok == tc.unusable {
				t.Errorf("Tags = %#v, %v; want %#v, %v", got, ok, tc.want, !tc.unusable)
			}
		})
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, ""},
		{"x y", "x y"},
		{int64(8447388090494), "8447388090494"},
		{42, "42"},
		{true, "true"},
		{false, "false"},
		{8447388090494.0, "8447388090494"},
		{1.5, "1.5"},
		{[]any{"a", int64(1)}, "a1"},
		{[]string{"a", "b"}, "ab"},
	} {
		if got := Text(tc.v); got != tc.want {
			t.Errorf("Text(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{`{}`, `{"ticket":{"id":1,"tags":"a b"}}`, `[`, `{"a":[[[{}]]]}`, "{\"a\":\"\xff\"}", `{"a":1e999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := DecodeBody(b)
		if err != nil {
			if data != nil {
				t.Fatal("data with an error")
			}
			return
		}
		_, _ = Tags(data)
		v, _ := Lookup(data, "ticket.id")
		_ = Text(v)
	})
}
