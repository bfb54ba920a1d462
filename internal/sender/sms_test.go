package sender

import (
	"strings"
	"testing"
)

func TestSMSEncoding(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	zh := func(n int) string { return strings.Repeat("你", n) }
	tests := []struct {
		name     string
		text     string
		encoding string
		segments int
	}{
		{"empty", "", "GSM7", 0},
		{"one char", "a", "GSM7", 1},
		{"gsm 160", a(160), "GSM7", 1},
		{"gsm 161", a(161), "GSM7", 2},
		{"gsm 306", a(306), "GSM7", 2},
		{"gsm 307", a(307), "GSM7", 3},
		{"gsm 459", a(459), "GSM7", 3},
		{"gsm 460", a(460), "GSM7", 4},
		{"whole basic alphabet", gsm7Basic, "GSM7", 1},
		{"whole extension table", gsm7Extension, "GSM7", 1},
		{"extension counts 2: 80 euros", strings.Repeat("€", 80), "GSM7", 1},
		{"extension counts 2: 81 euros", strings.Repeat("€", 81), "GSM7", 2},
		{"extension at the end, 160 septets", a(158) + "€", "GSM7", 1},
		{"extension at the end, 161 septets", a(159) + "{", "GSM7", 2},
		{"form feed is an extension", a(159) + "\f", "GSM7", 2},
		{"306 septets, escape not split", a(153) + "€" + a(151), "GSM7", 2},
		{"306 septets, escape would straddle the boundary", a(152) + "€" + a(152), "GSM7", 3},
		{"newline and carriage return are basic", "a\r\nb", "GSM7", 1},
		{"basic accented and greek", "Ç é à Ä ß Ω Δ ¿¡ £¥§", "GSM7", 1},
		{"lower c cedilla is not GSM", "ça", "UCS2", 1},
		{"greek lower case is not GSM", "α", "UCS2", 1},
		{"tab is not GSM", "a\tb", "UCS2", 1},
		{"ucs2 70", zh(70), "UCS2", 1},
		{"ucs2 71", zh(71), "UCS2", 2},
		{"ucs2 134", zh(134), "UCS2", 2},
		{"ucs2 135", zh(135), "UCS2", 3},
		{"one non-GSM char turns it all UCS2", a(70) + "ç", "UCS2", 2},
		{"gsm chars count 1 in ucs2", a(69) + "ç", "UCS2", 1},
		{"emoji counts 2: 35 emoji", strings.Repeat("😀", 35), "UCS2", 1},
		{"emoji counts 2: 71 units", a(69) + "😀", "UCS2", 2},
		{"134 units, surrogate pair not split", zh(67) + "😀" + zh(65), "UCS2", 2},
		{"134 units, surrogate pair would straddle the boundary", zh(66) + "😀" + zh(66), "UCS2", 3},
		{"extension chars count 1 in ucs2", strings.Repeat("€", 69) + "ç", "UCS2", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, segs := SMSEncoding(tt.text)
			if enc != tt.encoding || segs != tt.segments {
				t.Errorf("SMSEncoding = %s, %d; want %s, %d", enc, segs, tt.encoding, tt.segments)
			}
		})
	}
}
