package httpapi

import (
	"net"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
)

// MaxStreamCap is the largest value either of http.inbox_streams' caps
// may take.
const MaxStreamCap = 1000

// CheckConfig checks the http section; each fault names its key. It lives
// here because this package turns the section into the listener's limits
// (NewHTTPServer, LimitListener) and the inbox streams' caps, so the rules
// for a sound value stay next to their use. internal/roof/app.CheckConfig
// runs it with every other section's.
func CheckConfig(h config.HTTP) error {
	var f config.Faults
	if _, _, err := net.SplitHostPort(h.Listen); err != nil {
		f.Add("http.listen", "%q is not host:port", h.Listen)
	}
	// Each limit must be set: an unbounded one lets slow clients hold
	// connections forever.
	for _, d := range []struct {
		key string
		val config.Duration
	}{
		{"http.read_header_timeout", h.ReadHeaderTimeout},
		{"http.read_timeout", h.ReadTimeout},
		{"http.write_timeout", h.WriteTimeout},
		{"http.idle_timeout", h.IdleTimeout},
	} {
		if d.val.D() < 100*time.Millisecond {
			f.Add(d.key, "must be at least 100ms")
		}
	}
	if h.ReadHeaderTimeout.D() > h.ReadTimeout.D() {
		f.Add("http.read_header_timeout", "must not exceed http.read_timeout (%s), which covers the headers too", h.ReadTimeout.D())
	}
	if h.WriteTimeout.D() < h.ReadTimeout.D() {
		f.Add("http.write_timeout", "must be at least http.read_timeout (%s): it runs while the body is read and the answer written", h.ReadTimeout.D())
	}
	if h.MaxHeaderBytes < 4<<10 {
		f.Add("http.max_header_bytes", "must be at least 4096")
	}
	if h.MaxConnections < 0 {
		f.Add("http.max_connections", "must not be negative (0 derives it from the open-file limit)")
	}
	for _, c := range []struct {
		key string
		val int
	}{
		{"http.inbox_streams.per_token", h.InboxStreams.PerToken},
		{"http.inbox_streams.per_borrower", h.InboxStreams.PerBorrower},
	} {
		if c.val < 1 || c.val > MaxStreamCap {
			f.Add(c.key, "must be between 1 and %d, got %d", MaxStreamCap, c.val)
		}
	}
	return f.Err()
}
