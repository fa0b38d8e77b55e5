package config_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
)

// specExample is the example of spec §2, with the voice provider's
// "{...same keys...}" written out.
const specExample = "testdata/spec-example.yaml"

func TestLoadSpecExample(t *testing.T) {
	t.Parallel()
	cfg, err := config.LoadUnchecked(specExample, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	// "These keys must work as shown": that the whole example passes every
	// section's check, short tokens such as "t-ops" included, is
	// internal/roof/app's TestLoadConfigSpecExample.
	if err := config.CheckOwnKeys(&cfg); err != nil {
		t.Errorf("CheckOwnKeys(spec example) = %v, want nil", err)
	}

	durp := func(d time.Duration) *config.Duration { v := config.Duration(d); return &v }
	want := config.Default()
	want.HTTP.Listen = "127.0.0.1:8080"
	want.Auth.Tokens = []config.Token{
		{Name: "backend", Token: "t-backend", Roles: []string{"publisher"}},
		{Name: "ops", Token: "t-ops", Roles: []string{"ops"}},
		{Name: "desk", Token: "t-desk", Roles: []string{"support"}},
		{Name: "root", Token: "t-root", Roles: []string{"admin"}},
	}
	want.DataDir = "./forbear-data"
	want.NATS = config.NATS{URL: "", Embedded: config.Embedded{Listen: "127.0.0.1:4222"}}
	want.Scheduler.Sweep = "@every 1m"
	want.Scheduler.Timezone = "Asia/Shanghai"
	want.Providers.SMS = config.Provider{Kind: "twilio", From: "+15005550006", Concurrency: 64,
		Twilio: config.Twilio{AccountSID: "ACxxxxxxxx", AuthToken: "xxxx"}}
	want.Providers.Voice = config.Provider{Kind: "twilio", From: "+15005550006", Concurrency: 4,
		Twilio: config.Twilio{AccountSID: "ACyyyyyyyy", AuthToken: "yyyy", APIBaseURL: "http://127.0.0.1:9999"}}
	want.Providers.Email = config.Provider{Kind: "smtp", From: "collections@example.com", Concurrency: 16,
		SMTP: config.SMTP{Host: "127.0.0.1", Port: 2525, TLS: "none"}}
	want.Providers.InApp = config.Provider{Kind: "inbox", Concurrency: 64}
	want.Compliance = config.Compliance{
		SendWindow: config.Window{Start: "08:00", End: "21:00"},
		Caps: map[string]config.Cap{
			"sms":   {Max: 3, Per: config.Duration(24 * time.Hour)},
			"voice": {Max: 7, Per: config.Duration(168 * time.Hour)},
		},
	}
	want.Policies = []config.Policy{
		{ID: "standard", Category: "collection", Steps: []config.Step{
			{ID: "pre-due", At: config.Duration(-3 * day), Channels: []string{"sms", "inapp"}, Template: "pre_due"},
			{ID: "overdue", At: config.Duration(day), Every: durp(3 * day), Until: durp(29 * day), Channels: []string{"sms"}, Template: "overdue"},
			{ID: "call", At: config.Duration(7 * day), Every: durp(2 * day), Channels: []string{"voice"}, Template: "call"},
		}},
		{ID: "plan", Category: "agreement", Anchor: "installment", Steps: []config.Step{
			{ID: "before", At: config.Duration(-2 * day), Channels: []string{"sms", "inapp"}, Template: "installment_due"},
			{ID: "missed", At: config.Duration(day), Channels: []string{"sms", "inapp"}, Template: "installment_missed"},
		}},
	}
	want.Agreements.Policy = "plan"
	want.TemplatesDir = "./templates"

	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load(spec example):\n got %+v\nwant %+v", cfg, want)
	}
	// The example policies are the bundled defaults.
	if !reflect.DeepEqual(cfg.Policies, config.ExamplePolicies()) {
		t.Errorf("spec policies differ from ExamplePolicies():\n got %+v\nwant %+v", cfg.Policies, config.ExamplePolicies())
	}
}

func TestLoadNoFile(t *testing.T) {
	t.Parallel()
	cfg, err := config.LoadUnchecked("", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(cfg, config.Default()) {
		t.Errorf("Load(\"\", nil) = %+v, want Default()", cfg)
	}
	// That the defaults pass every section's check is internal/roof/app's
	// TestLoadConfigDefaults.
	if err := config.CheckOwnKeys(&cfg); err != nil {
		t.Errorf("CheckOwnKeys(Default()) = %v, want nil", err)
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		yaml    string
		check   func(t *testing.T, c config.Config)
		wantErr string // substring of the error; "" means no error
	}{
		{
			name: "empty file keeps defaults",
			yaml: "",
			check: func(t *testing.T, c config.Config) {
				if !reflect.DeepEqual(c, config.Default()) {
					t.Errorf("got %+v, want Default()", c)
				}
			},
		},
		{
			name: "caps {} means no caps",
			yaml: "compliance:\n  caps: {}\n",
			check: func(t *testing.T, c config.Config) {
				if len(c.Compliance.Caps) != 0 {
					t.Errorf("caps = %v, want none", c.Compliance.Caps)
				}
			},
		},
		{
			name: "caps in the file replace the defaults",
			yaml: "compliance:\n  caps:\n    email: {max: 2, per: 1d}\n",
			check: func(t *testing.T, c config.Config) {
				want := map[string]config.Cap{"email": {Max: 2, Per: config.Duration(day)}}
				if !reflect.DeepEqual(c.Compliance.Caps, want) {
					t.Errorf("caps = %v, want %v", c.Compliance.Caps, want)
				}
			},
		},
		{
			// That 00:00-24:00 passes the check is internal/compliance's
			// TestCheckConfig.
			name: "no caps key keeps the default caps",
			yaml: "compliance:\n  send_window: {start: \"00:00\", end: \"24:00\"}\n",
			check: func(t *testing.T, c config.Config) {
				if !reflect.DeepEqual(c.Compliance.Caps, config.Default().Compliance.Caps) {
					t.Errorf("caps = %v, want the defaults", c.Compliance.Caps)
				}
			},
		},
		{
			name: "policies in the file replace the bundled ones",
			yaml: "policies:\n  - id: only\n    category: collection\n    steps:\n      - {id: s, at: 0, channels: [email], template: t}\n",
			check: func(t *testing.T, c config.Config) {
				if len(c.Policies) != 1 || c.Policies[0].ID != "only" || c.Policies[0].Steps[0].At != 0 {
					t.Errorf("policies = %+v, want just \"only\"", c.Policies)
				}
			},
		},
		{
			name: "durations with a d unit",
			yaml: "scheduler:\n  catch_up: 1d12h\ndispatcher:\n  fence_lease: 250ms\n  ack_wait: 1m\n",
			check: func(t *testing.T, c config.Config) {
				if c.Scheduler.CatchUp.D() != 36*time.Hour || c.Dispatcher.FenceLease.D() != 250*time.Millisecond || c.Dispatcher.AckWait.D() != time.Minute {
					t.Errorf("catch_up %v fence_lease %v ack_wait %v", c.Scheduler.CatchUp.D(), c.Dispatcher.FenceLease.D(), c.Dispatcher.AckWait.D())
				}
			},
		},
		{
			name:    "misspelt top-level key",
			yaml:    "http:\n  listen: 127.0.0.1:8080\nschedular:\n  sweep: \"@every 1m\"\n",
			wantErr: "schedular",
		},
		{
			name:    "misspelt nested key",
			yaml:    "http:\n  listn: 127.0.0.1:8080\n",
			wantErr: "listn",
		},
		{
			name:    "misspelt key in a step",
			yaml:    "policies:\n  - id: p\n    steps:\n      - {id: s, at: 1d, chanels: [sms], template: t}\n",
			wantErr: "chanels",
		},
		{
			name:    "bad duration",
			yaml:    "policies:\n  - id: p\n    steps:\n      - {id: s, at: soon, channels: [sms], template: t}\n",
			wantErr: `policies[0].steps[0].at (line 4): invalid duration "soon"`,
		},
		{
			name:    "bad cap duration",
			yaml:    "compliance:\n  caps:\n    sms: {max: 1, per: daily}\n",
			wantErr: `compliance.caps.sms.per (line 3): invalid duration "daily"`,
		},
		{
			name:    "not YAML",
			yaml:    "http: [unclosed\n",
			wantErr: "forbear.yaml",
		},
		{
			name:  "one preset",
			yaml:  "compliance:\n  preset: us-regf\n",
			check: wantPresets("us-regf"),
		},
		{
			name:  "presets combined",
			yaml:  "compliance:\n  preset: [us-regf, us-ma]\n",
			check: wantPresets("us-regf", "us-ma"),
		},
		{
			name:  "presets as a block list",
			yaml:  "compliance:\n  preset:\n    - cn-gbt-2025\n    - cn-cba-2026\n",
			check: wantPresets("cn-gbt-2025", "cn-cba-2026"),
		},
		{
			name:  "no preset",
			yaml:  "compliance:\n  preset:\n",
			check: wantPresets(),
		},
		{
			name:    "a preset that is a mapping",
			yaml:    "compliance:\n  preset: {name: us-regf}\n",
			wantErr: "compliance.preset (line 2): must be a preset name or a list of preset names",
		},
		{
			name:    "a preset list holding a list",
			yaml:    "compliance:\n  preset: [us-regf, [us-ma]]\n",
			wantErr: "compliance.preset[1] (line 2): must be a preset name",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.LoadUnchecked(writeFile(t, tt.yaml), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: err = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.yaml")
	if _, err := config.LoadUnchecked(path, nil); err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("Load(missing) err = %v, want one naming the file", err)
	}
}
