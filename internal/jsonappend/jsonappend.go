// Package jsonappend appends JSON without reflection, byte for byte what
// encoding/json writes for the same values, for the few values the webhook
// path encodes on every request (the stored delivery, the answer to
// Zendesk). Its tests hold it to encoding/json; decoding stays with
// encoding/json.
package jsonappend

import (
	"strconv"
	"time"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// plain holds the ASCII bytes a JSON string carries as they are: not a
// control character, a quote, a backslash, or an HTML character.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := byte(0x20); c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// String appends s as a JSON string the way encoding/json does: HTML
// characters (<, >, &) and U+2028/U+2029 escaped as \u00XX and \u202X,
// control characters escaped, invalid UTF-8 replaced with \ufffd.
func String(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Field appends a member name and its colon, after a comma unless it is
// the object's first: `"name":`. name must need no escaping.
func Field(b []byte, name string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// StringField appends "name":s, or nothing when omitEmpty and s is "".
func StringField(b []byte, name, s string, omitEmpty bool) []byte {
	if omitEmpty && s == "" {
		return b
	}
	return String(Field(b, name), s)
}

// Int appends i as a JSON number.
func Int(b []byte, i int64) []byte { return strconv.AppendInt(b, i, 10) }

// Time appends t as encoding/json does (RFC 3339 with nanoseconds, in
// quotes). ok is false for a time encoding/json refuses (a year outside
// 0-9999, or an offset beyond a day); b is then unchanged.
func Time(b []byte, t time.Time) (_ []byte, ok bool) {
	out, err := t.AppendText(append(b, '"'))
	if err != nil {
		return b, false
	}
	return append(out, '"'), true
}
