// Package phone turns the phone numbers tickets hold into E.164 numbers that
// can receive an SMS or a WhatsApp message, and masks them for logs.
package phone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

const (
	codeInvalidPhone   = "invalid_phone"
	codeInvalidCountry = "invalid_country"

	// maxInput bounds the work done on, and the echo of, template output that
	// is clearly not a phone number; the longest legitimate written forms
	// ("+44 (0) 7400 123 456" and the like) are well under it.
	maxInput = 64

	// maxShown bounds how much of a hostile country string goes back into
	// an error reason (and from there into logs and API answers).
	maxShown = 16
)

// Error is a refusal with a machine code and a human reason.
type Error struct {
	Code   string // "invalid_phone" or "invalid_country"
	Reason string // human sentence fragment, e.g. "not a valid number for SG", "fixed line cannot receive SMS", "empty"
	Kind   string // for a number of a type that takes no messages, that type ("fixed line"); else ""
}

func (e *Error) Error() string { return e.Code + ": " + e.Reason }

// ReasonFor is Reason, said of what a channel sends ("WhatsApp messages")
// where the number's type is what is refused; Reason says "SMS".
func (e *Error) ReasonFor(messages string) string {
	if e.Kind == "" {
		return e.Reason
	}
	return e.Kind + " cannot receive " + messages
}

// refusedKind is the refusal of a number of a type that takes no messages.
func refusedKind(kind string) *Error {
	return &Error{Code: codeInvalidPhone, Reason: kind + " cannot receive SMS", Kind: kind}
}

// Reasons never quote the number itself: they end up in logs and API
// answers, where numbers appear only masked.
func invalidPhone(reason string) *Error {
	return &Error{Code: codeInvalidPhone, Reason: reason}
}

// Country normalises an ISO 3166 alpha-2 code: it trims, upper-cases and
// reads "UK" as "GB" (what people write, though ISO says GB). ok is false when
// phonenumbers has no metadata for the region, so it could not parse for it.
func Country(code string) (string, bool) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if c == "UK" {
		c = "GB"
	}
	// GetCountryCodeForRegion rather than GetSupportedRegions: the latter
	// hands out phonenumbers' own map, which nobody should be able to touch.
	// It also rejects "001", the pseudo-region of non-geographic numbers,
	// which cannot be a default for national numbers.
	return c, phonenumbers.GetCountryCodeForRegion(c) != 0
}

// Normalize turns what a ticket holds into E.164 ("+6591234567").
//
// country is the region of numbers written without a country code; it may
// be empty only when raw is international. A country phonenumbers does not
// know is refused even when raw does not need it, so that a broken per-ticket
// country shows up on the first ticket rather than on the first national one.
func Normalize(raw, country string) (string, error) {
	return normalize(raw, country, false)
}

// normalize is Normalize. library makes it parse and classify with
// phonenumbers' own Parse and GetNumberType only, as it did before the fast
// path (fast.go) existed; the tests hold the two to the same answers.
func normalize(raw, country string, library bool) (string, error) {
	region := ""
	if strings.TrimSpace(country) != "" {
		r, ok := Country(country)
		if !ok {
			return "", &Error{Code: codeInvalidCountry, Reason: unknownCountry(r)}
		}
		region = r
	}

	digits, international, perr := clean(raw)
	if perr != nil {
		return "", perr
	}
	if !international && region == "" {
		return "", &Error{Code: codeInvalidCountry, Reason: "no country given for a number without country code"}
	}
	if library {
		return e164Library(digits, international, region)
	}
	return e164(digits, international, region)
}

// e164 turns the digits clean left, read with region, into E.164: through
// fastParse and fastNumberType where they answer, and phonenumbers where
// they do not.
func e164(digits string, international bool, region string) (string, error) {
	num, cc, nsn := fastParse(digits, international, region)
	if num == nil {
		input := digits
		if international {
			input = "+" + digits
		}
		var err error
		if num, err = phonenumbers.Parse(input, region); err != nil {
			return "", invalidPhone(parseReason(err))
		}
		nsn = phonenumbers.GetNationalSignificantNumber(num)
	}
	typ, ok := fastNumberType(num.GetCountryCode(), nsn)
	if !ok {
		typ = phonenumbers.GetNumberType(num)
	}
	// An UNKNOWN type is an invalid number: IsValidNumber asks the same
	// getNumberTypeHelper, with the same metadata, whether the type is
	// UNKNOWN (see e164Library).
	if typ == phonenumbers.UNKNOWN {
		return "", invalidPhone("not a valid number for " + where(num, region))
	}
	if num.GetExtension() != "" {
		return "", invalidPhone("extensions are not allowed")
	}
	if kind := refuseType(typ); kind != "" {
		return "", refusedKind(kind)
	}
	if cc != "" {
		// fastParse has no leading zeros to write back, so this is
		// what Format(num, E164) writes.
		return "+" + cc + nsn, nil
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// e164Library is e164 with phonenumbers only.
func e164Library(digits string, international bool, region string) (string, error) {
	input := digits
	if international {
		input = "+" + digits
	}
	num, err := phonenumbers.Parse(input, region)
	if err != nil {
		return "", invalidPhone(parseReason(err))
	}
	// Parse succeeds for numbers no network would route ("12345"): validity
	// is a separate question. Validity for region is deliberately not asked:
	// a +44 number on a ticket whose default is SG is fine. GetNumberType
	// runs the same pattern matching as IsValidNumber, so it is asked once
	// and validity only when the type is unknown. (It is then always false:
	// both find the region with GetRegionCodeForNumber and its metadata
	// with getMetadataForRegionOrCallingCode, and IsValidNumber is
	// getNumberTypeHelper != UNKNOWN, which e164 relies on.)
	typ := phonenumbers.GetNumberType(num)
	if typ == phonenumbers.UNKNOWN && !phonenumbers.IsValidNumber(num) {
		return "", invalidPhone("not a valid number for " + where(num, region))
	}
	// clean already refuses every way of writing one; this only guards
	// against phonenumbers finding an extension where we saw none.
	if num.GetExtension() != "" {
		return "", invalidPhone("extensions are not allowed")
	}
	if kind := refuseType(typ); kind != "" {
		return "", refusedKind(kind)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// clean checks raw against what the spec accepts and returns its digits, with
// international reporting whether they start with a country code.
//
// We decide what is a separator ourselves instead of leaving it to
// phonenumbers, which is far more lenient: it reads "9123 4567 ext 12" as a
// valid number with an extension, "tel:+65…" as a number and drops trailing
// junk such as "/".
func clean(raw string) (digits string, international bool, err *Error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", false, invalidPhone("empty")
	}
	if utf8.RuneCountInString(s) > maxInput {
		return "", false, invalidPhone("too long")
	}

	var b strings.Builder
	for _, r := range s {
		switch {
		case isDigit(r):
			b.WriteRune(r)
		case unicode.IsDigit(r):
			// Full-width digits from East Asian input methods, and the
			// Arabic-Indic digits of Arabic and Persian: digits all the
			// same, as phonenumbers reads them.
			b.WriteByte('0' + digitValue(r))
		case r == '+', r == '\uFF0B': // and the full-width plus
			// A plus belongs before the country code, possibly inside
			// brackets ("(+65) 9123 4567"), and nowhere else.
			if international || b.Len() > 0 {
				return "", false, invalidPhone(`"+" is only allowed before the country code`)
			}
			international = true
		case isSeparator(r):
		default:
			return "", false, invalidPhone(refuseCharacter(s, r))
		}
	}
	digits = b.String()

	// "00" is the international prefix almost everywhere, and people write it
	// for "+". Left to phonenumbers it is read through the default region's
	// own prefixes: with SG, "0065 9123 4567" becomes +591234567.
	if !international && strings.HasPrefix(digits, "00") {
		international = true
		digits = digits[2:]
	}
	// No country code starts with 0. phonenumbers would drop the "+" and
	// read the rest through the default region's prefixes: with SG,
	// "+0065 9123 4567" becomes a Bolivian number (+591...).
	if international && strings.HasPrefix(digits, "0") {
		return "", false, invalidPhone("a country code never starts with 0")
	}
	if digits == "" {
		return "", false, invalidPhone("no digits")
	}
	return digits, international, nil
}

// isSeparator reports the characters people put between digits. Beyond the
// spec's spaces, dots, dashes and brackets, it takes any Unicode space (tabs,
// non-breaking spaces from rich-text editors), typographic dashes (word
// processors turn "-" into "–") and invisible format characters (WhatsApp
// and web pages wrap copied numbers in bidi marks such as U+202A): refusing
// a character the user cannot see would be a reason nobody can act on.
func isSeparator(r rune) bool {
	switch r {
	case '.', '(', ')',
		'-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212',
		'\uFF0E', '\uFF08', '\uFF09', '\uFF0D', // full-width . ( ) -
		'\u30FC', '\u2015': // the long vowel mark Japanese input types for "-", and the horizontal bar
		return true
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

// digitValue is the value of a Unicode decimal digit (category Nd). Unicode
// encodes each script's digits as a run of ten from 0 to 9, and runs of
// the category table start at a 0, so the offset in the run gives it.
func digitValue(r rune) byte {
	for _, rg := range unicode.Nd.R16 {
		if lo, hi := rune(rg.Lo), rune(rg.Hi); r >= lo && r <= hi {
			return byte((r - lo) % 10)
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if lo, hi := rune(rg.Lo), rune(rg.Hi); r >= lo && r <= hi {
			return byte((r - lo) % 10)
		}
	}
	return 0
}

// refuseCharacter explains why s, which holds the not-allowed r, is refused.
func refuseCharacter(s string, r rune) string {
	if hasExtension(s) {
		return "extensions are not allowed"
	}
	if strings.ContainsFunc(s, unicode.IsLetter) {
		return "letters are not allowed"
	}
	return fmt.Sprintf("character %q is not allowed", r)
}

// hasExtension reports whether s ends in an extension the way people (and
// phonenumbers) write one: "ext 12", "ext. 12", "extn 12", "extension 12",
// "x12", "#12", ";ext=12".
func hasExtension(s string) bool {
	s = strings.ToLower(s)
	end := strings.TrimRightFunc(s, isDigit)
	if end == s {
		return false
	}
	end = strings.TrimRightFunc(end, func(r rune) bool {
		return r == '.' || r == ':' || r == '=' || unicode.IsSpace(r)
	})
	for _, marker := range []string{"ext", "extn", "extension", "x", "#"} {
		if strings.HasSuffix(end, marker) {
			return true
		}
	}
	return false
}

// parseReason translates phonenumbers' parse errors, which are written for
// programmers, into reasons for whoever edits the ticket.
func parseReason(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "unknown country code"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "too short"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "too long"
	default:
		return "not a valid number"
	}
}

// where names the region an invalid number was read for. It is the default
// region when the number is in it; otherwise the number's own country code
// decides, since "+44 7700 900123" read with default SG is not invalid "for
// SG".
func where(num *phonenumbers.PhoneNumber, region string) string {
	cc := int(num.GetCountryCode())
	if region != "" && cc == phonenumbers.GetCountryCodeForRegion(region) {
		return region
	}
	if r := phonenumbers.GetRegionCodeForNumber(num); r != "" && r != "001" {
		return r
	}
	if r := phonenumbers.GetRegionCodeForCountryCode(cc); r != phonenumbers.UNKNOWN_REGION && r != "001" {
		return r
	}
	return "+" + strconv.Itoa(cc)
}

// refuseType names the type of a number of type t that cannot take a
// message, or "" when it can. Fixed-line-or-mobile is accepted because some
// plans (the US, among others) do not tell the two apart; personal and VoIP
// numbers usually forward to a handset.
func refuseType(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE,
		phonenumbers.PERSONAL_NUMBER, phonenumbers.VOIP:
		return ""
	case phonenumbers.FIXED_LINE:
		return "fixed line"
	case phonenumbers.TOLL_FREE:
		return "toll-free number"
	case phonenumbers.PREMIUM_RATE:
		return "premium-rate number"
	case phonenumbers.SHARED_COST:
		return "shared-cost number"
	case phonenumbers.PAGER:
		return "pager number"
	case phonenumbers.UAN:
		return "universal access number"
	case phonenumbers.VOICEMAIL:
		return "voicemail number"
	default:
		return "number of unknown type"
	}
}

// unknownCountry quotes a country phonenumbers does not know, unless it
// holds more digits than a code ever could ("001"): a country template
// pointed at a phone field renders the number itself, which must not reach
// the answer or the logs.
func unknownCountry(c string) string {
	if digits := countDigits(c); digits > 3 {
		return "unknown country: it holds " + strconv.Itoa(digits) + " digits, like a phone number; a country is an ISO 3166 code such as SG (is country set from a phone field?)"
	}
	return fmt.Sprintf("unknown country %q", clip(c))
}

// Hide masks free text that holds as many digits as a phone number, such
// as a field a rule tests or a fire-once key made from the phone: it goes
// into answers and logs, where numbers appear only masked. The first three
// and last two digits stay, enough to tell one value from another;
// "+65 9876 5432" shows as "+65 9••• ••32". Text with fewer than 7 digits
// (of any script, as Normalize reads them) is returned as it is.
func Hide(s string) string {
	n := countDigits(s)
	if n < 7 {
		return s
	}
	var b strings.Builder
	i := 0
	for _, r := range s {
		if unicode.IsDigit(r) {
			i++
			if i > 3 && i <= n-2 {
				r = '•'
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsDigit(r) {
			n++
		}
	}
	return n
}

// HideIfHolds is Hide when s holds the number e164 (its last seven digits,
// in whatever script and with whatever separators), and s as it is
// otherwise: a fire-once key made from the phone is masked, one made from
// a ticket id of many digits stays readable.
func HideIfHolds(s, e164 string) string {
	tail := strings.TrimPrefix(e164, "+")
	if len(tail) < 7 {
		return s
	}
	tail = tail[len(tail)-7:]
	var digits strings.Builder
	for _, r := range s {
		if unicode.IsDigit(r) {
			digits.WriteByte('0' + digitValue(r))
		}
	}
	if !strings.Contains(digits.String(), tail) {
		return s
	}
	return Hide(s)
}

// clip shortens s for quoting in a reason.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxShown {
		return s
	}
	return string([]rune(s)[:maxShown]) + "…"
}

// Mask hides the middle of an E.164 number for logs and API answers:
// "+6591234567" → "+6591****67". The country code and the start of the
// number stay readable so that an operator can tell which network a failure
// is about, and the last two digits so a support agent can match it with the
// ticket.
//
// Numbers too short to keep four digits hidden are masked whole. Anything
// that is not E.164 shows at most its last two characters, and only when
// they are digits: it may be a raw, unvalidated ticket field.
func Mask(e164 string) string {
	const head, tail, minHidden = 5, 2, 4
	if isE164(e164) {
		if len(e164) < head+minHidden+tail {
			return strings.Repeat("*", len(e164))
		}
		const stars = "**********" // an E.164 number hides at most 9 digits
		return e164[:head] + stars[:len(e164)-head-tail] + e164[len(e164)-tail:]
	}

	// The star count follows the length, within a bound: enough to show
	// that something was there without echoing a huge field in every line.
	rs := []rune(e164)
	n := len(rs)
	if n >= tail+minHidden && isDigit(rs[n-1]) && isDigit(rs[n-2]) {
		return strings.Repeat("*", min(n-tail, maxShown)) + string(rs[n-tail:])
	}
	return strings.Repeat("*", min(n, maxShown))
}

// isE164 reports whether s is "+" and 7 to 15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if !isDigit(r) {
			return false
		}
	}
	return true
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
