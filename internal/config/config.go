// Package config reads the bridge's settings from the environment.
package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Prefix is put before every variable name: ADDR is read from BRIDGE_ADDR.
const Prefix = "BRIDGE"

// Config is every setting of the bridge. The struct tags are envconfig's, so
// `envconfig.Usage` prints the same table the README shows.
type Config struct {
	Addr      string   `envconfig:"ADDR" default:":8080" desc:"address the HTTP server listens on"`
	RulesFile string   `envconfig:"RULES_FILE" default:"rules.yaml" desc:"path of rules.yaml"`
	MaxBody   ByteSize `envconfig:"MAX_BODY" default:"256KiB" desc:"largest webhook body accepted (413 above)"`
	RedisURL  string   `envconfig:"REDIS_URL" desc:"redis://… of the shared store; unset = embedded, not durable"`
	Queue     string   `envconfig:"QUEUE" default:"bridge" desc:"queue name in Redis, so several deployments can share one Redis"`

	APIKey      string `envconfig:"8X8_API_KEY" desc:"8x8 API key; unset = dry run (nothing is sent)"`
	Region      string `envconfig:"8X8_REGION" default:"asia-pacific" desc:"asia-pacific, europe, north-america or indonesia"`
	SMSURL      string `envconfig:"8X8_SMS_URL" desc:"overrides the SMS base URL of the region"`
	ChatAppsURL string `envconfig:"8X8_CHATAPPS_URL" desc:"overrides the Chat Apps base URL of the region"`
	RateLimit   int    `envconfig:"8X8_RATE_LIMIT" default:"600" desc:"most 8x8 requests per second per subaccount from this bridge"`

	SigningSecret string        `envconfig:"ZENDESK_SIGNING_SECRET" desc:"Zendesk webhook signing secret; set = signature required; several webhooks: their secrets, comma-separated"`
	ZendeskToken  string        `envconfig:"ZENDESK_TOKEN" desc:"bearer token Zendesk sends; set = Authorization required"`
	MaxSkew       time.Duration `envconfig:"ZENDESK_MAX_SKEW" default:"5m" desc:"how far a signature timestamp may be from now"`
	AdminToken    string        `envconfig:"ADMIN_TOKEN" desc:"bearer token for /test and /deliveries; unset = admin routes off"`

	LogLevel  string `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat string `envconfig:"LOG_FORMAT" default:"json" desc:"json or console"`

	Workers          int           `envconfig:"WORKERS" default:"50" desc:"concurrent 8x8 requests"`
	RetryBase        time.Duration `envconfig:"RETRY_BASE" default:"2s" desc:"first retry delay, doubled each attempt"`
	RetryMaxDelay    time.Duration `envconfig:"RETRY_MAX_DELAY" default:"10m" desc:"longest delay between two attempts"`
	RetryMaxAttempts int           `envconfig:"RETRY_MAX_ATTEMPTS" default:"12" desc:"attempts in all before a delivery is parked"`
	RetryMaxAge      time.Duration `envconfig:"RETRY_MAX_AGE" default:"6h" desc:"a delivery older than this is parked instead of retried"`
	ShutdownTimeout  time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"20s" desc:"how long a stopping bridge waits for in-flight work"`
	QueuePoll        time.Duration `envconfig:"QUEUE_POLL" default:"10ms" desc:"how often idle workers ask Redis for new deliveries (1ms to 5s); raise it on a Redis billed per command"`
}

// Names lists every variable Load reads, in declaration order.
func Names() []string {
	t := reflect.TypeFor[Config]()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		names = append(names, Prefix+"_"+t.Field(i).Tag.Get("envconfig"))
	}
	return names
}

// Unknown returns the names in environ ("NAME=value" entries, as
// os.Environ gives them) that carry the BRIDGE_ prefix but are no variable
// of the bridge: most likely misspelt, and silently ignored otherwise.
// BRIDGE_TEST_* are the test suite's own. Values are never looked at.
func Unknown(environ []string) []string {
	known := Names()
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, Prefix+"_") || strings.HasPrefix(name, Prefix+"_TEST_") || slices.Contains(known, name) ||
			kubernetesService(name) {
			continue
		}
		unknown = append(unknown, name)
	}
	return unknown
}

// kubernetesService reports whether name is one of the variables
// Kubernetes sets for a Service named "bridge" (BRIDGE_SERVICE_HOST,
// BRIDGE_PORT, BRIDGE_PORT_8080_TCP_ADDR, …): not settings, not typos.
func kubernetesService(name string) bool {
	rest := strings.TrimPrefix(name, Prefix+"_")
	return strings.HasPrefix(rest, "SERVICE_HOST") || strings.HasPrefix(rest, "SERVICE_PORT") || rest == "PORT" || strings.HasPrefix(rest, "PORT_")
}

// DryRun reports whether nothing will really be sent.
func (c Config) DryRun() bool { return c.APIKey == "" }

// Load reads every setting through getenv. It does the decoding itself rather
// than through envconfig.Process for two reasons: envconfig reads the process
// environment through a package variable, which would keep run() from being
// tested with an environment of its own; and it falls back to the unprefixed
// name (REDIS_URL, ADDR), letting a platform's variables leak in. The envconfig
// tags remain the single description of the variables.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := Prefix + "_" + f.Tag.Get("envconfig")
		set := getenv(name)
		raw, given := strings.TrimSpace(set), true
		if raw == "" && set != "" {
			// A stray space in a secret store must not quietly turn a
			// secret off (an API key into a dry run, an admin token into
			// admin routes that answer 404).
			return Config{}, fmt.Errorf("%s holds only white space: give it a value, or leave it empty to use the default", name)
		}
		if raw == "" {
			raw, given = f.Tag.Get("default"), false
		}
		if raw == "" {
			continue
		}
		if err := decode(v.Field(i), raw); err != nil {
			if !given {
				panic(fmt.Sprintf("config: default of %s does not decode: %v", name, err))
			}
			return Config{}, fmt.Errorf("%s=%q is not valid: %v", name, raw, err)
		}
	}
	return c, c.validate()
}

func decode(field reflect.Value, raw string) error {
	if d, ok := field.Addr().Interface().(envconfig.Decoder); ok {
		return d.Decode(raw)
	}
	switch field.Interface().(type) {
	case string:
		field.SetString(raw)
	case int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return errors.New("want a whole number")
		}
		field.SetInt(int64(n))
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New(`want a duration such as "2s", "10m" or "6h"`)
		}
		field.SetInt(int64(d))
	default:
		return fmt.Errorf("unsupported type %s", field.Type())
	}
	return nil
}

func (c Config) validate() error {
	positive := []struct {
		name string
		ok   bool
	}{
		{"BRIDGE_MAX_BODY", c.MaxBody > 0},
		{"BRIDGE_WORKERS", c.Workers > 0},
		{"BRIDGE_RETRY_BASE", c.RetryBase > 0},
		{"BRIDGE_RETRY_MAX_DELAY", c.RetryMaxDelay >= c.RetryBase},
		{"BRIDGE_RETRY_MAX_ATTEMPTS", c.RetryMaxAttempts > 0},
		{"BRIDGE_RETRY_MAX_AGE", c.RetryMaxAge > 0},
		{"BRIDGE_ZENDESK_MAX_SKEW", c.MaxSkew > 0},
		{"BRIDGE_8X8_RATE_LIMIT", c.RateLimit > 0},
		{"BRIDGE_SHUTDOWN_TIMEOUT", c.ShutdownTimeout > 0},
	}
	for _, p := range positive {
		if !p.ok {
			if p.name == "BRIDGE_RETRY_MAX_DELAY" {
				return errors.New("BRIDGE_RETRY_MAX_DELAY must not be shorter than BRIDGE_RETRY_BASE")
			}
			return fmt.Errorf("%s must be greater than zero", p.name)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("BRIDGE_LOG_LEVEL=%q is not valid: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "console":
	default:
		return fmt.Errorf("BRIDGE_LOG_FORMAT=%q is not valid: want json or console", c.LogFormat)
	}
	if c.SigningSecret != "" && len(c.SigningSecrets()) == 0 {
		return errors.New("BRIDGE_ZENDESK_SIGNING_SECRET holds no secret, only commas or spaces: set the webhook's signing secret, or several separated by commas")
	}
	if c.APIKey != "" && c.SigningSecret == "" && c.ZendeskToken == "" {
		return errors.New("BRIDGE_8X8_API_KEY is set but no inbound authentication is: set BRIDGE_ZENDESK_SIGNING_SECRET (recommended) or BRIDGE_ZENDESK_TOKEN, so that only Zendesk can make the bridge send")
	}
	if c.QueuePoll < time.Millisecond || c.QueuePoll > 5*time.Second {
		return fmt.Errorf("BRIDGE_QUEUE_POLL=%s is not valid: want 1ms to 5s (10ms picks a delivery up at once; 1s makes an idle bridge far quieter on Redis)", c.QueuePoll)
	}
	if !ValidQueue(c.Queue) {
		return fmt.Errorf("BRIDGE_QUEUE=%q is not valid: use 1 to 64 letters, digits, - and _", c.Queue)
	}
	return nil
}

// ValidQueue reports whether name can be a queue name: it becomes part of
// Redis keys.
func ValidQueue(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// ByteSize is a size such as "256KiB", "1MiB" or "262144".
type ByteSize int64

// Decode implements envconfig.Decoder.
func (b *ByteSize) Decode(s string) error {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"KB", 1000}, {"MB", 1000 * 1000}, {"K", 1 << 10}, {"M", 1 << 20}, {"B", 1}}
	mult := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(num), strings.ToUpper(u.suffix)) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return errors.New(`want a size such as "256KiB", "1MiB" or a number of bytes`)
	}
	*b = ByteSize(n * mult)
	return nil
}

// SigningSecrets is BRIDGE_ZENDESK_SIGNING_SECRET as a list: each Zendesk
// webhook has its own secret (one for /webhooks/zendesk, another for a
// webhook pointed at /webhooks/zendesk/{rule}), so several may be given,
// separated by commas. Zendesk's secrets are base64 and hold no commas.
func (c Config) SigningSecrets() []string {
	var out []string
	for s := range strings.SplitSeq(c.SigningSecret, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
