package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.RulesFile != "rules.yaml" || c.MaxBody != 256<<10 || c.Region != "asia-pacific" ||
		c.MaxSkew != 5*time.Minute || c.LogLevel != "info" || c.LogFormat != "json" || c.Workers != 50 ||
		c.RetryBase != 2*time.Second || c.RetryMaxDelay != 10*time.Minute || c.RetryMaxAttempts != 12 ||
		c.RetryMaxAge != 6*time.Hour || !c.DryRun() || c.RedisURL != "" || c.QueuePoll != 10*time.Millisecond {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestUnprefixedNamesDoNotLeakIn(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"REDIS_URL": "redis://elsewhere:6379", "ADDR": ":9999"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RedisURL != "" || c.Addr != ":8080" {
		t.Fatalf("unprefixed variables were read: %+v", c)
	}
}

// An empty variable is how many platforms unset one: it takes the default.
func TestEmptyMeansDefault(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"BRIDGE_8X8_API_KEY": "", "BRIDGE_WORKERS": ""}))
	if err != nil || !c.DryRun() || c.Workers != 50 {
		t.Fatalf("Load = %+v, %v", c, err)
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"BRIDGE_MAX_BODY": "1MiB", "BRIDGE_8X8_API_KEY": "k", "BRIDGE_ZENDESK_TOKEN": "t",
		"BRIDGE_RETRY_BASE": "500ms", "BRIDGE_WORKERS": "7", "BRIDGE_8X8_REGION": "europe", "BRIDGE_QUEUE_POLL": "1s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxBody != 1<<20 || c.APIKey != "k" || c.DryRun() || c.RetryBase != 500*time.Millisecond || c.Workers != 7 || c.Region != "europe" || c.QueuePoll != time.Second {
		t.Fatalf("%+v", c)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"BRIDGE_RETRY_BASE": "soon"}, "BRIDGE_RETRY_BASE"},
		{map[string]string{"BRIDGE_WORKERS": "many"}, "BRIDGE_WORKERS"},
		{map[string]string{"BRIDGE_WORKERS": "0"}, "BRIDGE_WORKERS"},
		{map[string]string{"BRIDGE_MAX_BODY": "big"}, "BRIDGE_MAX_BODY"},
		{map[string]string{"BRIDGE_ZENDESK_MAX_SKEW": "-1m"}, "BRIDGE_ZENDESK_MAX_SKEW"},
		{map[string]string{"BRIDGE_LOG_LEVEL": "loud"}, "BRIDGE_LOG_LEVEL"},
		{map[string]string{"BRIDGE_LOG_FORMAT": "xml"}, "BRIDGE_LOG_FORMAT"},
		{map[string]string{"BRIDGE_RETRY_MAX_DELAY": "1s"}, "BRIDGE_RETRY_MAX_DELAY"},
		{map[string]string{"BRIDGE_8X8_API_KEY": "secret-key"}, "BRIDGE_ZENDESK_SIGNING_SECRET"},
		{map[string]string{"BRIDGE_QUEUE_POLL": "0s"}, "BRIDGE_QUEUE_POLL"},
		{map[string]string{"BRIDGE_QUEUE_POLL": "1m"}, "BRIDGE_QUEUE_POLL"},
		{map[string]string{"BRIDGE_8X8_API_KEY": " "}, "BRIDGE_8X8_API_KEY holds only white space"},
		{map[string]string{"BRIDGE_ADMIN_TOKEN": "\t\n"}, "BRIDGE_ADMIN_TOKEN holds only white space"},
	}
	for _, c := range cases {
		_, err := Load(env(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%v) = %v, want an error naming %s", c.env, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-key") {
			t.Errorf("error leaks the API key: %v", err)
		}
	}
}

func TestByteSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]ByteSize{"256KiB": 256 << 10, "1MiB": 1 << 20, "1000": 1000, "2KB": 2000, "64k": 64 << 10} {
		var b ByteSize
		if err := b.Decode(in); err != nil || b != want {
			t.Errorf("Decode(%q) = %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "-1", "lots", "1TiB"} {
		var b ByteSize
		if err := b.Decode(in); err == nil {
			t.Errorf("Decode(%q) accepted", in)
		}
	}
}

func TestUnknown(t *testing.T) {
	t.Parallel()
	environ := []string{
		"PATH=/usr/bin", "BRIDGE_WORKERS=4", "BRIDGE_WORKER=8", "BRIDGE_REDIS_URI=redis://x:secret@h:6379",
		"BRIDGE_TEST_REDIS_URL=redis://127.0.0.1:6379/9", "BRIDGE=1", "BRIDGE_SERVICE_HOST=10.0.0.1", "BRIDGE_PORT=tcp://10.0.0.1:8080",
		"BRIDGE_PORT_8080_TCP_ADDR=10.0.0.1", "BRIDGE_8X8_API_KEY=k", "bridge_addr=:1",
	}
	got := Unknown(environ)
	want := []string{"BRIDGE_WORKER", "BRIDGE_REDIS_URI"}
	if !slices.Equal(got, want) {
		t.Fatalf("Unknown = %q, want %q", got, want)
	}
	for _, name := range Names() {
		if !strings.HasPrefix(name, "BRIDGE_") || len(Unknown([]string{name + "=x"})) != 0 {
			t.Errorf("declared %s is unknown", name)
		}
	}
}
