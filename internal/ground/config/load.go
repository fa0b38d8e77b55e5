package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/forbear/forbear/internal/ground/phone"
)

// EnvPrefix starts every environment override: the key's path in upper case
// joined by '_' (scheduler.sweep -> FORBEAR_SCHEDULER_SWEEP).
const EnvPrefix = "FORBEAR_"

// Load builds the configuration: defaults, then the YAML file (if path is
// not empty), then FORBEAR_* variables from environ. Flags are applied by
// the caller afterwards (flags beat env beat file), then Validate.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(data, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func decodeYAML(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) == nil {
			if bad := badText(&doc, reflect.TypeFor[Config](), ""); bad != nil {
				return bad
			}
		}
		return err
	}
	// YAML merges maps into the defaults; caps given in the file replace
	// them instead, so "caps: {}" means no limits (spec §2).
	var probe struct {
		Compliance struct {
			Caps *map[string]Cap `yaml:"caps"`
		} `yaml:"compliance"`
	}
	if err := yaml.Unmarshal(data, &probe); err == nil && probe.Compliance.Caps != nil {
		cfg.Compliance.Caps = *probe.Compliance.Caps
	}
	return nil
}

// badText finds the key whose value a text unmarshaler (a duration, an
// age) refused, which YAML reports without the key: it walks the document
// beside the fields of t and parses each such value again. nil when none
// is refused.
func badText(node *yaml.Node, t reflect.Type, key string) error {
	join := func(name string) string {
		if key == "" {
			return name
		}
		return key + "." + name
	}
	switch {
	case node.Kind == yaml.DocumentNode:
		for _, c := range node.Content {
			if err := badText(c, t, key); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Pointer:
		return badText(node, t.Elem(), key)
	case reflect.PointerTo(t).Implements(textUnmarshaler):
		if node.Kind != yaml.ScalarNode {
			return nil
		}
		if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(node.Value)); err != nil {
			return fmt.Errorf("%s (line %d): %w", key, node.Line, err)
		}
	case node.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		for i := 0; i+1 < len(node.Content); i += 2 {
			name := node.Content[i].Value
			for j := 0; j < t.NumField(); j++ {
				if strings.Split(t.Field(j).Tag.Get("yaml"), ",")[0] == name {
					if err := badText(node.Content[i+1], t.Field(j).Type, join(name)); err != nil {
						return err
					}
				}
			}
		}
	case node.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(node.Content); i += 2 {
			if err := badText(node.Content[i+1], t.Elem(), join(node.Content[i].Value)); err != nil {
				return err
			}
		}
	case node.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range node.Content {
			if err := badText(c, t.Elem(), fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyEnv sets every scalar key that has a FORBEAR_* variable.
func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[strings.TrimPrefix(k, EnvPrefix)] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	return walk(reflect.ValueOf(cfg).Elem(), "", "", func(v reflect.Value, envName, key string) error {
		val, ok := env[envName]
		if !ok {
			return nil
		}
		if err := setScalar(v, val); err != nil {
			return fmt.Errorf("config: %s%s (%s): %w", EnvPrefix, envName, key, err)
		}
		return nil
	})
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func walk(v reflect.Value, envName, key string, fn func(reflect.Value, string, string) error) error {
	if v.Kind() == reflect.Struct && !reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			e, k := strings.ToUpper(tag), tag
			if envName != "" {
				e, k = envName+"_"+e, key+"."+tag
			}
			if err := walk(v.Field(i), e, k, fn); err != nil {
				return err
			}
		}
		return nil
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		return fn(v, envName, key) // a value read from text (a list such as Presets)
	}
	switch v.Kind() {
	case reflect.String, reflect.Int, reflect.Int64, reflect.Float64, reflect.Bool:
		return fn(v, envName, key)
	}
	return nil
}

func setScalar(v reflect.Value, s string) error {
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", s)
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", s)
		}
		v.SetBool(b)
	}
	return nil
}

// Roles a token may grant.
var Roles = []string{"publisher", "ops", "support", "admin"}

// Validate checks the configuration; errors name the key at fault.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen", "%q is not host:port", c.HTTP.Listen)
	}
	c.validateHTTP(bad)
	for key, v := range map[string]int{"http.inbox_streams.per_token": c.HTTP.InboxStreams.PerToken,
		"http.inbox_streams.per_borrower": c.HTTP.InboxStreams.PerBorrower} {
		if v < 1 || v > MaxStreamCap {
			bad(key, "must be between 1 and %d, got %d", MaxStreamCap, v)
		}
	}
	if m := c.MemoryLimitMiB; m != 0 && (m < MinMemoryLimitMiB || m > 1<<24) {
		bad("memory_limit_mib", "must be 0 (the Go runtime's default) or between %d and %d, got %d", MinMemoryLimitMiB, 1<<24, m)
	}
	if c.DataDir == "" && c.NATS.URL == "" {
		bad("data_dir", "is required for the embedded NATS server")
	}
	if c.NATS.Embedded.Listen != "" {
		if _, _, err := net.SplitHostPort(c.NATS.Embedded.Listen); err != nil {
			bad("nats.embedded.listen", "%q is not host:port", c.NATS.Embedded.Listen)
		}
	}
	if c.Scheduler.Timezone != "" {
		if _, err := time.LoadLocation(c.Scheduler.Timezone); err != nil {
			bad("scheduler.timezone", "%q is not an IANA time zone", c.Scheduler.Timezone)
		}
	}
	if c.Scheduler.Sweep == "" {
		bad("scheduler.sweep", "is required (a robfig/cron spec such as \"@every 1m\")")
	}
	if c.Scheduler.SweepBudget.D() < time.Second {
		bad("scheduler.sweep_budget", "must be at least 1s, got %s", c.Scheduler.SweepBudget.D())
	}
	names, tokens := map[string]bool{}, map[string]bool{}
	for i, t := range c.Auth.Tokens {
		key := fmt.Sprintf("auth.tokens[%d]", i)
		if t.Name == "" {
			bad(key+".name", "is required")
		} else if names[t.Name] {
			bad(key+".name", "%q is used twice", t.Name)
		}
		names[t.Name] = true
		// No minimum length beyond "not empty": the spec's own example
		// (§2) uses tokens such as "t-ops" and must start as shown.
		if strings.TrimSpace(t.Token) == "" {
			bad(key+".token", "is required")
		} else if tokens[t.Token] {
			bad(key+".token", "is used twice")
		}
		tokens[t.Token] = true
		if len(t.Roles) == 0 {
			bad(key+".roles", "must list at least one of %s", strings.Join(Roles, ", "))
		}
		for j, r := range t.Roles {
			if !contains(Roles, r) {
				bad(fmt.Sprintf("%s.roles[%d]", key, j), "unknown role %q (want one of %s)", r, strings.Join(Roles, ", "))
			}
		}
	}
	if len(c.Auth.Tokens) == 0 && !IsLoopback(c.HTTP.Listen) {
		bad("auth.tokens", "no tokens configured and http.listen %q is not loopback: refusing to serve an open API on the network", c.HTTP.Listen)
	}
	for name, p := range map[string]Provider{"sms": c.Providers.SMS, "voice": c.Providers.Voice, "email": c.Providers.Email, "inapp": c.Providers.InApp} {
		key := "providers." + name
		kinds := map[string][]string{"sms": {"sandbox", "twilio"}, "voice": {"sandbox", "twilio"}, "email": {"sandbox", "smtp"}, "inapp": {"sandbox", "inbox"}}[name]
		if p.Kind != "" && !contains(kinds, p.Kind) {
			bad(key+".kind", "%q is not one of %s", p.Kind, strings.Join(kinds, ", "))
		}
		if p.Concurrency < 0 {
			bad(key+".concurrency", "must not be negative")
		}
	}
	if c.Compliance.SendWindow.Start != "" || c.Compliance.SendWindow.End != "" {
		for key, v := range map[string]string{"compliance.send_window.start": c.Compliance.SendWindow.Start, "compliance.send_window.end": c.Compliance.SendWindow.End} {
			if !validClock(v) {
				bad(key, "%q is not HH:MM (00:00 to 24:00)", v)
			}
		}
	}
	for ch, cp := range c.Compliance.Caps {
		if !contains([]string{"sms", "voice", "email", "inapp"}, ch) {
			bad("compliance.caps."+ch, "unknown channel")
		}
		if cp.Max < 0 || cp.Per.D() < 0 {
			bad("compliance.caps."+ch, "max and per must not be negative")
		}
	}
	if c.Templates.MaxSMSSegments < 1 {
		bad("templates.max_sms_segments", "must be at least 1")
	}
	if len(c.Templates.OptOutPhrases) == 0 {
		bad("templates.opt_out_phrases", "must list at least one phrase (collection SMS and email must say how to opt out)")
	}
	for i, p := range c.Templates.OptOutPhrases {
		if strings.TrimSpace(p) == "" {
			bad(fmt.Sprintf("templates.opt_out_phrases[%d]", i), "must not be blank")
		}
	}
	if c.Dispatcher.FenceLease.D() < 10*time.Millisecond {
		bad("dispatcher.fence_lease", "must be at least 10ms")
	}
	if c.Dispatcher.AckWait.D() < 5*time.Second {
		bad("dispatcher.ack_wait", "must be at least 5s")
	}
	if r := c.Audit.Retention.D(); r != 0 && r < MinRetention {
		bad("audit.retention", "must be 0 (keep forever) or at least %s, got %s", Age(MinRetention), c.Audit.Retention)
	}
	if !phone.ValidRegion(strings.ToUpper(c.Console.PhoneRegion)) {
		bad("console.phone_region", "%q is not an ISO 3166 alpha-2 region with phone numbers (CN, US, GB, ...)", c.Console.PhoneRegion)
	}
	return errors.Join(errs...)
}

// validateHTTP checks the listener's limits: each must be set, since an
// unbounded one lets slow clients hold connections forever.
func (c *Config) validateHTTP(bad func(key, format string, args ...any)) {
	h := c.HTTP
	for _, d := range []struct {
		key string
		val Duration
	}{
		{"http.read_header_timeout", h.ReadHeaderTimeout},
		{"http.read_timeout", h.ReadTimeout},
		{"http.write_timeout", h.WriteTimeout},
		{"http.idle_timeout", h.IdleTimeout},
	} {
		if d.val.D() < 100*time.Millisecond {
			bad(d.key, "must be at least 100ms")
		}
	}
	if h.ReadHeaderTimeout.D() > h.ReadTimeout.D() {
		bad("http.read_header_timeout", "must not exceed http.read_timeout (%s), which covers the headers too", h.ReadTimeout.D())
	}
	if h.WriteTimeout.D() < h.ReadTimeout.D() {
		bad("http.write_timeout", "must be at least http.read_timeout (%s): it runs while the body is read and the answer written", h.ReadTimeout.D())
	}
	if h.MaxHeaderBytes < 4<<10 {
		bad("http.max_header_bytes", "must be at least 4096")
	}
	if h.MaxConnections < 0 {
		bad("http.max_connections", "must not be negative (0 derives it from the open-file limit)")
	}
}

func validClock(s string) bool {
	t, err := time.Parse("15:04", s)
	return err == nil || s == "24:00" && t.IsZero()
}

// IsLoopback reports whether a host:port listens on loopback only.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
