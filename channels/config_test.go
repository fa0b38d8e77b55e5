package channels_test

import (
	"strings"
	"testing"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/config"
)

// TestCheckConfig: the providers section is checked here, each fault
// naming its key (the cases config's central check had).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		modify  func(c *config.Config)
		wantErr []string // substrings; nil means valid
	}{
		{name: "defaults", modify: func(*config.Config) {}},
		{name: "every provider kind", modify: func(c *config.Config) {
			c.Providers.SMS.Kind, c.Providers.Voice.Kind, c.Providers.Email.Kind, c.Providers.InApp.Kind = "twilio", "twilio", "smtp", "sandbox"
		}},
		{name: "empty kinds mean sandbox", modify: func(c *config.Config) { c.Providers = config.Providers{} }},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			tt.modify(&c)
			err := channels.CheckConfig(c.Providers)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckConfig() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckConfig() = nil, want an error naming %q", tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("CheckConfig() = %q, want it to name %q", err, s)
				}
			}
		})
	}
}
