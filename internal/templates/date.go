package templates

import (
	"strconv"
	"strings"
	"time"

	"github.com/osteele/liquid/values"
	"github.com/osteele/tuesday"
)

// date is Shopify's date filter. osteele/liquid's turns a missing or null
// value into the zero time, so "{{ ticket.due_at | date: '%b %d' }}" on a
// ticket without one told the customer "Jan 01"; it also refuses an empty
// string, a Unix timestamp and any text it cannot read, failing the
// delivery. As in Shopify (and Zendesk): nothing prints nothing, a whole
// number (or a string of digits) is a Unix time in seconds, "now" and
// "today" are the time of rendering, and text that is no date prints as it
// is.
func date(v any, format func(string) string) (any, error) {
	f := format("%a, %b %d, %y")
	if f == "" {
		return v, nil
	}
	t, ok := toTime(v)
	if !ok {
		return v, nil
	}
	return tuesday.Strftime(f, t)
}

func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case int:
		return time.Unix(int64(x), 0), true
	case int64:
		return time.Unix(x, 0), true
	case float64:
		sec := int64(x)
		return time.Unix(sec, int64((x-float64(sec))*1e9)), true
	case string:
		s := strings.TrimSpace(x)
		switch {
		case s == "":
			return time.Time{}, false
		case s == "now" || s == "today":
			return time.Now(), true
		case isDigits(s):
			n, err := strconv.ParseInt(s, 10, 64)
			return time.Unix(n, 0), err == nil
		}
		t, err := values.ParseDate(s)
		return t, err == nil
	}
	return time.Time{}, false
}
