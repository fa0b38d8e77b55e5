package channels

import (
	"slices"
	"strings"

	"github.com/forbear/forbear/internal/ground/config"
)

// CheckConfig checks the providers section; each fault names its key. It
// lives here because this package defines what a provider is, and so
// which kinds of provider each channel can have (the packages under it
// implement them). internal/roof/app.CheckConfig runs it with every
// other section's.
func CheckConfig(c config.Providers) error {
	var f config.Faults
	for _, p := range []struct {
		channel string
		config  config.Provider
		kinds   []string
	}{
		{"sms", c.SMS, []string{"sandbox", "twilio"}},
		{"voice", c.Voice, []string{"sandbox", "twilio"}},
		{"email", c.Email, []string{"sandbox", "smtp"}},
		{"inapp", c.InApp, []string{"sandbox", "inbox"}},
	} {
		key := "providers." + p.channel
		if p.config.Kind != "" && !slices.Contains(p.kinds, p.config.Kind) {
			f.Add(key+".kind", "%q is not one of %s", p.config.Kind, strings.Join(p.kinds, ", "))
		}
		if p.config.Concurrency < 0 {
			f.Add(key+".concurrency", "must not be negative")
		}
	}
	return f.Err()
}
