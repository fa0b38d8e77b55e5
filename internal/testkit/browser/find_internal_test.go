package browser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBinary(t *testing.T) {
	withChromium := t.TempDir()
	fake := filepath.Join(withChromium, defaultBinary)
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		env      string // FORBEAR_BROWSER
		path     string // PATH
		wantPath string
		wantSkip string // in the skip message
		wantErr  string // in the error
	}{
		{name: "none installed, none required: skip saying how to install",
			path: t.TempDir(), wantSkip: "apt-get install chromium"},
		{name: "chromium on PATH", path: withChromium, wantPath: fake},
		{name: "required and present", env: fake, path: t.TempDir(), wantPath: fake},
		{name: "required and missing: fail, not skip",
			env: "/nonexistent/chromium", path: withChromium, wantErr: EnvBrowser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBrowser, tc.env)
			t.Setenv("PATH", tc.path)
			path, skip, err := findBinary()
			if path != tc.wantPath {
				t.Errorf("path = %q, want %q", path, tc.wantPath)
			}
			if (tc.wantSkip == "") != (skip == "") || !strings.Contains(skip, tc.wantSkip) {
				t.Errorf("skip = %q, want it to contain %q", skip, tc.wantSkip)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want one naming %s", err, tc.wantErr)
			}
		})
	}
}
