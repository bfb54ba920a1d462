package sender

import (
	"strings"
	"unicode/utf16"
)

// GSM 03.38 default alphabet, as printable characters (ESC, 0x1B, is left out:
// it only introduces the extension table). LF and CR are part of it.
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅå" +
	"Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
	" !\"#¤%&'()*+,-./" +
	"0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
	"¿abcdefghijklmnopqrstuvwxyzäöñüà"

// GSM 03.38 extension table: each is ESC + one septet, so it costs 2.
const gsm7Extension = "\f^{}\\[~]|€"

// Segment sizes: a single SMS holds 140 bytes; a concatenated one loses 6 to
// the user data header.
const (
	gsm7Single = 160 // septets
	gsm7Part   = 153
	ucs2Single = 70 // UTF-16 code units
	ucs2Part   = 67
)

// SMSEncoding says how 8x8 will most likely encode text with encoding AUTO and
// how many SMS segments it will cost: "GSM7" when every character is in the
// GSM 03.38 default alphabet or its extension table (extension characters
// cost 2 septets), else "UCS2" (counted in UTF-16 code units, so an emoji
// costs 2). Empty text is ("GSM7", 0).
//
// Like common SMSC encoders, a multipart message never splits an escape
// sequence or a surrogate pair between two segments, so it can need one more
// segment than ceil(n/153) or ceil(n/67) when such a pair lands on a boundary.
// It is an estimate for /test and logs: 8x8's answer is the authority.
func SMSEncoding(text string) (encoding string, segments int) {
	if text == "" {
		return "GSM7", 0
	}
	units := make([]int, 0, len(text)) // cost of each character, in septets or code units
	encoding = "GSM7"
gsm:
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsm7Basic, r):
			units = append(units, 1)
		case strings.ContainsRune(gsm7Extension, r):
			units = append(units, 2)
		default:
			encoding = "UCS2"
			break gsm
		}
	}
	single, part := gsm7Single, gsm7Part
	if encoding == "UCS2" {
		units = units[:0]
		for _, r := range text {
			n := utf16.RuneLen(r)
			if n < 1 { // invalid UTF-8 or a lone surrogate: sent as U+FFFD
				n = 1
			}
			units = append(units, n)
		}
		single, part = ucs2Single, ucs2Part
	}
	total := 0
	for _, u := range units {
		total += u
	}
	if total <= single {
		return encoding, 1
	}
	segments, used := 1, 0
	for _, u := range units {
		if used+u > part {
			segments++
			used = 0
		}
		used += u
	}
	return encoding, segments
}
