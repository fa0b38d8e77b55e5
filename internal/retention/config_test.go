package retention_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/retention"
)

// TestAuditRetention: audit.retention defaults to three years, takes whole
// years, days or Go durations from the file and the environment, 0 for
// forever, and refuses what would purge a borrower with a reminder in
// flight or does not parse, naming the key.
func TestAuditRetention(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tests := []struct {
		name    string
		yaml    string
		environ []string
		want    time.Duration
		wantErr string
	}{
		{name: "default", want: 1095 * day},
		{name: "years", yaml: "audit: {retention: 3y}", want: 1095 * day},
		{name: "days", yaml: "audit: {retention: 2000d}", want: 2000 * day},
		{name: "forever", yaml: "audit: {retention: 0}", want: 0},
		{name: "from the environment", environ: []string{"FORBEAR_AUDIT_RETENTION=7y"}, want: 7 * 365 * day},
		{name: "shorter than a day", yaml: "audit: {retention: 12h}", wantErr: "audit.retention"},
		{name: "negative", yaml: "audit: {retention: -1d}", wantErr: "audit.retention (line 1): invalid age \"-1d\" (negative)"},
		{name: "fraction of a year", yaml: "audit: {retention: 2.5y}", wantErr: "audit.retention (line 1): invalid age \"2.5y\" (whole years"},
		{name: "not an age", environ: []string{"FORBEAR_AUDIT_RETENTION=soon"}, wantErr: "FORBEAR_AUDIT_RETENTION (audit.retention)"},
		{name: "misspelt key", yaml: "audit: {retension: 3y}", wantErr: "retension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.yaml != "" {
				path = filepath.Join(t.TempDir(), "forbear.yaml")
				if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := config.LoadUnchecked(path, tt.environ)
			if err == nil {
				err = retention.CheckConfig(cfg.Audit)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one about %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Audit.Retention.D(); got != tt.want {
				t.Errorf("audit.retention = %s, want %s", got, tt.want)
			}
		})
	}
	if s := config.Age(config.DefaultRetention).String(); s != "1095d" {
		t.Errorf("the default reads %q, want 1095d", s)
	}
}
