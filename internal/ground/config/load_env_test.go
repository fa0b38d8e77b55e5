package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
)

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
			cfg, err := config.LoadUnchecked(writeFile(t, file), tt.environ)
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
