package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
)

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
