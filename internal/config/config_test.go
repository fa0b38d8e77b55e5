package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/config"
)

const day = 24 * time.Hour

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "-3d", want: -3 * day},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "36h", want: 36 * time.Hour},
		{in: "1s", want: time.Second},
		{in: "1.5d", want: 36 * time.Hour},
		{in: ".5d", want: 12 * time.Hour},
		{in: "+2d", want: 2 * day},
		{in: "-1d12h", want: -36 * time.Hour},
		{in: "29d", want: 29 * day},
		{in: "0", want: 0},
		{in: "  7d  ", want: 7 * day},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "", wantErr: true},
		{in: "   ", wantErr: true},
		{in: "-", wantErr: true},
		{in: "+", wantErr: true},
		{in: "d", wantErr: true},
		{in: "3", wantErr: true},
		{in: "3x", wantErr: true},
		{in: "1dd", wantErr: true},
		{in: "1h2d", wantErr: true},
		{in: "3d-1h", wantErr: true},
		{in: "--3d", wantErr: true},
		{in: "+-1h", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "NaNd", wantErr: true},
		{in: "Infd", wantErr: true},
		{in: "1e3d", wantErr: true},
		{in: "1_0d", wantErr: true},
		{in: "1000000d", wantErr: true},
		{in: "106751d24h", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := config.ParseDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDuration(%q) = %v, %v; wantErr %v", tt.in, got, err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDurationText(t *testing.T) {
	t.Parallel()
	var d config.Duration
	if err := d.UnmarshalText([]byte("1d12h")); err != nil {
		t.Fatal(err)
	}
	if d.D() != 36*time.Hour {
		t.Errorf("D() = %v, want 36h", d.D())
	}
	b, err := d.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var back config.Duration
	if err := back.UnmarshalText(b); err != nil || back != d {
		t.Errorf("round trip of %q = %v, %v; want %v", b, back.D(), err, d.D())
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("UnmarshalText(soon): want an error")
	}
}

// specYAML is the example of spec §2, with the voice provider's
// "{...same keys...}" written out.
const specYAML = `
http:
  listen: 127.0.0.1:8080
auth:                       # no tokens + loopback listen = open, with a warning.
  tokens:                   # no tokens + non-loopback listen = refuse to start.
    - {name: backend, token: "t-backend", roles: [publisher]}
    - {name: ops,     token: "t-ops",     roles: [ops]}       # templates, policies
    - {name: desk,    token: "t-desk",    roles: [support]}   # mutes, borrower reads
    - {name: root,    token: "t-root",    roles: [admin]}     # everything
data_dir: ./forbear-data
nats:
  url: ""                   # empty: run the embedded server
  embedded:
    listen: 127.0.0.1:4222  # "" = in-process connections only
scheduler:
  sweep: "@every 1m"        # robfig/cron spec; CRON_TZ= prefix allowed
  timezone: Asia/Shanghai   # default borrower timezone when a borrower has none
providers:
  sms:   {kind: twilio, from: "+15005550006",
          twilio: {account_sid: ACxxxxxxxx, auth_token: xxxx, api_base_url: ""}}
  voice: {kind: twilio, from: "+15005550006", twilio: {account_sid: ACyyyyyyyy, auth_token: yyyy, api_base_url: "http://127.0.0.1:9999"}}
  email: {kind: smtp, from: "collections@example.com",
          smtp: {host: 127.0.0.1, port: 2525, username: "", password: "", tls: none}}  # none|starttls|tls
  inapp: {kind: inbox}
  # kind: sandbox (default for every channel with no provider) -> local outbox.
  # twilio.api_base_url: when set, every Twilio REST call goes to that base
  # instead of https://api.twilio.com (tests, proxies, regional gateways).
compliance:
  send_window: {start: "08:00", end: "21:00"}   # borrower local time
  caps:                                         # rolling windows, per borrower
    sms:   {max: 3, per: 24h}
    voice: {max: 7, per: 168h}
policies:
  - id: standard
    category: collection          # suppressed by an active agreement on the loan
    steps:
      - {id: pre-due,  at: -3d, channels: [sms, inapp],  template: pre_due}
      - {id: overdue,  at: 1d,  every: 3d, until: 29d, channels: [sms], template: overdue}
      - {id: call,     at: 7d,  every: 2d, channels: [voice], template: call}
  - id: plan                      # reminders of an active agreement's instalments
    category: agreement           # never suppressed by that agreement
    anchor: installment           # at/every count from each instalment's due date
    steps:
      - {id: before, at: -2d, channels: [sms, inapp], template: installment_due}
      - {id: missed, at: 1d,  channels: [sms, inapp], template: installment_missed}
agreements:
  policy: plan                    # the policy that agreement.activated starts
templates_dir: ./templates        # loaded into the template store when it is empty
`

// writeFile writes a config file into a fresh temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "forbear.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSpecExample(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(writeFile(t, specYAML), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	// "These keys must work as shown": the example validates as is,
	// short tokens such as "t-ops" included.
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate(spec example) = %v, want nil", err)
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
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(cfg, config.Default()) {
		t.Errorf("Load(\"\", nil) = %+v, want Default()", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v, want nil", err)
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
			name: "no caps key keeps the default caps",
			yaml: "compliance:\n  send_window: {start: \"00:00\", end: \"24:00\"}\n",
			check: func(t *testing.T, c config.Config) {
				if !reflect.DeepEqual(c.Compliance.Caps, config.Default().Compliance.Caps) {
					t.Errorf("caps = %v, want the defaults", c.Compliance.Caps)
				}
				if err := c.Validate(); err != nil {
					t.Errorf("00:00-24:00 window: Validate = %v", err)
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
			cfg, err := config.Load(writeFile(t, tt.yaml), nil)
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

// wantPresets checks compliance.preset as loaded.
func wantPresets(names ...string) func(t *testing.T, c config.Config) {
	return func(t *testing.T, c config.Config) {
		t.Helper()
		if !slices.Equal(c.Compliance.Preset, config.Presets(names)) {
			t.Errorf("preset = %q, want %q", c.Compliance.Preset, names)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.yaml")
	if _, err := config.Load(path, nil); err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("Load(missing) err = %v, want one naming the file", err)
	}
}

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	file := "scheduler:\n  sweep: \"@every 5m\"\ndata_dir: /from/file\nproviders:\n  sms: {kind: twilio, twilio: {auth_token: from-file}}\n"
	tests := []struct {
		name    string
		environ []string
		check   func(t *testing.T, c config.Config)
		wantErr []string // substrings of the error
	}{
		{
			name:    "inbox stream caps",
			environ: []string{"FORBEAR_HTTP_INBOX_STREAMS_PER_TOKEN=2", "FORBEAR_HTTP_INBOX_STREAMS_PER_BORROWER=3"},
			check: func(t *testing.T, c config.Config) {
				if c.HTTP.InboxStreams != (config.StreamCaps{PerToken: 2, PerBorrower: 3}) {
					t.Errorf("inbox streams = %+v, want env's 2 and 3", c.HTTP.InboxStreams)
				}
			},
		},
		{
			name:    "scheduler sweep",
			environ: []string{"FORBEAR_SCHEDULER_SWEEP=@every 10s"},
			check: func(t *testing.T, c config.Config) {
				if c.Scheduler.Sweep != "@every 10s" {
					t.Errorf("sweep = %q, want env's", c.Scheduler.Sweep)
				}
			},
		},
		{
			name:    "twilio auth token",
			environ: []string{"FORBEAR_PROVIDERS_SMS_TWILIO_AUTH_TOKEN=s3cret"},
			check: func(t *testing.T, c config.Config) {
				if c.Providers.SMS.Twilio.AuthToken != "s3cret" || c.Providers.SMS.Kind != "twilio" {
					t.Errorf("sms = %+v, want env's auth token over the file's", c.Providers.SMS)
				}
			},
		},
		{
			name:    "presets as a comma-separated list",
			environ: []string{"FORBEAR_COMPLIANCE_PRESET=us-regf, us-ma"},
			check:   wantPresets("us-regf", "us-ma"),
		},
		{
			name:    "data dir",
			environ: []string{"FORBEAR_DATA_DIR=/from/env"},
			check: func(t *testing.T, c config.Config) {
				if c.DataDir != "/from/env" {
					t.Errorf("data_dir = %q, want /from/env", c.DataDir)
				}
			},
		},
		{
			name: "several kinds of values",
			environ: []string{
				"PATH=/usr/bin", "FORBEAR_HTTP_LISTEN=127.0.0.1:9090", "FORBEAR_NATS_EMBEDDED_LISTEN=",
				"FORBEAR_PROVIDERS_VOICE_CONCURRENCY=9", "FORBEAR_PROVIDERS_SMS_RATE_PER_SECOND=1.5",
				"FORBEAR_PROVIDERS_EMAIL_SMTP_INSECURE_SKIP_VERIFY=true", "FORBEAR_SCHEDULER_CATCH_UP=2d",
				"FORBEAR_COMPLIANCE_SEND_WINDOW_START=09:30", "NOT_FORBEAR_DATA_DIR=/x", "FORBEAR_NO_EQUALS",
			},
			check: func(t *testing.T, c config.Config) {
				if c.HTTP.Listen != "127.0.0.1:9090" || c.NATS.Embedded.Listen != "" ||
					c.Providers.Voice.Concurrency != 9 || c.Providers.SMS.RatePerSecond != 1.5 ||
					!c.Providers.Email.SMTP.InsecureSkipVerify || c.Scheduler.CatchUp.D() != 2*day ||
					c.Compliance.SendWindow.Start != "09:30" || c.DataDir != "/from/file" {
					t.Errorf("env not applied as expected: %+v", c)
				}
			},
		},
		{
			name:    "http limits",
			environ: []string{"FORBEAR_HTTP_IDLE_TIMEOUT=30s", "FORBEAR_HTTP_MAX_CONNECTIONS=500", "FORBEAR_HTTP_MAX_HEADER_BYTES=8192"},
			check: func(t *testing.T, c config.Config) {
				if c.HTTP.IdleTimeout.D() != 30*time.Second || c.HTTP.MaxConnections != 500 || c.HTTP.MaxHeaderBytes != 8192 {
					t.Errorf("http = %+v, want env's idle timeout and limits", c.HTTP)
				}
			},
		},
		{
			name:    "no env keeps the file",
			environ: nil,
			check: func(t *testing.T, c config.Config) {
				if c.Scheduler.Sweep != "@every 5m" || c.DataDir != "/from/file" || c.Providers.SMS.Twilio.AuthToken != "from-file" {
					t.Errorf("file values lost: %+v", c)
				}
			},
		},
		{
			name:    "bad integer names the variable",
			environ: []string{"FORBEAR_PROVIDERS_SMS_CONCURRENCY=abc"},
			wantErr: []string{"FORBEAR_PROVIDERS_SMS_CONCURRENCY", "providers.sms.concurrency", "abc"},
		},
		{
			name:    "bad duration names the variable",
			environ: []string{"FORBEAR_DISPATCHER_ACK_WAIT=forever"},
			wantErr: []string{"FORBEAR_DISPATCHER_ACK_WAIT", "forever"},
		},
		{
			name:    "bad bool names the variable",
			environ: []string{"FORBEAR_PROVIDERS_EMAIL_SMTP_INSECURE_SKIP_VERIFY=maybe"},
			wantErr: []string{"FORBEAR_PROVIDERS_EMAIL_SMTP_INSECURE_SKIP_VERIFY"},
		},
		{
			name:    "bad float names the variable",
			environ: []string{"FORBEAR_PROVIDERS_SMS_RATE_PER_SECOND=fast"},
			wantErr: []string{"FORBEAR_PROVIDERS_SMS_RATE_PER_SECOND"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Load(writeFile(t, file), tt.environ)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Load: no error, want one naming %q", tt.wantErr)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Load: err = %q, want it to name %q", err, s)
					}
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

func TestValidate(t *testing.T) {
	t.Parallel()
	tok := func(name, token string, roles ...string) config.Token {
		return config.Token{Name: name, Token: token, Roles: roles}
	}
	tests := []struct {
		name    string
		modify  func(c *config.Config)
		wantErr []string // substrings; nil means valid
	}{
		{name: "defaults", modify: func(*config.Config) {}},
		{
			name: "tokens on a public listener",
			modify: func(c *config.Config) {
				c.HTTP.Listen = "0.0.0.0:8080"
				c.Auth.Tokens = []config.Token{tok("backend", "t-backend-123", "publisher"), tok("root", "t-root-1234", "admin", "ops")}
			},
		},
		{name: "open on localhost", modify: func(c *config.Config) { c.HTTP.Listen = "localhost:8080" }},
		{name: "open on IPv6 loopback", modify: func(c *config.Config) { c.HTTP.Listen = "[::1]:0" }},
		{name: "external NATS needs no data dir", modify: func(c *config.Config) { c.DataDir = ""; c.NATS.URL = "nats://127.0.0.1:4222" }},
		{name: "in-process NATS", modify: func(c *config.Config) { c.NATS.Embedded.Listen = "" }},
		{name: "no send window, no caps", modify: func(c *config.Config) { c.Compliance = config.Compliance{} }},
		{name: "every provider kind", modify: func(c *config.Config) {
			c.Providers.SMS.Kind, c.Providers.Voice.Kind, c.Providers.Email.Kind, c.Providers.InApp.Kind = "twilio", "twilio", "smtp", "sandbox"
		}},
		{name: "empty kinds mean sandbox", modify: func(c *config.Config) { c.Providers = config.Providers{} }},
		{
			name:    "bad http.listen",
			modify:  func(c *config.Config) { c.HTTP.Listen = "8080" },
			wantErr: []string{"http.listen", `"8080"`},
		},
		{
			name:    "bad nats.embedded.listen",
			modify:  func(c *config.Config) { c.NATS.Embedded.Listen = "localhost" },
			wantErr: []string{"nats.embedded.listen"},
		},
		{
			name:    "no data dir",
			modify:  func(c *config.Config) { c.DataDir = "" },
			wantErr: []string{"data_dir"},
		},
		{
			name: "unknown role",
			modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("backend", "t-backend-123", "publisher", "superuser")}
			},
			wantErr: []string{"auth.tokens[0].roles[1]", "superuser"},
		},
		{
			name:    "no roles",
			modify:  func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("backend", "t-backend-123")} },
			wantErr: []string{"auth.tokens[0].roles"},
		},
		{
			name: "duplicate token",
			modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("a", "same-token-1", "ops"), tok("b", "same-token-1", "support")}
			},
			wantErr: []string{"auth.tokens[1].token", "twice"},
		},
		{
			name: "duplicate name",
			modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("a", "token-one-1", "ops"), tok("a", "token-two-2", "support")}
			},
			wantErr: []string{"auth.tokens[1].name", `"a"`},
		},
		{
			name:    "missing name",
			modify:  func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("", "token-one-1", "ops")} },
			wantErr: []string{"auth.tokens[0].name"},
		},
		{
			name:    "empty token",
			modify:  func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("a", "", "ops")} },
			wantErr: []string{"auth.tokens[0].token", "required"},
		},
		{
			name: "blank token",
			modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("a", "t-ok", "ops"), tok("b", "   ", "ops")}
			},
			wantErr: []string{"auth.tokens[1].token", "required"},
		},
		{
			name:   "short tokens as in the spec example",
			modify: func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("ops", "t-ops", "ops")} },
		},
		{
			name:    "no tokens on a public listener refuses",
			modify:  func(c *config.Config) { c.HTTP.Listen = "0.0.0.0:8080" },
			wantErr: []string{"auth.tokens", "0.0.0.0:8080", "loopback"},
		},
		{
			name:    "no tokens on all interfaces refuses",
			modify:  func(c *config.Config) { c.HTTP.Listen = ":8080" },
			wantErr: []string{"auth.tokens"},
		},
		{
			name:    "bad send window start",
			modify:  func(c *config.Config) { c.Compliance.SendWindow.Start = "8am" },
			wantErr: []string{"compliance.send_window.start", "8am"},
		},
		{
			name:    "bad send window end",
			modify:  func(c *config.Config) { c.Compliance.SendWindow.End = "25:00" },
			wantErr: []string{"compliance.send_window.end", "25:00"},
		},
		{
			name:    "half a send window",
			modify:  func(c *config.Config) { c.Compliance.SendWindow = config.Window{Start: "08:00"} },
			wantErr: []string{"compliance.send_window.end"},
		},
		{
			name:    "bad timezone",
			modify:  func(c *config.Config) { c.Scheduler.Timezone = "Mars/Olympus_Mons" },
			wantErr: []string{"scheduler.timezone", "Mars/Olympus_Mons"},
		},
		{
			name:    "no sweep",
			modify:  func(c *config.Config) { c.Scheduler.Sweep = "" },
			wantErr: []string{"scheduler.sweep"},
		},
		{
			name:    "bad sms provider kind",
			modify:  func(c *config.Config) { c.Providers.SMS.Kind = "smtp" },
			wantErr: []string{"providers.sms.kind", `"smtp"`},
		},
		{
			name:    "bad email provider kind",
			modify:  func(c *config.Config) { c.Providers.Email.Kind = "carrier-pigeon" },
			wantErr: []string{"providers.email.kind", "carrier-pigeon"},
		},
		{
			name:    "negative concurrency",
			modify:  func(c *config.Config) { c.Providers.Voice.Concurrency = -1 },
			wantErr: []string{"providers.voice.concurrency"},
		},
		{
			name: "cap on an unknown channel",
			modify: func(c *config.Config) {
				c.Compliance.Caps = map[string]config.Cap{"fax": {Max: 1, Per: config.Duration(day)}}
			},
			wantErr: []string{"compliance.caps.fax"},
		},
		{
			name:    "negative cap",
			modify:  func(c *config.Config) { c.Compliance.Caps = map[string]config.Cap{"sms": {Max: -1}} },
			wantErr: []string{"compliance.caps.sms"},
		},
		{
			name:    "fence lease too short",
			modify:  func(c *config.Config) { c.Dispatcher.FenceLease = config.Duration(time.Millisecond) },
			wantErr: []string{"dispatcher.fence_lease"},
		},
		{
			name:    "sweep budget unset",
			modify:  func(c *config.Config) { c.Scheduler.SweepBudget = 0 },
			wantErr: []string{"scheduler.sweep_budget: must be at least 1s"},
		},
		{
			name:    "sweep budget negative",
			modify:  func(c *config.Config) { c.Scheduler.SweepBudget = config.Duration(-time.Minute) },
			wantErr: []string{"scheduler.sweep_budget"},
		},
		{
			name: "inbox stream caps of zero",
			modify: func(c *config.Config) {
				c.HTTP.InboxStreams = config.StreamCaps{}
			},
			wantErr: []string{"http.inbox_streams.per_token", "http.inbox_streams.per_borrower"},
		},
		{
			name:    "inbox stream cap too large",
			modify:  func(c *config.Config) { c.HTTP.InboxStreams.PerBorrower = config.MaxStreamCap + 1 },
			wantErr: []string{"http.inbox_streams.per_borrower"},
		},
		{
			name:   "inbox stream caps of one",
			modify: func(c *config.Config) { c.HTTP.InboxStreams = config.StreamCaps{PerToken: 1, PerBorrower: 1} },
		},
		{
			name:    "ack wait too short",
			modify:  func(c *config.Config) { c.Dispatcher.AckWait = config.Duration(time.Second) },
			wantErr: []string{"dispatcher.ack_wait"},
		},
		{
			name:    "no read timeout",
			modify:  func(c *config.Config) { c.HTTP.ReadTimeout = 0 },
			wantErr: []string{"http.read_timeout", "at least"},
		},
		{
			name:    "no idle timeout",
			modify:  func(c *config.Config) { c.HTTP.IdleTimeout = 0 },
			wantErr: []string{"http.idle_timeout"},
		},
		{
			name:    "header timeout beyond the read timeout",
			modify:  func(c *config.Config) { c.HTTP.ReadHeaderTimeout = config.Duration(2 * time.Minute) },
			wantErr: []string{"http.read_header_timeout", "http.read_timeout"},
		},
		{
			name:    "write timeout shorter than the read timeout",
			modify:  func(c *config.Config) { c.HTTP.WriteTimeout = config.Duration(30 * time.Second) },
			wantErr: []string{"http.write_timeout", "http.read_timeout"},
		},
		{
			name:    "tiny header limit",
			modify:  func(c *config.Config) { c.HTTP.MaxHeaderBytes = 100 },
			wantErr: []string{"http.max_header_bytes"},
		},
		{
			name:    "negative connection cap",
			modify:  func(c *config.Config) { c.HTTP.MaxConnections = -1 },
			wantErr: []string{"http.max_connections"},
		},
		{
			name:   "explicit connection cap",
			modify: func(c *config.Config) { c.HTTP.MaxConnections = 10 },
		},
		{
			name: "every error is reported",
			modify: func(c *config.Config) {
				c.HTTP.Listen = "nope"
				c.Scheduler.Timezone = "Nowhere/Land"
				c.Providers.InApp.Kind = "twilio"
			},
			wantErr: []string{"http.listen", "scheduler.timezone", "providers.inapp.kind", "auth.tokens"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			tt.modify(&c)
			err := c.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %q", tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Validate() = %q, want it to name %q", err, s)
				}
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen string
		want   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.2:0", true},
		{"localhost:8080", true},
		{"[::1]:8080", true},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"10.0.0.1:8080", false},
		{"example.com:80", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		if got := config.IsLoopback(tt.listen); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.listen, got, tt.want)
		}
	}
}
