package phone

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// The fast path (fast.go) must give every answer the library path gives. The
// tests below compare the two on whole inputs (normalize with library false
// and true), and, one level down, compare fastParse with phonenumbers.Parse
// field by field and fastNumberType with phonenumbers.GetNumberType.

// fuzzRegions is every region phonenumbers supports, sorted, for a stable
// index in FuzzFastParse.
var fuzzRegions = func() []string {
	var rs []string
	for r := range phonenumbers.GetSupportedRegions() {
		rs = append(rs, r)
	}
	sort.Strings(rs)
	return rs
}()

// sameNumber reports whether a and b have the same fields, set or unset.
func sameNumber(a, b *phonenumbers.PhoneNumber) bool {
	eq := func(x, y any) bool { return x == y }
	return eqPtr(a.CountryCode, b.CountryCode, eq) &&
		eqPtr(a.NationalNumber, b.NationalNumber, eq) &&
		eqPtr(a.Extension, b.Extension, eq) &&
		eqPtr(a.ItalianLeadingZero, b.ItalianLeadingZero, eq) &&
		eqPtr(a.NumberOfLeadingZeros, b.NumberOfLeadingZeros, eq) &&
		eqPtr(a.RawInput, b.RawInput, eq) &&
		eqPtr(a.CountryCodeSource, b.CountryCodeSource, eq) &&
		eqPtr(a.PreferredDomesticCarrierCode, b.PreferredDomesticCarrierCode, eq)
}

func eqPtr[T any](a, b *T, eq func(x, y any) bool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return eq(*a, *b)
}

// sameAnswer compares the answers of the two paths of normalize.
func sameAnswer(t testing.TB, what string, got string, gotErr error, want string, wantErr error) {
	t.Helper()
	var g, w *Error
	if (gotErr == nil) != (wantErr == nil) ||
		gotErr != nil && (!errors.As(gotErr, &g) || !errors.As(wantErr, &w) || *g != *w) ||
		got != want {
		t.Fatalf("%s: fast path = %q, %v; library path = %q, %v", what, got, gotErr, want, wantErr)
	}
}

// compareRaw compares the two paths of normalize on a whole input.
func compareRaw(t testing.TB, raw, country string) {
	t.Helper()
	got, gotErr := normalize(raw, country, false)
	want, wantErr := normalize(raw, country, true)
	sameAnswer(t, "normalize("+strconv.Quote(raw)+", "+strconv.Quote(country)+")", got, gotErr, want, wantErr)
	if digits, international, err := clean(raw); err == nil {
		if r, ok := Country(country); ok || strings.TrimSpace(country) == "" {
			if !ok {
				r = ""
			}
			if international || r != "" {
				compareDigits(t, digits, international, r)
			}
		}
	}
}

// compareDigits compares the two paths on what clean leaves, and fastParse
// and fastNumberType with the library's Parse and GetNumberType. It reports
// whether fastParse answered.
func compareDigits(t testing.TB, digits string, international bool, region string) bool {
	t.Helper()
	input := digits
	if international {
		input = "+" + digits
	}
	what := "Parse(" + strconv.Quote(input) + ", " + strconv.Quote(region) + ")"
	got, gotErr := e164(digits, international, region)
	want, wantErr := e164Library(digits, international, region)
	sameAnswer(t, what, got, gotErr, want, wantErr)

	lib, perr := phonenumbers.Parse(input, region)
	num, cc, nsn := fastParse(digits, international, region)
	if num != nil {
		if perr != nil {
			t.Fatalf("%s: fastParse = %v, library fails: %v", what, num, perr)
		}
		if !sameNumber(num, lib) {
			t.Fatalf("%s: fastParse = %v; library = %v", what, num, lib)
		}
		if f := phonenumbers.Format(lib, phonenumbers.E164); "+"+cc+nsn != f {
			t.Fatalf("%s: fastParse formats as %q; library as %q", what, "+"+cc+nsn, f)
		}
	}
	if perr == nil {
		typ, ok := fastNumberType(lib.GetCountryCode(), phonenumbers.GetNationalSignificantNumber(lib))
		if want := phonenumbers.GetNumberType(lib); ok && typ != want {
			t.Fatalf("%s: fastNumberType = %v; GetNumberType = %v", what, typ, want)
		}
		if ok && (typ != phonenumbers.UNKNOWN) != phonenumbers.IsValidNumber(lib) {
			t.Fatalf("%s: fastNumberType = %v; IsValidNumber = %v", what, typ, phonenumbers.IsValidNumber(lib))
		}
	}
	return num != nil
}

var allTypes = []phonenumbers.PhoneNumberType{
	phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE,
	phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST,
	phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER,
	phonenumbers.UAN, phonenumbers.VOICEMAIL, phonenumbers.UNKNOWN,
}

// TestFastMatchesLibraryExamples runs every example number of every region,
// of every type, written in every way a ticket might hold it, through both
// paths.
func TestFastMatchesLibraryExamples(t *testing.T) {
	t.Parallel()
	var inputs, fast int
	check := func(raw, country string) {
		t.Helper()
		compareRaw(t, raw, country)
		inputs++
		if digits, international, err := clean(raw); err == nil {
			r, _ := Country(country)
			if num, _, _ := fastParse(digits, international, r); num != nil {
				fast++
			}
		}
	}
	for _, region := range fuzzRegions {
		cc := strconv.Itoa(phonenumbers.GetCountryCodeForRegion(region))
		ndd := phonenumbers.GetNddPrefixForRegion(region, true)
		seen := map[string]bool{}
		for _, typ := range allTypes {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			nsn := phonenumbers.GetNationalSignificantNumber(ex)
			if seen[nsn] {
				continue
			}
			seen[nsn] = true
			for _, n := range []string{nsn, nsn[:len(nsn)-1], nsn + "1", nsn[1:]} {
				check("+"+cc+" "+n, region)
				check("+"+cc+" "+n, "")
				check("+"+cc+" "+n, "SG")
				check("+"+cc+" "+n, "US")
				check("00"+cc+" "+n, region)
				check(n, region)
				check(ndd+n, region)
				check(cc+n, region)
				check("+"+cc+" "+ndd+n, "")
			}
			check(phonenumbers.Format(ex, phonenumbers.NATIONAL), region)
			check(phonenumbers.Format(ex, phonenumbers.INTERNATIONAL), "")
		}
	}
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		ex := phonenumbers.GetExampleNumberForNonGeoEntity(cc)
		if ex == nil {
			continue
		}
		nsn := phonenumbers.GetNationalSignificantNumber(ex)
		for _, n := range []string{nsn, nsn[:len(nsn)-1], nsn + "1"} {
			check("+"+strconv.Itoa(cc)+n, "")
			check("+"+strconv.Itoa(cc)+n, "GB")
		}
	}
	t.Logf("%d inputs, %d on the fast path", inputs, fast)
	if fast < inputs/3 {
		t.Errorf("only %d of %d inputs took the fast path", fast, inputs)
	}
}

// fastEdgeCases are inputs where the library does something unusual. They
// also seed FuzzFastParse.
var fastEdgeCases = []struct{ raw, country string }{
	// Italian leading zeros.
	{"+39 06 1234 5678", ""}, {"06 1234 5678", "IT"}, {"+39 312 345 6789", ""}, {"312 345 6789", "IT"},
	{"+39 0", ""}, {"+39 00", ""}, {"+39 000 123", ""}, {"+39 06 698 12345", "VA"}, {"+379 06 698 12345", ""},
	{"+225 07 12 34 56 78", ""}, {"+242 06 123 4567", ""},
	// A national prefix after the country code.
	{"+44 0 20 7946 0000", ""}, {"+44 (0)7400 123456", ""}, {"+44 07400 123456", "GB"}, {"+44 0", ""},
	{"+44 180020 7400 123456", ""}, {"180020 7400 123456", "GB"},
	// Crown dependencies and other shared codes.
	{"+44 7911 123456", ""}, {"+44 7624 123456", ""}, {"+44 7700 900123", ""}, {"07911 123456", "GG"},
	{"07624 123456", "IM"}, {"1624 123456", "IM"}, {"456789", "JE"}, {"+47 79 12 34 56", ""},
	{"+358 18 123456", ""}, {"+61 8 9162 1234", ""}, {"+262 269 61 23 45", ""}, {"+590 690 00 12 34", ""},
	{"+599 9 123 4567", ""}, {"+290 8123", ""}, {"+212 5288 12345", ""},
	// NANPA.
	{"+1 1 201 555 0123", ""}, {"1 201 555 0123", "US"}, {"201 555 0123", "US"}, {"+1 201 555 0123", "CA"},
	{"+1 416 555 0123", ""}, {"416 555 0123", "CA"}, {"+1 268 464 1234", ""}, {"464 1234", "AG"},
	{"1 268 464 1234", "AG"}, {"268 464 1234", "AG"}, {"011 44 7400 123456", "US"}, {"+1 800 555 0199", ""},
	{"+1 555 0123", ""}, {"+1 0201 555 0123", ""},
	// Russia and Kazakhstan.
	{"8 912 345 67 89", "RU"}, {"+7 912 345 67 89", ""}, {"89123456789", "RU"}, {"7 912 345 67 89", "RU"},
	{"8 10 44 7400 123456", "RU"}, {"+7 701 123 4567", ""}, {"8 701 123 4567", "KZ"}, {"+7 8 912 345 67 89", ""},
	// Argentina: 9 after the country code, 15 after the area code.
	{"011 15 2345 6789", "AR"}, {"+54 9 11 2345 6789", ""}, {"+54 11 15 2345 6789", ""}, {"0 11 15 2345 6789", "AR"},
	{"9 11 2345 6789", "AR"}, {"11 2345 6789", "AR"}, {"15 2345 6789", "AR"}, {"+54 11 2345 6789", ""},
	{"0343 15 555 1212", "AR"}, {"+54 9 343 555 1212", ""},
	// Brazil: carrier codes.
	{"0 15 11 91234 5678", "BR"}, {"0 21 11 2345 6789", "BR"}, {"90 15 11 91234 5678", "BR"}, {"011 91234 5678", "BR"},
	{"(11) 91234-5678", "BR"}, {"+55 0 11 91234 5678", ""}, {"+55 15 11 91234 5678", ""}, {"0055 11 91234 5678", "BR"},
	// Mexico.
	{"+52 1 55 1234 5678", ""}, {"044 55 1234 5678", "MX"}, {"045 55 1234 5678", "MX"}, {"01 55 1234 5678", "MX"},
	{"55 1234 5678", "MX"}, {"1 55 1234 5678", "MX"}, {"+52 55 1234 5678", ""}, {"52 55 1234 5678", "MX"},
	// Singapore's international prefixes, and others.
	{"001 44 7400 123456", "SG"}, {"0065 9123 4567", "SG"}, {"013 44 7400 123456", "SG"}, {"019 65 9123 4567", "SG"},
	{"+0065 9123 4567", "SG"}, {"+0065 9123 4567", ""}, {"+65 0065 9123 4567", ""}, {"65 9123 4567", "SG"},
	{"6512 3456", "SG"}, {"8123 4567", "SG"}, {"3123 4567", "SG"}, {"1800 123 4567", "SG"}, {"+65 800 123 4567", ""},
	{"010 44 20 7946 0000", "JP"}, {"0 90 1234 5678", "JP"}, {"+81 90 1234 5678", ""}, {"0003 7680 90 1234 5678", "JP"},
	{"01 12 34 56 78", "GA"}, {"011 12 34 56", "GA"}, {"+241 011 12 34 56", ""}, {"12345", "NF"}, {"+672 3 12345", ""},
	{"912345", "SM"}, {"+378 0549 912345", ""}, {"0412 345 678", "AU"}, {"0412 345 678", "CX"}, {"+61 412 345 678", "CC"},
	// Too short, too long, unknown country codes.
	{"+65 1", ""}, {"+65 12", ""}, {"+6", "SG"}, {"+65", "SG"}, {"1", "SG"}, {"12", "SG"}, {"123", "SG"}, {"+1", ""},
	{"+12", ""}, {"+123", ""}, {"9", "GB"}, {"01", "GB"}, {"0", "GB"},
	{"+65 " + strings.Repeat("9", 17), ""}, {strings.Repeat("9", 18), "SG"}, {"+49 " + strings.Repeat("1", 16), ""},
	{strings.Repeat("1", 17), "DE"}, {"+44 " + strings.Repeat("7", 20), ""}, {strings.Repeat("8", 64), "RU"},
	{"+999 1234 5678", ""}, {"+999 1234 5678", "SG"}, {"+0 1234 5678", ""}, {"+0 1234 5678", "GB"}, {"+00 44 7400 123456", "GB"},
	{"+000", "SG"}, {"+800 1234 5678", ""}, {"+882 3421 2345", ""}, {"+979 123456789", "GB"}, {"+870 773 111 632", ""},
	{"+883 5100 1234 5678", ""}, {"+888 123 456 789", ""}, {"+808 1234 5678", ""},
}

func TestFastMatchesLibraryEdgeCases(t *testing.T) {
	t.Parallel()
	for _, tt := range fastEdgeCases {
		compareRaw(t, tt.raw, tt.country)
	}
	// Every region with a few digit strings that probe its prefixes.
	for _, region := range fuzzRegions {
		cc := strconv.Itoa(phonenumbers.GetCountryCodeForRegion(region))
		for _, d := range []string{"0", "00", "01", "1", "8", "9", "10", "15", "011", "810", "0123456789", "123456789", "1234567", "9" + cc} {
			compareDigits(t, d, false, region)
			compareDigits(t, d+"12345678", false, region)
			compareDigits(t, cc+d+"1234567", true, region)
			compareDigits(t, cc+d+"1234567", false, region)
		}
	}
}

// TestFastPathTaken fails when the everyday numbers stop taking the fast
// path: the answers would still be right, only slow.
func TestFastPathTaken(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, country, want string }{
		{"+6591234567", "SG", "+6591234567"},
		{"+6591234567", "", "+6591234567"},
		{"9123 4567", "SG", "+6591234567"},
		{"07400 123456", "GB", "+447400123456"},
		{"+44 7400 123456", "", "+447400123456"},
		{"+1 201-555-0123", "", "+12015550123"},
		{"(201) 555-0123", "US", "+12015550123"},
	}
	for _, tt := range tests {
		digits, international, err := clean(tt.raw)
		if err != nil {
			t.Fatalf("clean(%q): %v", tt.raw, err)
		}
		num, cc, nsn := fastParse(digits, international, tt.country)
		if num == nil {
			t.Errorf("fastParse(%q, %v, %q) fell back to the library", digits, international, tt.country)
			continue
		}
		if "+"+cc+nsn != tt.want {
			t.Errorf("fastParse(%q, %v, %q) = %q; want %q", digits, international, tt.country, "+"+cc+nsn, tt.want)
		}
		if _, ok := fastNumberType(num.GetCountryCode(), nsn); !ok {
			t.Errorf("fastNumberType for %q fell back to the library", tt.raw)
		}
		if got, err := Normalize(tt.raw, tt.country); err != nil || got != tt.want {
			t.Errorf("Normalize(%q, %q) = %q, %v; want %q", tt.raw, tt.country, got, err, tt.want)
		}
	}
}

// FuzzFastParse compares the two paths on digit strings read nationally or
// internationally with any region (index len(fuzzRegions) is no region).
// Bytes that are not digits become digits, so that every mutation counts.
func FuzzFastParse(f *testing.F) {
	index := map[string]int{"": len(fuzzRegions)}
	for i, r := range fuzzRegions {
		index[r] = i
	}
	for _, tt := range fastEdgeCases {
		digits, international, err := clean(tt.raw)
		if err != nil {
			continue
		}
		f.Add(digits, international, index[tt.country])
	}
	f.Fuzz(func(t *testing.T, s string, international bool, regionIndex int) {
		if len(s) > maxInput {
			s = s[:maxInput]
		}
		b := []byte(s)
		for i, c := range b {
			if c < '0' || c > '9' {
				b[i] = '0' + c%10
			}
		}
		digits := string(b)
		if digits == "" {
			return
		}
		region := ""
		if regionIndex < 0 {
			regionIndex = -(regionIndex + 1)
		}
		if i := regionIndex % (len(fuzzRegions) + 1); i < len(fuzzRegions) {
			region = fuzzRegions[i]
		}
		if !international && region == "" {
			return
		}
		compareDigits(t, digits, international, region)
		raw := digits
		if international {
			raw = "+" + digits
		}
		compareRaw(t, raw, region)
	})
}

func BenchmarkNormalize(b *testing.B) {
	tests := []struct{ name, raw, country string }{
		{"SG national", "9123 4567", "SG"},
		{"SG international", "+65 9123 4567", "SG"},
		{"GB national", "07400 123456", "GB"},
		{"US international", "+1 201-555-0123", ""},
	}
	for _, tt := range tests {
		for _, path := range []struct {
			name    string
			library bool
		}{{"fast", false}, {"library", true}} {
			b.Run(tt.name+"/"+path.name, func(b *testing.B) {
				if _, err := normalize(tt.raw, tt.country, path.library); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					_, _ = normalize(tt.raw, tt.country, path.library)
				}
			})
		}
	}
}
