package app

import (
	"errors"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/retention"
	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/internal/roof/httpapi"
	"github.com/forbear/forbear/internal/support"
	"github.com/forbear/forbear/scheduler"
	"github.com/forbear/forbear/templates"
)

// LoadConfig is the one way to read a configuration ready to run: the
// defaults, the YAML file at path (if not empty) and the FORBEAR_*
// variables of environ (config.LoadUnchecked), then every section's
// check (CheckConfig). On any error it returns the zero Config, so a
// configuration that skipped a check cannot be had from it.
func LoadConfig(path string, environ []string) (config.Config, error) {
	cfg, err := config.LoadUnchecked(path, environ)
	if err != nil {
		return config.Config{}, err
	}
	if err := CheckConfig(&cfg); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// CheckConfig checks a whole configuration: each section by the package
// that uses it, so that the rules for a value stay next to its use, and
// config's own keys by config. Every fault is reported at once, each
// naming its full key ("scheduler.timezone: ..."). New runs it too; a
// caller that changes a loaded configuration (forbear serve's flags)
// runs it before using the result.
func CheckConfig(c *config.Config) error {
	return errors.Join(
		httpapi.CheckConfig(c.HTTP),
		config.CheckOwnKeys(c),
		scheduler.CheckConfig(c.Scheduler),
		auth.CheckConfig(c.Auth, c.HTTP.Listen),
		channels.CheckConfig(c.Providers),
		compliance.CheckConfig(c.Compliance),
		templates.CheckConfig(c.Templates),
		dispatcher.CheckConfig(c.Dispatcher),
		retention.CheckConfig(c.Audit),
		support.CheckConfig(c.Console),
	)
}
