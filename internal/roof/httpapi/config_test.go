package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/roof/httpapi"
)

// TestCheckConfig: the http section is checked here, each fault naming
// its key (the cases config's central check had).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		modify  func(c *config.Config)
		wantErr []string // substrings; nil means valid
	}{
		{name: "defaults", modify: func(*config.Config) {}},
		{
			name:    "bad http.listen",
			modify:  func(c *config.Config) { c.HTTP.Listen = "8080" },
			wantErr: []string{"http.listen", `"8080"`},
		},
		{
			name: "inbox stream caps of zero",
			modify: func(c *config.Config) {
				c.HTTP.InboxStreams = config.StreamCaps{}
			},
			wantErr: []string{"http.inbox_streams.per_token", "http.inbox_streams.per_borrower"},
		},
		{
			name:    "inbox stream cap too large",
			modify:  func(c *config.Config) { c.HTTP.InboxStreams.PerBorrower = httpapi.MaxStreamCap + 1 },
			wantErr: []string{"http.inbox_streams.per_borrower"},
		},
		{
			name:   "inbox stream caps of one",
			modify: func(c *config.Config) { c.HTTP.InboxStreams = config.StreamCaps{PerToken: 1, PerBorrower: 1} },
		},
		{
			name:    "no read timeout",
			modify:  func(c *config.Config) { c.HTTP.ReadTimeout = 0 },
			wantErr: []string{"http.read_timeout", "at least"},
		},
		{
			name:    "no idle timeout",
			modify:  func(c *config.Config) { c.HTTP.IdleTimeout = 0 },
			wantErr: []string{"http.idle_timeout"},
		},
		{
			name:    "header timeout beyond the read timeout",
			modify:  func(c *config.Config) { c.HTTP.ReadHeaderTimeout = config.Duration(2 * time.Minute) },
			wantErr: []string{"http.read_header_timeout", "http.read_timeout"},
		},
		{
			name:    "write timeout shorter than the read timeout",
			modify:  func(c *config.Config) { c.HTTP.WriteTimeout = config.Duration(30 * time.Second) },
			wantErr: []string{"http.write_timeout", "http.read_timeout"},
		},
		{
			name:    "tiny header limit",
			modify:  func(c *config.Config) { c.HTTP.MaxHeaderBytes = 100 },
			wantErr: []string{"http.max_header_bytes"},
		},
		{
			name:    "negative connection cap",
			modify:  func(c *config.Config) { c.HTTP.MaxConnections = -1 },
			wantErr: []string{"http.max_connections"},
		},
		{
			name:   "explicit connection cap",
			modify: func(c *config.Config) { c.HTTP.MaxConnections = 10 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			tt.modify(&c)
			err := httpapi.CheckConfig(c.HTTP)
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
