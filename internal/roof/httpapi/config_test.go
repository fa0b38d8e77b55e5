package httpapi_test

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/config/configtest"
	"github.com/forbear/forbear/internal/roof/httpapi"
)

// TestCheckConfig: the http section is checked here, each fault naming
// its key (the cases config's central check had).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []configtest.Case{
		{Name: "defaults", Modify: func(*config.Config) {}},
		{
			Name:    "bad http.listen",
			Modify:  func(c *config.Config) { c.HTTP.Listen = "8080" },
			WantErr: []string{"http.listen", `"8080"`},
		},
		{
			Name: "inbox stream caps of zero",
			Modify: func(c *config.Config) {
				c.HTTP.InboxStreams = config.StreamCaps{}
			},
			WantErr: []string{"http.inbox_streams.per_token", "http.inbox_streams.per_borrower"},
		},
		{
			Name:    "inbox stream cap too large",
			Modify:  func(c *config.Config) { c.HTTP.InboxStreams.PerBorrower = httpapi.MaxStreamCap + 1 },
			WantErr: []string{"http.inbox_streams.per_borrower"},
		},
		{
			Name:   "inbox stream caps of one",
			Modify: func(c *config.Config) { c.HTTP.InboxStreams = config.StreamCaps{PerToken: 1, PerBorrower: 1} },
		},
		{
			Name:    "no read timeout",
			Modify:  func(c *config.Config) { c.HTTP.ReadTimeout = 0 },
			WantErr: []string{"http.read_timeout", "at least"},
		},
		{
			Name:    "no idle timeout",
			Modify:  func(c *config.Config) { c.HTTP.IdleTimeout = 0 },
			WantErr: []string{"http.idle_timeout"},
		},
		{
			Name:    "header timeout beyond the read timeout",
			Modify:  func(c *config.Config) { c.HTTP.ReadHeaderTimeout = config.Duration(2 * time.Minute) },
			WantErr: []string{"http.read_header_timeout", "http.read_timeout"},
		},
		{
			Name:    "write timeout shorter than the read timeout",
			Modify:  func(c *config.Config) { c.HTTP.WriteTimeout = config.Duration(30 * time.Second) },
			WantErr: []string{"http.write_timeout", "http.read_timeout"},
		},
		{
			Name:    "tiny header limit",
			Modify:  func(c *config.Config) { c.HTTP.MaxHeaderBytes = 100 },
			WantErr: []string{"http.max_header_bytes"},
		},
		{
			Name:    "negative connection cap",
			Modify:  func(c *config.Config) { c.HTTP.MaxConnections = -1 },
			WantErr: []string{"http.max_connections"},
		},
		{
			Name:   "explicit connection cap",
			Modify: func(c *config.Config) { c.HTTP.MaxConnections = 10 },
		},
	}
	configtest.Run(t, tests, func(c *config.Config) error { return httpapi.CheckConfig(c.HTTP) })
}
