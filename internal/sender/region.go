package sender

import (
	"fmt"
	"strings"
)

// Region is an 8x8 platform deployment region. An account lives in exactly
// one; posting to another region's host fails authentication, so the region
// is configuration, not a guess.
type Region string

const (
	AsiaPacific  Region = "asia-pacific" // the default: Singapore
	Europe       Region = "europe"
	NorthAmerica Region = "north-america"
	Indonesia    Region = "indonesia"
)

// DefaultRegion is used when no region is configured, as 8x8 itself does.
const DefaultRegion = AsiaPacific

// Regions lists every region BaseURLs knows, default first.
func Regions() []Region {
	return []Region{AsiaPacific, Europe, NorthAmerica, Indonesia}
}

// BaseURLs returns the SMS and Chat Apps base URLs (scheme and host, no
// trailing slash) of a region. An empty region is the default region; case and
// surrounding spaces are ignored, since the value usually comes from the
// environment.
func BaseURLs(region string) (sms, chatapps string, err error) {
	r := Region(strings.ToLower(strings.TrimSpace(region)))
	if r == "" {
		r = DefaultRegion
	}
	// The hosts are the servers lists of sms_api.json and
	// business_messaging_api.json (docs/platform-deployment-regions.md agrees).
	switch r {
	case AsiaPacific:
		return "https://sms.8x8.com", "https://chatapps.8x8.com", nil
	case Europe:
		return "https://sms.8x8.uk", "https://chatapps.8x8.uk", nil
	case NorthAmerica:
		return "https://sms.us.8x8.com", "https://chatapps.us.8x8.com", nil
	case Indonesia:
		return "https://sms.8x8.id", "https://chatapps.8x8.id", nil
	}
	names := make([]string, 0, 4)
	for _, r := range Regions() {
		names = append(names, string(r))
	}
	return "", "", fmt.Errorf("unknown 8x8 region %q: valid regions are %s", region, strings.Join(names, ", "))
}
