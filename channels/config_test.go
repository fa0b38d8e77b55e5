package channels_test

import (
	"testing"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/config/configtest"
)

// TestCheckConfig: the providers section is checked here, each fault
// naming its key (the cases config's central check had).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []configtest.Case{
		{Name: "defaults", Modify: func(*config.Config) {}},
		{Name: "every provider kind", Modify: func(c *config.Config) {
			c.Providers.SMS.Kind, c.Providers.Voice.Kind, c.Providers.Email.Kind, c.Providers.InApp.Kind = "twilio", "twilio", "smtp", "sandbox"
		}},
		{Name: "empty kinds mean sandbox", Modify: func(c *config.Config) { c.Providers = config.Providers{} }},
		{
			Name:    "bad sms provider kind",
			Modify:  func(c *config.Config) { c.Providers.SMS.Kind = "smtp" },
			WantErr: []string{"providers.sms.kind", `"smtp"`},
		},
		{
			Name:    "bad email provider kind",
			Modify:  func(c *config.Config) { c.Providers.Email.Kind = "carrier-pigeon" },
			WantErr: []string{"providers.email.kind", "carrier-pigeon"},
		},
		{
			Name:    "negative concurrency",
			Modify:  func(c *config.Config) { c.Providers.Voice.Concurrency = -1 },
			WantErr: []string{"providers.voice.concurrency"},
		},
	}
	configtest.Run(t, tests, func(c *config.Config) error { return channels.CheckConfig(c.Providers) })
}
