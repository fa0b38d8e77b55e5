package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
)

const day = 24 * time.Hour

// writeFile writes a config file into a fresh temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "forbear.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
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
