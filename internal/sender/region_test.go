package sender

import (
	"strings"
	"testing"
)

func TestBaseURLs(t *testing.T) {
	tests := []struct{ region, sms, chatapps string }{
		{"", "https://sms.8x8.com", "https://chatapps.8x8.com"},
		{"asia-pacific", "https://sms.8x8.com", "https://chatapps.8x8.com"},
		{"europe", "https://sms.8x8.uk", "https://chatapps.8x8.uk"},
		{"north-america", "https://sms.us.8x8.com", "https://chatapps.us.8x8.com"},
		{"indonesia", "https://sms.8x8.id", "https://chatapps.8x8.id"},
		{" Europe ", "https://sms.8x8.uk", "https://chatapps.8x8.uk"},
	}
	for _, tt := range tests {
		sms, chat, err := BaseURLs(tt.region)
		if err != nil || sms != tt.sms || chat != tt.chatapps {
			t.Errorf("BaseURLs(%q) = %s, %s, %v; want %s, %s", tt.region, sms, chat, err, tt.sms, tt.chatapps)
		}
	}
	for _, r := range Regions() {
		if _, _, err := BaseURLs(string(r)); err != nil {
			t.Errorf("Regions() lists %q, BaseURLs refuses it: %v", r, err)
		}
	}
}

func TestBaseURLsUnknown(t *testing.T) {
	for _, region := range []string{"eu", "us", "apac", "singapore", "asia_pacific"} {
		_, _, err := BaseURLs(region)
		if err == nil {
			t.Errorf("BaseURLs(%q): no error", region)
			continue
		}
		for _, name := range []string{region, "asia-pacific", "europe", "north-america", "indonesia"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("BaseURLs(%q): error %q does not mention %q", region, err, name)
			}
		}
	}
}
