package phone

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// Every expected value below was checked against phonenumbers v1.8.1, not
// taken from memory: several "obvious" numbers turn out to be another type
// (SG 3xxx xxxx is VoIP, GB 07911 is Guernsey, GB 0870 is premium rate).

func TestNormalizeCountries(t *testing.T) {
	t.Parallel()
	// One real-format mobile per country, written the way its people write
	// it and in both international forms.
	tests := []struct {
		country  string
		national string
		plus     string
		zeroZero string
		want     string
	}{
		{"SG", "9123 4567", "+65 9123 4567", "0065 9123 4567", "+6591234567"},
		{"GB", "07400 123456", "+44 7400 123456", "0044 7400 123456", "+447400123456"},
		{"US", "(201) 555-0123", "+1 201-555-0123", "001 201 555 0123", "+12015550123"},
		{"IN", "098765 43210", "+91 98765 43210", "0091 98765 43210", "+919876543210"},
		{"ID", "0812 3456 789", "+62 812 3456 789", "0062 812 3456 789", "+628123456789"},
		{"AU", "0412 345 678", "+61 412 345 678", "0061 412 345 678", "+61412345678"},
		{"DE", "0151 23456789", "+49 151 23456789", "0049 151 23456789", "+4915123456789"},
		{"BR", "(11) 91234-5678", "+55 11 91234-5678", "0055 11 91234 5678", "+5511912345678"},
		{"MY", "012-345 6789", "+60 12-345 6789", "0060 12 345 6789", "+60123456789"},
		{"PH", "0917 123 4567", "+63 917 123 4567", "0063 917 123 4567", "+639171234567"},
	}
	for _, tt := range tests {
		forms := []struct{ name, raw, country string }{
			{"national", tt.national, tt.country},
			{"plus", tt.plus, tt.country},
			{"00", tt.zeroZero, tt.country},
			// International forms need no country, and another default
			// region must not change them.
			{"plus without country", tt.plus, ""},
			{"00 without country", tt.zeroZero, ""},
			{"plus with other country", tt.plus, otherCountry(tt.country)},
			{"00 with other country", tt.zeroZero, otherCountry(tt.country)},
		}
		for _, f := range forms {
			t.Run(tt.country+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				got, err := Normalize(f.raw, f.country)
				if err != nil || got != tt.want {
					t.Errorf("Normalize(%q, %q) = %q, %v; want %q", f.raw, f.country, got, err, tt.want)
				}
			})
		}
	}
}

func otherCountry(c string) string {
	if c == "SG" {
		return "GB"
	}
	return "SG"
}

func TestNormalizeAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		country string
		want    string
	}{
		{"dots", "9123.4567", "SG", "+6591234567"},
		{"dashes", "9123-4567", "SG", "+6591234567"},
		{"brackets", "(9123) 4567", "SG", "+6591234567"},
		{"no separators", "91234567", "SG", "+6591234567"},
		{"E.164 is a fixed point", "+6591234567", "SG", "+6591234567"},
		{"plus inside brackets", "(+65) 9123 4567", "", "+6591234567"},
		{"national trunk zero after country code", "+44 (0)7400 123456", "", "+447400123456"},
		{"country code without plus", "65 9123 4567", "SG", "+6591234567"},
		{"non-breaking spaces", "+65\u00a09123\u00a04567", "", "+6591234567"},
		// Digits of other scripts are digits (as phonenumbers reads them).
		{"full-width", "＋８１ ９０ １２３４ ５６７８", "", "+819012345678"},
		{"full-width brackets and dashes", "（０９０）－１２３４－５６７８", "JP", "+819012345678"},
		{"full-width dot", "９１２３．４５６７", "SG", "+6591234567"},
		{"Japanese long vowel mark as a dash", "０９０ー１２３４ー５６７８", "JP", "+819012345678"},
		{"Arabic-Indic", "+81 ٩٠ ١٢٣٤ ٥٦٧٨", "", "+819012345678"},
		{"Extended Arabic-Indic (Persian)", "۰۹۱۲ ۳۴۵ ۶۷۸۹", "IR", "+989123456789"},
		{"narrow non-breaking space", "9123\u202f4567", "SG", "+6591234567"},
		{"tab", "9123\t4567", "SG", "+6591234567"},
		{"surrounding whitespace and newline", " \t+65 9123 4567\n", "", "+6591234567"},
		{"en dash from a word processor", "9123\u20134567", "SG", "+6591234567"},
		{"bidi marks from a WhatsApp copy", "\u202a+65 9123 4567\u202c", "", "+6591234567"},
		{"lower-case country", "9123 4567", "sg", "+6591234567"},
		{"padded country", "9123 4567", " SG ", "+6591234567"},
		{"UK read as GB", "07400 123456", "UK", "+447400123456"},
		{"lower-case uk", "07400 123456", "uk", "+447400123456"},
		{"foreign number with default SG", "+44 7400 123456", "SG", "+447400123456"},
		{"SG mobile starting with 8", "8123 4567", "SG", "+6581234567"},
		{"SG VoIP 3xxx", "3123 4567", "SG", "+6531234567"},
		{"GB personal number", "070 1234 5678", "GB", "+447012345678"},
		{"GB 07911 is Guernsey, still mobile", "07911 123456", "GB", "+447911123456"},
		{"US fixed-line-or-mobile", "650 253 0000", "US", "+16502530000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Normalize(tt.raw, tt.country)
			if err != nil || got != tt.want {
				t.Errorf("Normalize(%q, %q) = %q, %v; want %q", tt.raw, tt.country, got, err, tt.want)
			}
		})
	}
}

func TestNormalizeRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		country string
		code    string
		reason  string
	}{
		{"empty", "", "SG", "invalid_phone", "empty"},
		{"whitespace only", " \t\u00a0\n", "SG", "invalid_phone", "empty"},
		{"letters", "call me", "SG", "invalid_phone", "letters are not allowed"},
		{"letters after digits", "9123 4567 mobile", "SG", "invalid_phone", "letters are not allowed"},
		{"tel URI", "tel:+6591234567", "SG", "invalid_phone", "letters are not allowed"},
		{"ext", "9123 4567 ext 12", "SG", "invalid_phone", "extensions are not allowed"},
		{"Ext.", "9123 4567 Ext. 12", "SG", "invalid_phone", "extensions are not allowed"},
		{"x", "9123 4567x12", "SG", "invalid_phone", "extensions are not allowed"},
		{"hash", "9123 4567 #12", "SG", "invalid_phone", "extensions are not allowed"},
		{"RFC 3966 ext", "+6591234567;ext=12", "SG", "invalid_phone", "extensions are not allowed"},
		{"slash", "9123/4567", "SG", "invalid_phone", `character '/' is not allowed`},
		{"comma", "9123 4567, 9876 5432", "SG", "invalid_phone", `character ',' is not allowed`},
		{"control character", "9123\x004567", "SG", "invalid_phone", `character '\x00' is not allowed`},
		{"plus in the middle", "+65 9123+4567", "", "invalid_phone", `"+" is only allowed before the country code`},
		{"two pluses", "++65 9123 4567", "", "invalid_phone", `"+" is only allowed before the country code`},
		{"plus and 00", "+0065 9123 4567", "SG", "invalid_phone", "a country code never starts with 0"},
		{"plus and 0", "+065 9123 4567", "SG", "invalid_phone", "a country code never starts with 0"},
		{"00 then 0", "000 65 9123 4567", "SG", "invalid_phone", "a country code never starts with 0"},
		{"no digits", "( - )", "SG", "invalid_phone", "no digits"},
		{"plus alone", "+", "SG", "invalid_phone", "no digits"},
		{"00 alone", "00", "SG", "invalid_phone", "no digits"},
		{"too long", strings.Repeat("9", 65), "SG", "invalid_phone", "too long"},
		{"parses but invalid", "12345", "SG", "invalid_phone", "not a valid number for SG"},
		{"GB drama range", "07700 900123", "GB", "invalid_phone", "not a valid number for GB"},
		{"UK drama range", "07700 900123", "UK", "invalid_phone", "not a valid number for GB"},
		{"international invalid names its own region", "+44 7700 900123", "SG", "invalid_phone", "not a valid number for GB"},
		{"international invalid without country", "+65 12345", "", "invalid_phone", "not a valid number for SG"},
		{"non-geographic invalid", "+882 3421 2345", "", "invalid_phone", "not a valid number for +882"},
		{"unknown country code", "+999 1234 5678", "", "invalid_phone", "unknown country code"},
		{"country code 0", "+0 1234 5678", "", "invalid_phone", "a country code never starts with 0"},
		// SG's own international prefixes are 000, 001, 002 and 008: reading
		// a leading 00 as "+" makes 001 44 … a +1 number, which is invalid.
		{"SG IDD 001 is read as 00", "001 44 7400 123456", "SG", "invalid_phone", "not a valid number for US"},
		{"fixed line", "6123 4567", "SG", "invalid_phone", "fixed line cannot receive SMS"},
		{"GB fixed line", "020 7946 0000", "GB", "invalid_phone", "fixed line cannot receive SMS"},
		{"IT fixed line", "+39 06 1234 5678", "", "invalid_phone", "fixed line cannot receive SMS"},
		{"toll-free SG", "1800 123 4567", "SG", "invalid_phone", "toll-free number cannot receive SMS"},
		{"toll-free US", "(800) 555-0199", "US", "invalid_phone", "toll-free number cannot receive SMS"},
		{"toll-free international", "+800 1234 5678", "", "invalid_phone", "toll-free number cannot receive SMS"},
		{"premium rate", "0870 123 4567", "GB", "invalid_phone", "premium-rate number cannot receive SMS"},
		{"shared cost", "0180 1 2345", "DE", "invalid_phone", "shared-cost number cannot receive SMS"},
		{"pager", "076 4012 3456", "GB", "invalid_phone", "pager number cannot receive SMS"},
		{"UAN", "055 1234 5678", "GB", "invalid_phone", "universal access number cannot receive SMS"},
		{"voicemail", "0177 99 1234567", "DE", "invalid_phone", "voicemail number cannot receive SMS"},
		{"unknown country", "9123 4567", "XX", "invalid_country", `unknown country "XX"`},
		{"unknown country, international number", "+65 9123 4567", "XX", "invalid_country", `unknown country "XX"`},
		{"unknown country is normalised", "9123 4567", " xx ", "invalid_country", `unknown country "XX"`},
		{"alpha-3 is not alpha-2", "9123 4567", "SGP", "invalid_country", `unknown country "SGP"`},
		{"non-geographic pseudo-region", "9123 4567", "001", "invalid_country", `unknown country "001"`},
		{"a phone number as country is not quoted", "9123 4567", "+65 9123 4567", "invalid_country", "unknown country: it holds 10 digits, like a phone number; a country is an ISO 3166 code such as SG (is country set from a phone field?)"},
		{"long country is clipped", "9123 4567", strings.Repeat("A", 40), "invalid_country", `unknown country "` + strings.Repeat("A", 16) + `…"`},
		{"national number without country", "9123 4567", "", "invalid_country", "no country given for a number without country code"},
		{"national number with blank country", "9123 4567", "  ", "invalid_country", "no country given for a number without country code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Normalize(tt.raw, tt.country)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Normalize(%q, %q) = %q, %v; want *Error", tt.raw, tt.country, got, err)
			}
			if got != "" || e.Code != tt.code || e.Reason != tt.reason {
				t.Errorf("Normalize(%q, %q) = %q, %s/%q; want %s/%q", tt.raw, tt.country, got, e.Code, e.Reason, tt.code, tt.reason)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: "invalid_phone", Reason: "not a valid number for SG"}, "invalid_phone: not a valid number for SG"},
		{&Error{Code: "invalid_country", Reason: `unknown country "XX"`}, `invalid_country: unknown country "XX"`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
	}
}

func TestCountry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"SG", "SG", true},
		{"sg", "SG", true},
		{" gb\t", "GB", true},
		{"UK", "GB", true},
		{"uk", "GB", true},
		{"US", "US", true},
		{"XK", "XK", true}, // Kosovo: not ISO 3166, but phonenumbers knows it.
		{"XX", "XX", false},
		{"ZZ", "ZZ", false},
		{"001", "001", false},
		{"SGP", "SGP", false},
		{"", "", false},
		{"  ", "", false},
	}
	for _, tt := range tests {
		got, ok := Country(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Country(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{"+6591234567", "+6591****67"},
		{"+447400123456", "+4474******56"},
		{"+4915123456789", "+4915*******89"},
		{"+12015550123", "+1201*****23"},
		{"+123456789012345", "+1234*********45"}, // longest E.164
		{"+3545812345", "+3545****45"},           // shortest that keeps four hidden
		{"+298123456", "**********"},             // too short: fully masked
		{"+2904123", "********"},
		{"", ""},
		// Not E.164: at most the last two characters, and only digits.
		{"91234567", "******67"},
		{"+65 9123 4567", "***********67"},
		{"+0123456789", "*********89"},
		{"12345", "*****"},
		{"12", "**"},
		{"abcdefgh", "********"},
		{"9123 4567 ext 12", "**************12"},
		{strings.Repeat("9", 100), strings.Repeat("*", 16) + "99"},
		{strings.Repeat("a", 100), strings.Repeat("*", 16)},
		{"+６５９１２３４５６７", "***********"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	e164 := regexp.MustCompile(`^\+[1-9]\d{6,14}$`)
	seeds := []struct{ raw, country string }{
		{"9123 4567", "SG"}, {"+65 9123 4567", ""}, {"0065 9123 4567", "SG"},
		{"07400 123456", "UK"}, {"(201) 555-0123", "US"}, {"+44 (0)7400 123456", ""},
		{"0151 23456789", "DE"}, {"(11) 91234-5678", "BR"}, {"+39 06 1234 5678", "IT"},
		{"9123 4567 ext 12", "SG"}, {"12345", "SG"}, {"6123 4567", "SG"}, {"", "XX"},
		{"\u202a+65\u00a09123 4567\u202c", "sg"}, {"001 44 7400 123456", "SG"},
		{"+882 3421 2345", ""}, {"+979 123456789", "GB"}, {"000", "SG"},
	}
	for _, s := range seeds {
		f.Add(s.raw, s.country)
	}
	f.Fuzz(func(t *testing.T, raw, country string) {
		got, err := Normalize(raw, country)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Normalize(%q, %q) error %v is %T, not *Error", raw, country, err, err)
			}
			if e.Code != "invalid_phone" && e.Code != "invalid_country" || e.Reason == "" {
				t.Fatalf("Normalize(%q, %q) = %#v: unknown code or empty reason", raw, country, e)
			}
			// Reasons go to logs unmasked, so they must not echo the number.
			if _, ok := Country(country); ok && countDigits(raw) >= 5 && strings.Contains(e.Error(), strings.TrimSpace(raw)) {
				t.Fatalf("Normalize(%q, %q) = %v: the reason repeats the number", raw, country, e)
			}
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("Normalize(%q, %q) = %q: not E.164", raw, country, got)
		}
		again, err := Normalize(got, country)
		if err != nil || again != got {
			t.Fatalf("Normalize(%q, %q) = %q, but Normalize(%q, %q) = %q, %v", raw, country, got, got, country, again, err)
		}
	})
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"+6591234567", "+2904123", "91234567", "9123 4567 ext 12", "", "\xff\xfe12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := Mask(in)
		if isE164(in) {
			// Same shape, every character either kept in place or hidden,
			// and at least four digits hidden.
			if len(got) != len(in) || strings.Count(got, "*") < 4 {
				t.Fatalf("Mask(%q) = %q", in, got)
			}
			for i := range got {
				if got[i] != '*' && got[i] != in[i] {
					t.Fatalf("Mask(%q) = %q", in, got)
				}
			}
			return
		}
		shown := strings.TrimLeft(got, "*")
		if len([]rune(shown)) > 2 || !strings.HasSuffix(in, shown) {
			t.Fatalf("Mask(%q) = %q shows more than the last two characters", in, got)
		}
	})
}

func TestHide(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"phone-once/+65 9123 0020": "phone-once/+65 9••• ••20",
		"solved-sms/12345":         "solved-sms/12345",
		"3600012345":               "360•••••45",
		"":                         "",
		"＋６５ ９１２３ ００２０":            "＋６５ ９••• ••２０",
		"+٦٥ ٩١٢٣ ٤٥٦٧":            "+٦٥ ٩••• ••٦٧",
	} {
		if got := Hide(in); got != want {
			t.Errorf("Hide(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHideIfHolds(t *testing.T) {
	t.Parallel()
	const to = "+6591230020"
	for in, want := range map[string]string{
		"+65 9123 0020":      "+65 9••• ••20",
		"９１２３ ００２０":          "９１２• ••２０",
		"12345-91230020":     "123••-••••••20",
		"1234567":            "1234567", // a ticket id: not the number
		"91230021":           "91230021",
		"inv:01HZ4800000001": "inv:01HZ4800000001",
	} {
		if got := HideIfHolds(in, to); got != want {
			t.Errorf("HideIfHolds(%q) = %q, want %q", in, got, want)
		}
	}
}

// digitValue relies on every run of decimal digits in Unicode's table
// starting at a 0 and holding whole tens: true of the tables Go ships, and
// this fails if a new Unicode version breaks it.
func TestDigitValue(t *testing.T) {
	t.Parallel()
	check := func(lo, hi, stride uint32) {
		if stride != 1 || (hi-lo+1)%10 != 0 {
			t.Errorf("Nd run %U-%U (stride %d) is not whole runs of ten", lo, hi, stride)
		}
	}
	for _, rg := range unicode.Nd.R16 {
		check(uint32(rg.Lo), uint32(rg.Hi), uint32(rg.Stride))
	}
	for _, rg := range unicode.Nd.R32 {
		check(rg.Lo, rg.Hi, rg.Stride)
	}
	for r, want := range map[rune]byte{'٧': 7, '７': 7, '۹': 9, '०': 0, '𝟗': 9} {
		if got := digitValue(r); got != want {
			t.Errorf("digitValue(%q) = %d, want %d", r, got, want)
		}
	}
}
