package support_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/support"
)

// TestConsolePhoneRegion: console.phone_region defaults to CN (the region
// of the default scheduler.timezone), comes from the file or the
// environment, takes either case, and an unknown region is refused naming
// the key.
func TestConsolePhoneRegion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "forbear.yaml")
	if err := os.WriteFile(file, []byte("console:\n  phone_region: GB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		environ []string
		want    string
		wantErr bool
	}{
		{name: "default", want: "CN"},
		{name: "file", path: file, want: "GB"},
		{name: "env beats file", path: file, environ: []string{"FORBEAR_CONSOLE_PHONE_REGION=US"}, want: "US"},
		{name: "lower case", environ: []string{"FORBEAR_CONSOLE_PHONE_REGION=us"}, want: "us"},
		{name: "unknown region", environ: []string{"FORBEAR_CONSOLE_PHONE_REGION=XX"}, wantErr: true},
		{name: "a country name", environ: []string{"FORBEAR_CONSOLE_PHONE_REGION=China"}, wantErr: true},
		{name: "empty", environ: []string{"FORBEAR_CONSOLE_PHONE_REGION="}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.LoadUnchecked(tt.path, tt.environ)
			if err != nil {
				t.Fatal(err)
			}
			err = support.CheckConfig(c.Console)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "console.phone_region") {
					t.Fatalf("CheckConfig() = %v, want an error naming console.phone_region", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckConfig() = %v", err)
			}
			if c.Console.PhoneRegion != tt.want {
				t.Errorf("console.phone_region = %q, want %q", c.Console.PhoneRegion, tt.want)
			}
		})
	}
}
