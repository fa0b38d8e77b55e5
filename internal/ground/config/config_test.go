package config_test

import (
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/config"
)

// TestCheckOwnKeys: data_dir and nats.* are config's own to check; every
// other section's cases moved to the package that checks it, and
// internal/roof/app's TestCheckConfig runs them all together.
func TestCheckOwnKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		modify  func(c *config.Config)
		wantErr []string // substrings; nil means valid
	}{
		{name: "defaults", modify: func(*config.Config) {}},
		{name: "external NATS needs no data dir", modify: func(c *config.Config) { c.DataDir = ""; c.NATS.URL = "nats://127.0.0.1:4222" }},
		{name: "in-process NATS", modify: func(c *config.Config) { c.NATS.Embedded.Listen = "" }},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			tt.modify(&c)
			err := config.CheckOwnKeys(&c)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckOwnKeys() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckOwnKeys() = nil, want an error naming %q", tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("CheckOwnKeys() = %q, want it to name %q", err, s)
				}
			}
		})
	}
}
