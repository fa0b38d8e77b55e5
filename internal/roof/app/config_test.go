package app_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/config/configtest"
	"github.com/forbear/forbear/internal/roof/app"
)

// TestLoadConfigReportsEverySection: a file with one bad key in every
// section that has checks is refused with all of them named at once,
// each at the start of its own line. A section whose check LoadConfig
// forgot to run fails here, and so does a new top-level key until it is
// given a bad value below or a reason it is not checked when loading.
func TestLoadConfigReportsEverySection(t *testing.T) {
	t.Parallel()
	const file = `
http:
  max_header_bytes: 100
  inbox_streams: {per_token: 0}
auth:
  tokens: [{name: a, token: t-a, roles: [superuser]}]
data_dir: ""
memory_limit_mib: 1
nats: {embedded: {listen: nowhere}}
scheduler: {timezone: Mars/Base}
providers: {sms: {kind: smtp}}
compliance: {send_window: {start: 8am, end: "21:00"}}
templates: {max_sms_segments: 0}
dispatcher: {ack_wait: 1s}
audit: {retention: 12h}
console: {phone_region: XX}
`
	// What each section's check must say, by top-level key.
	want := map[string][]string{
		"http":             {"http.max_header_bytes: must be at least 4096", "http.inbox_streams.per_token: must be between 1 and 1000, got 0"},
		"auth":             {`auth.tokens[0].roles[0]: unknown role "superuser"`},
		"data_dir":         {"data_dir: is required for the embedded NATS server"},
		"memory_limit_mib": {"memory_limit_mib: must be 0"},
		"nats":             {`nats.embedded.listen: "nowhere" is not host:port`},
		"scheduler":        {`scheduler.timezone: "Mars/Base" is not an IANA time zone`},
		"providers":        {`providers.sms.kind: "smtp" is not one of sandbox, twilio`},
		"compliance":       {`compliance.send_window.start: "8am" is not HH:MM`},
		"templates":        {"templates.max_sms_segments: must be at least 1"},
		"dispatcher":       {"dispatcher.ack_wait: must be at least 5s"},
		"audit":            {"audit.retention: must be 0 (keep forever) or at least 1d, got 12h"},
		"console":          {`console.phone_region: "XX" is not an ISO 3166 alpha-2 region`},
	}
	// Top-level keys LoadConfig does not check, and why.
	notChecked := map[string]string{
		"policies":      "compiled, and refused with the key named, when New builds the scheduler",
		"agreements":    "its policy must be one of policies, which New compiles",
		"templates_dir": "read when New seeds the template store",
		"log":           "forbear serve builds its logger from it and names log.level when it is refused",
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[config.Config]()) {
		key := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if _, ok := want[key]; !ok && notChecked[key] == "" {
			t.Errorf("top-level key %q: give it a bad value in this test, or say why LoadConfig does not check it", key)
		}
	}

	path := filepath.Join(t.TempDir(), "forbear.yaml")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(path, nil)
	if err == nil {
		t.Fatal("LoadConfig = nil error, want every section's fault")
	}
	if !reflect.DeepEqual(cfg, config.Config{}) {
		t.Errorf("LoadConfig returned a configuration with its error: %+v", cfg)
	}
	lines := strings.Split(err.Error(), "\n")
	for section, faults := range want {
		for _, fault := range faults {
			found := false
			for _, l := range lines {
				found = found || strings.HasPrefix(l, fault)
			}
			if !found {
				t.Errorf("section %s: no line starts with %q in:\n%s", section, fault, err)
			}
		}
	}
}

// TestLoadConfigSpecExample: the example of spec §2 (config's test data)
// passes every section's check as is, short tokens such as "t-ops"
// included: "these keys must work as shown".
func TestLoadConfigSpecExample(t *testing.T) {
	t.Parallel()
	cfg, err := app.LoadConfig(filepath.Join("..", "..", "ground", "config", "testdata", "spec-example.yaml"), nil)
	if err != nil {
		t.Fatalf("LoadConfig(spec example) = %v, want nil", err)
	}
	if len(cfg.Auth.Tokens) != 4 || cfg.Providers.Email.Kind != "smtp" {
		t.Errorf("LoadConfig(spec example) = %+v, want the example's tokens and providers", cfg)
	}
}

// TestLoadConfigDefaults: with no file and no environment, LoadConfig
// gives the defaults, and they pass every section's check.
func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := app.LoadConfig("", nil)
	if err != nil {
		t.Fatalf("LoadConfig(\"\", nil) = %v, want nil", err)
	}
	if !reflect.DeepEqual(cfg, config.Default()) {
		t.Errorf("LoadConfig(\"\", nil) = %+v, want Default()", cfg)
	}
}

// TestCheckConfig: faults in several sections are all reported at once
// (config's central check had this case).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []configtest.Case{
		{Name: "defaults", Modify: func(*config.Config) {}},
		{
			Name: "every error is reported",
			Modify: func(c *config.Config) {
				c.HTTP.Listen = "nope"
				c.Scheduler.Timezone = "Nowhere/Land"
				c.Providers.InApp.Kind = "twilio"
			},
			WantErr: []string{"http.listen", "scheduler.timezone", "providers.inapp.kind", "auth.tokens"},
		},
	}
	configtest.Run(t, tests, func(c *config.Config) error { return app.CheckConfig(c) })
}
