package zendesk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth is how deeply objects and arrays may nest in a webhook body. A
// trigger body written in Zendesk's editor is two or three levels deep; the
// limit keeps a hostile body from costing a deep recursion.
const MaxDepth = 32

// DecodeBody parses a webhook body, a JSON object, into template data.
//
// Numbers keep the text they arrived with: an integer becomes an int64, so
// {{ticket.id}} renders "8447388090494" rather than "8.447388090494e+12";
// any other number (a fraction, an exponent, an integer too big for int64)
// becomes a string holding its exact JSON text. Invalid UTF-8 is refused
// rather than silently replaced, so a customer never receives "\uFFFD" in place
// of a letter. When keys repeat, the last one wins, as with encoding/json.
//
// Errors are sentences fit for a 400 answer, with the byte offset where the
// problem was found.
func DecodeBody(b []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("the body is empty; expected a JSON object")
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("the body is not valid UTF-8 (byte offset %d)", invalidUTF8Offset(b))
	}
	if err := validJSON(b); err != nil {
		return nil, err
	}
	// The text is valid JSON now: check its shape and depth before decoding.
	if first := firstByte(b); first != '{' {
		return nil, fmt.Errorf("the body must be a JSON object ({...}), not %s", describe(first))
	}
	if off, ok := depthWithin(b, MaxDepth); !ok {
		return nil, fmt.Errorf("the body nests objects and arrays deeper than %d levels (byte offset %d)", MaxDepth, off)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil { // cannot fail on valid JSON
		return nil, fmt.Errorf("the body is not valid JSON: %s", err.Error())
	}
	numbers(data)
	return data, nil
}

// depthWithin scans valid JSON and says whether objects and arrays nest at
// most max deep; if not, off is where the first too-deep one opens.
func depthWithin(b []byte, max int) (off int, ok bool) {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > max {
				return i, false
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return 0, true
}

func firstByte(b []byte) byte {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 {
		return 0
	}
	return t[0]
}

func describe(first byte) string {
	switch first {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// numbers replaces each json.Number in v, in place: integers that fit become
// int64, anything else keeps its exact text as a string; a number written
// with an exponent is first written out ("1.2345e4" is 12345, "1.5e-3" is
// "0.0015"), so that it renders as people write numbers.
func numbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		s := string(t)
		if strings.ContainsAny(s, "eE") {
			if plain, ok := Decimal(s); ok {
				s = plain
			}
		}
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		return s
	case map[string]any:
		for k, item := range t {
			t[k] = numbers(item)
		}
	case []any:
		for i, item := range t {
			t[i] = numbers(item)
		}
	}
	return v
}

// validJSON reports the first syntax error with the offset of the byte at
// fault (encoding/json counts the offending byte as read).
func validJSON(b []byte) error {
	var raw json.RawMessage
	err := json.Unmarshal(b, &raw)
	var se *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &se):
		return fmt.Errorf("the body is not valid JSON: %s", err.Error())
	case strings.HasPrefix(se.Error(), "unexpected end"):
		return fmt.Errorf("the body is not valid JSON: it ends before the JSON is complete (byte offset %d)", len(b))
	case strings.HasSuffix(se.Error(), "after top-level value"):
		return fmt.Errorf("the body has more data after the JSON object (byte offset %d)", se.Offset-1)
	default:
		return fmt.Errorf("the body is not valid JSON: %s (byte offset %d)", se.Error(), se.Offset-1)
	}
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// Lookup walks a dotted path ("ticket.requester.phone") through nested
// objects. ok is false when a step is missing or is not an object; a present
// null is found (ok true, v nil).
func Lookup(data map[string]any, path string) (v any, ok bool) {
	if path == "" {
		return nil, false
	}
	cur := data
	for {
		key, rest, more := strings.Cut(path, ".")
		v, ok = cur[key]
		if !ok || !more {
			return v, ok
		}
		if cur, ok = v.(map[string]any); !ok {
			return nil, false
		}
		path = rest
	}
}

// Tags returns ticket.tags lower-cased, whether the body carried them as
// Zendesk's space-separated string ({{ticket.tags}}) or as a JSON array. Empty
// entries are dropped; missing tags are an empty list.
func Tags(data map[string]any) (tags []string, ok bool) {
	v, _ := Lookup(data, "ticket.tags")
	add := func(s string) {
		for _, f := range strings.Fields(s) {
			tags = append(tags, strings.ToLower(f))
		}
	}
	scalar := func(v any) bool {
		switch v.(type) {
		case map[string]any, []any, []string:
			return false
		}
		return true
	}
	switch t := v.(type) {
	case nil:
	case []any:
		for _, item := range t {
			if !scalar(item) {
				return nil, false
			}
			add(Text(item))
		}
	case []string:
		for _, item := range t {
			add(item)
		}
	case map[string]any:
		// An object is no list of tags: reading it as text would let a rule
		// with tags_none fire for a requester who opted out.
		return nil, false
	default:
		add(Text(t))
	}
	return tags, true
}

// Text renders a value the way a template does: integers in decimal, strings
// as they are, booleans as "true"/"false", null as "". A list runs its items
// together as Liquid does; callers who want separators use | join.
func Text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case int64:
		return strconv.FormatInt(t, 10)
	case int:
		return strconv.Itoa(t)
	case bool:
		return strconv.FormatBool(t)
	case json.Number:
		return t.String()
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case []any:
		var sb strings.Builder
		for _, item := range t {
			sb.WriteString(Text(item))
		}
		return sb.String()
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		var sb strings.Builder
		for i := range rv.Len() {
			sb.WriteString(Text(rv.Index(i).Interface()))
		}
		return sb.String()
	}
	return fmt.Sprint(v)
}

// maxDecimalDigits bounds what Decimal writes out: "1e999999999" is kept as
// it was written rather than turned into a billion zeros.
const maxDecimalDigits = 40

// Decimal writes a JSON number without an exponent and without zeros that
// do not count (leading ones, and trailing ones after the point): "1.2345e4"
// is "12345", "12345.0" is "12345", "-1.50E-1" is "-0.15". Two numbers are
// equal when their Decimal forms are. ok is false for text that is not a
// JSON number, or that would take more than 40 digits to write out.
func Decimal(s string) (string, bool) {
	neg := strings.HasPrefix(s, "-")
	rest := strings.TrimPrefix(s, "-")
	mant, exp := rest, 0
	if i := strings.IndexAny(rest, "eE"); i >= 0 {
		digits := rest[i+1:]
		if len(digits) > 0 && (digits[0] == '+' || digits[0] == '-') {
			digits = digits[1:]
		}
		if digits == "" || !allDigits(digits) {
			return "", false // "1e+-5", "1e++5": not JSON
		}
		e, err := strconv.Atoi(strings.TrimPrefix(rest[i+1:], "+"))
		if err != nil || e > maxDecimalDigits || e < -maxDecimalDigits {
			return "", false
		}
		mant, exp = rest[:i], e
	}
	whole, frac, _ := strings.Cut(mant, ".")
	if whole == "" || (len(whole) > 1 && whole[0] == '0') || !allDigits(whole) || !allDigits(frac) ||
		(strings.Contains(mant, ".") && frac == "") {
		return "", false
	}
	digits := whole + frac
	point := len(whole) + exp // digits[:point] is the integer part
	trimmed := strings.TrimLeft(digits, "0")
	point -= len(digits) - len(trimmed)
	digits = strings.TrimRight(trimmed, "0")
	if digits == "" {
		return "0", true
	}
	if max(point, len(digits)-point, len(digits)) > maxDecimalDigits {
		return "", false
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case point <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -point))
		b.WriteString(digits)
	case point >= len(digits):
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", point-len(digits)))
	default:
		b.WriteString(digits[:point])
		b.WriteByte('.')
		b.WriteString(digits[point:])
	}
	return b.String(), true
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
