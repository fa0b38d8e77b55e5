package config_test

import (
	"testing"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/config/configtest"
)

// TestCheckOwnKeys: data_dir and nats.* are config's own to check; every
// other section's cases moved to the package that checks it, and
// internal/roof/app's TestCheckConfig runs them all together.
func TestCheckOwnKeys(t *testing.T) {
	t.Parallel()
	tests := []configtest.Case{
		{Name: "defaults", Modify: func(*config.Config) {}},
		{Name: "external NATS needs no data dir", Modify: func(c *config.Config) { c.DataDir = ""; c.NATS.URL = "nats://127.0.0.1:4222" }},
		{Name: "in-process NATS", Modify: func(c *config.Config) { c.NATS.Embedded.Listen = "" }},
		{
			Name:    "bad nats.embedded.listen",
			Modify:  func(c *config.Config) { c.NATS.Embedded.Listen = "localhost" },
			WantErr: []string{"nats.embedded.listen"},
		},
		{
			Name:    "no data dir",
			Modify:  func(c *config.Config) { c.DataDir = "" },
			WantErr: []string{"data_dir"},
		},
	}
	configtest.Run(t, tests, func(c *config.Config) error { return config.CheckOwnKeys(c) })
}
