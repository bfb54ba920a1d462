package phone

// The fast path of Normalize.
//
// phonenumbers.Parse is written for whatever a user might type: it looks for
// RFC 3966 syntax, extensions, vanity letters and several international
// prefixes, with a regular expression for each, and it builds every
// region-specific pattern string afresh on every call. GetNumberType, for a
// country code shared by several regions (+1, +44, +7, ...), classifies the
// number once to find its region and again to type it, matching each
// pattern twice each time.
//
// By the time Normalize parses, clean has reduced the input to ASCII digits
// and an "international" flag, so most of that work is known in advance. This
// file re-traces, for exactly that input, the steps of the library's
// parseHelper (v1.8.1) and getNumberTypeHelper with the library's own
// metadata and the very pattern strings the library compiles, each compiled
// once per region. Wherever the input would take the library down a branch
// that is not re-traced here, fastParse answers nil and Normalize asks
// phonenumbers.Parse instead; the differential tests and FuzzFastParse in
// fast_test.go hold the two paths to the same answers.

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// fastTables is what the fast path knows about the library's metadata. It is
// built once, on first use, and never changed afterwards; the compiled
// patterns of each region are added lazily behind the region's own sync.Once.
type fastTables struct {
	// byRegion holds what getMetadataForRegion answers for a valid region
	// code, keyed by that code.
	byRegion map[string]*fastRegion
	// knownCC is the key set of the library's countryCodeToRegion
	// (GetSupportedCallingCodes), which extractCountryCode consults.
	knownCC [1000]bool
	// byCC holds, by country calling code, the regions in the order of the
	// library's countryCodeToRegion (the first is the main one, "001" for
	// non-geographic entities). A nil entry is a code the library does not
	// know, or one the fast path leaves to the library.
	byCC [1000]*fastCountry
}

type fastCountry struct {
	cc      int32
	regions []*fastRegion
}

// fastRegion is one region's metadata (or a non-geographic entity's) and,
// once compiled, its patterns. c stays nil when a pattern did not compile or
// a description the library dereferences is missing: the library path then
// answers for the region.
type fastRegion struct {
	meta *phonenumbers.PhoneMetadata
	once sync.Once
	c    *fastCompiled
}

type fastCompiled struct {
	cc    int32
	ccStr string

	// idd is the international prefix anchored at the start:
	// parsePrefixAsIdd strips a prefix only when the leftmost match of the
	// unanchored pattern starts at 0, which is when this matches.
	idd *regexp.Regexp
	// nppMatch is "^(?:national prefix for parsing)", the string
	// maybeStripNationalPrefixAndCarrierCode compiles; nil when the
	// region has none, in which case nothing is stripped.
	nppMatch  *regexp.Regexp
	transform string
	// general is "^(?:general pattern)$".
	general        *regexp.Regexp
	generalLengths []int32
	localLengths   []int32
	// leading is "^(?:leading digits)", nil when the region has none.
	leading *regexp.Regexp

	premium, tollFree, sharedCost, voip, personal, pager, uan, voicemail, fixedLine, mobile, generalDesc fastDesc
	sameMobileAndFixed                                                                                   bool
}

// fastDesc is a PhoneNumberDesc for isNumberMatchingDesc: possible lengths
// (none means any) and the strict pattern.
type fastDesc struct {
	lengths []int32
	re      *regexp.Regexp
}

// match is isNumberMatchingDesc. The library matches the pattern twice
// (once in isNumberPossibleForDesc, once after it); the answer cannot
// differ, so it is matched once.
func (d *fastDesc) match(nsn string) bool {
	if len(d.lengths) > 0 && !hasLength(d.lengths, len(nsn)) {
		return false
	}
	return d.re.MatchString(nsn)
}

func hasLength(lengths []int32, n int) bool {
	for _, l := range lengths {
		if int(l) == n {
			return true
		}
	}
	return false
}

var tables = sync.OnceValue(buildTables)

func buildTables() *fastTables {
	t := &fastTables{byRegion: map[string]*fastRegion{}}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return t // everything goes to the library path
	}
	// The library's regionToMetadataMap and its non-geographic map are
	// built the same way from the same collection: later entries win.
	regionMeta := map[string]*phonenumbers.PhoneMetadata{}
	nonGeo := map[int]*phonenumbers.PhoneMetadata{}
	for _, m := range coll.GetMetadata() {
		if m.GetId() == "001" {
			nonGeo[int(m.GetCountryCode())] = m
		} else {
			regionMeta[m.GetId()] = m
		}
	}
	// isValidRegionCode: a region is valid when countryCodeToRegion lists it.
	// Only read here; the library hands out its own map.
	valid := phonenumbers.GetSupportedRegions()
	regionFor := func(code string) *fastRegion {
		if r := t.byRegion[code]; r != nil {
			return r
		}
		m := regionMeta[code]
		if !valid[code] || code == "" || m == nil {
			return nil
		}
		r := &fastRegion{meta: m}
		t.byRegion[code] = r
		return r
	}
	ccs := make([]int, 0, len(phonenumbers.GetSupportedCallingCodes()))
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		ccs = append(ccs, cc)
	}
	sort.Ints(ccs)
	for _, cc := range ccs {
		if cc <= 0 || cc >= len(t.byCC) {
			continue
		}
		t.knownCC[cc] = true
		codes := phonenumbers.GetRegionCodesForCountryCode(cc)
		if len(codes) == 0 {
			continue
		}
		fc := &fastCountry{cc: int32(cc)}
		for _, code := range codes {
			var r *fastRegion
			if code == "001" {
				// getMetadataForRegionOrCallingCode; a shared
				// code listing "001" with real regions is not
				// something the library handles either.
				if m := nonGeo[cc]; m != nil && len(codes) == 1 {
					r = &fastRegion{meta: m}
				}
			} else {
				r = regionFor(code)
			}
			if r == nil {
				fc = nil
				break
			}
			fc.regions = append(fc.regions, r)
		}
		t.byCC[cc] = fc
	}
	return t
}

// compiled returns the region's patterns, compiling them on first use, or
// nil when the library path must answer for it.
func (r *fastRegion) compiled() *fastCompiled {
	r.once.Do(func() { r.c = compileRegion(r.meta) })
	return r.c
}

func compileRegion(m *phonenumbers.PhoneMetadata) *fastCompiled {
	ok := true
	re := func(pattern string) *regexp.Regexp {
		x, err := regexp.Compile(pattern)
		if err != nil {
			ok = false
		}
		return x
	}
	desc := func(d *phonenumbers.PhoneNumberDesc) fastDesc {
		if d == nil {
			// The library would dereference it and panic; leave
			// the region to the library.
			ok = false
			return fastDesc{}
		}
		return fastDesc{lengths: d.PossibleLength, re: re("^(?:" + d.GetNationalNumberPattern() + ")$")}
	}
	c := &fastCompiled{
		cc:                 m.GetCountryCode(),
		ccStr:              strconv.Itoa(int(m.GetCountryCode())),
		idd:                re("^(?:" + m.GetInternationalPrefix() + ")"),
		transform:          m.GetNationalPrefixTransformRule(),
		generalDesc:        desc(m.GetGeneralDesc()),
		premium:            desc(m.GetPremiumRate()),
		tollFree:           desc(m.GetTollFree()),
		sharedCost:         desc(m.GetSharedCost()),
		voip:               desc(m.GetVoip()),
		personal:           desc(m.GetPersonalNumber()),
		pager:              desc(m.GetPager()),
		uan:                desc(m.GetUan()),
		voicemail:          desc(m.GetVoicemail()),
		fixedLine:          desc(m.GetFixedLine()),
		mobile:             desc(m.GetMobile()),
		sameMobileAndFixed: m.GetSameMobileAndFixedLinePattern(),
	}
	if npp := m.GetNationalPrefixForParsing(); npp != "" {
		c.nppMatch = re("^(?:" + npp + ")")
	}
	if ld := m.GetLeadingDigits(); ld != "" {
		c.leading = re("^(?:" + ld + ")")
	}
	if g := m.GetGeneralDesc(); g != nil {
		c.general = c.generalDesc.re
		c.generalLengths = g.PossibleLength
		c.localLengths = g.PossibleLengthLocalOnly
	}
	// testNumberLength reads possibleLengths[0] unguarded.
	if !ok || len(c.generalLengths) == 0 {
		return nil
	}
	return c
}

// fastParse returns what phonenumbers.Parse returns for digits (ASCII digits
// only, as clean leaves them) written with a leading "+" when international,
// read with defaultRegion (a valid region, or "" for international input), or
// nil when the input needs a branch of the library's parser that is not
// re-traced here. It also returns the national significant number and the
// country code as text, from which the E.164 form is "+" + cc + nsn.
//
// What the library does with such input, step by step (parseHelper):
//   - extractPossibleNumber leaves "+digits" and "digits" unchanged, and no
//     RFC 3966 parameter or extension can be found in them;
//   - isViablePhoneNumber accepts them when there are at least 3 digits
//     after a "+", or at least 2 without one (shorter: the library path);
//   - "+": the plus is stripped and the country code is the shortest
//     prefix of 1 to 3 digits that the library knows (none, or a leading 0,
//     is an error the library retries in another way: the library path);
//     the metadata is that of the code's main region, or of the
//     non-geographic entity;
//   - no "+": the default region's international prefix would be stripped
//     if it matched at the start, and its country code if the digits start
//     with it (both: the library path); otherwise the metadata is the
//     default region's;
//   - then maybeStripNationalPrefixAndCarrierCode, re-traced below except
//     where the region's transform rule applies (the library path: the
//     NANPA islands' 7-digit local numbers, Argentina's 15 mobiles,
//     Brazil's carrier codes, and a few more);
//   - a national number shorter than 2 or longer than 17 digits is an error,
//     and one starting with 0 gets the Italian leading zero fields: the
//     library path for both.
func fastParse(digits string, international bool, defaultRegion string) (num *phonenumbers.PhoneNumber, cc, nsn string) {
	t := tables()
	var (
		c        *fastCompiled
		parsedCC int32
	)
	if international {
		if len(digits) < 3 || digits[0] == '0' {
			return nil, "", ""
		}
		// extractCountryCode: the first of the 1, 2 and 3 digit prefixes
		// that is a known code.
		var fc *fastCountry
		n, code := 0, 0
		for i := range 3 {
			code = code*10 + int(digits[i]-'0')
			if t.knownCC[code] {
				fc, n = t.byCC[code], i+1
				break
			}
		}
		if fc == nil {
			return nil, "", ""
		}
		parsedCC = int32(code)
		// getMetadataForRegionOrCallingCode(cc, main region). When the
		// main region is the default region the library keeps the
		// default region's metadata, which is the same.
		if c = fc.regions[0].compiled(); c == nil {
			return nil, "", ""
		}
		cc, nsn = digits[:n], digits[n:]
	} else {
		r := t.byRegion[defaultRegion]
		if r == nil || len(digits) < 2 {
			return nil, "", ""
		}
		if c = r.compiled(); c == nil {
			return nil, "", ""
		}
		if c.idd.MatchString(digits) || strings.HasPrefix(digits, c.ccStr) {
			return nil, "", ""
		}
		cc, nsn, parsedCC = c.ccStr, digits, c.cc
	}
	if len(nsn) < 2 {
		return nil, "", ""
	}
	if stripped, ok := c.stripNationalPrefix(nsn); !ok {
		return nil, "", ""
	} else if stripped != nsn {
		if r := c.testLength(len(stripped)); r != phonenumbers.TOO_SHORT && r != phonenumbers.IS_POSSIBLE_LOCAL_ONLY && r != phonenumbers.INVALID_LENGTH {
			nsn = stripped
		}
	}
	if len(nsn) < 2 || len(nsn) > 17 || nsn[0] == '0' {
		return nil, "", ""
	}
	national, err := strconv.ParseUint(nsn, 10, 64)
	if err != nil {
		return nil, "", ""
	}
	return &phonenumbers.PhoneNumber{CountryCode: &parsedCC, NationalNumber: &national}, cc, nsn
}

// stripNationalPrefix is maybeStripNationalPrefixAndCarrierCode without the
// carrier code, which Parse does not keep. It returns number unchanged when
// nothing is stripped, and ok false where the transform rule would apply.
func (c *fastCompiled) stripNationalPrefix(number string) (string, bool) {
	if c.nppMatch == nil {
		return number, true
	}
	groups := c.nppMatch.FindStringSubmatchIndex(number)
	if groups == nil {
		return number, true
	}
	numOfGroups := len(groups)/2 - 1
	if c.transform != "" && groups[numOfGroups*2] >= 0 {
		return "", false
	}
	if c.general.MatchString(number) && !c.general.MatchString(number[groups[1]:]) {
		return number, true
	}
	return number[groups[1]:], true
}

// testLength is testNumberLength(number, metadata, UNKNOWN) for a number of
// n digits.
func (c *fastCompiled) testLength(n int) phonenumbers.ValidationResult {
	possible := c.generalLengths
	if possible[0] == -1 {
		return phonenumbers.INVALID_LENGTH
	}
	if hasLength(c.localLengths, n) {
		return phonenumbers.IS_POSSIBLE_LOCAL_ONLY
	}
	switch minimum := int(possible[0]); {
	case minimum == n:
		return phonenumbers.IS_POSSIBLE
	case minimum > n:
		return phonenumbers.TOO_SHORT
	case int(possible[len(possible)-1]) < n:
		return phonenumbers.TOO_LONG
	}
	if hasLength(possible[1:], n) {
		return phonenumbers.IS_POSSIBLE
	}
	return phonenumbers.INVALID_LENGTH
}

// fastNumberType is phonenumbers.GetNumberType for a number with country
// code cc and national significant number nsn (GetNationalSignificantNumber).
// ok is false when the library must answer.
//
// GetNumberType first finds the number's region (GetRegionCodeForNumber): the
// only region of the code, or among several the first whose leading digits
// match the number or, for regions without leading digits, whose patterns
// give it a type; then it types the number with that region's metadata. A
// region chosen by its type has already given the answer.
func fastNumberType(cc int32, nsn string) (typ phonenumbers.PhoneNumberType, ok bool) {
	if cc <= 0 || int(cc) >= len(tables().byCC) {
		return phonenumbers.UNKNOWN, false
	}
	fc := tables().byCC[cc]
	if fc == nil {
		return phonenumbers.UNKNOWN, false
	}
	if len(fc.regions) == 1 {
		c := fc.regions[0].compiled()
		if c == nil {
			return phonenumbers.UNKNOWN, false
		}
		return c.numberType(nsn), true
	}
	for _, r := range fc.regions {
		c := r.compiled()
		if c == nil {
			return phonenumbers.UNKNOWN, false
		}
		if c.leading != nil {
			if c.leading.MatchString(nsn) {
				return c.numberType(nsn), true
			}
		} else if t := c.numberType(nsn); t != phonenumbers.UNKNOWN {
			return t, true
		}
	}
	// No region: GetNumberType finds no metadata for "".
	return phonenumbers.UNKNOWN, true
}

// numberType is getNumberTypeHelper.
func (c *fastCompiled) numberType(nsn string) phonenumbers.PhoneNumberType {
	switch {
	case !c.generalDesc.match(nsn):
		return phonenumbers.UNKNOWN
	case c.premium.match(nsn):
		return phonenumbers.PREMIUM_RATE
	case c.tollFree.match(nsn):
		return phonenumbers.TOLL_FREE
	case c.sharedCost.match(nsn):
		return phonenumbers.SHARED_COST
	case c.voip.match(nsn):
		return phonenumbers.VOIP
	case c.personal.match(nsn):
		return phonenumbers.PERSONAL_NUMBER
	case c.pager.match(nsn):
		return phonenumbers.PAGER
	case c.uan.match(nsn):
		return phonenumbers.UAN
	case c.voicemail.match(nsn):
		return phonenumbers.VOICEMAIL
	case c.fixedLine.match(nsn):
		if c.sameMobileAndFixed || c.mobile.match(nsn) {
			return phonenumbers.FIXED_LINE_OR_MOBILE
		}
		return phonenumbers.FIXED_LINE
	case !c.sameMobileAndFixed && c.mobile.match(nsn):
		return phonenumbers.MOBILE
	}
	return phonenumbers.UNKNOWN
}
