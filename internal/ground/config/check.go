package config

import (
	"errors"
	"fmt"
	"net"
)

// Faults gathers what is wrong with a configuration, each fault naming
// its full key ("scheduler.timezone: ..."). Every package's CheckConfig
// writes its faults through it, so that they all read alike and a file
// with several mistakes is reported in one go.
type Faults struct {
	errs []error
}

// Add records that key is wrong; the problem is written as by
// fmt.Sprintf(format, args...).
func (f *Faults) Add(key, format string, args ...any) {
	f.errs = append(f.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// Err joins the faults; nil when there are none.
func (f *Faults) Err() error { return errors.Join(f.errs...) }

// CheckOwnKeys checks the keys of the process as a whole, which no
// package of its own consumes: data_dir, memory_limit_mib and nats.*.
// Every other section is checked by the package that uses it;
// internal/roof/app.CheckConfig runs them all, this one included, and is
// what a caller wants.
func CheckOwnKeys(c *Config) error {
	var f Faults
	if m := c.MemoryLimitMiB; m != 0 && (m < MinMemoryLimitMiB || m > 1<<24) {
		f.Add("memory_limit_mib", "must be 0 (the Go runtime's default) or between %d and %d, got %d", MinMemoryLimitMiB, 1<<24, m)
	}
	if c.DataDir == "" && c.NATS.URL == "" {
		f.Add("data_dir", "is required for the embedded NATS server")
	}
	if c.NATS.Embedded.Listen != "" {
		if _, _, err := net.SplitHostPort(c.NATS.Embedded.Listen); err != nil {
			f.Add("nats.embedded.listen", "%q is not host:port", c.NATS.Embedded.Listen)
		}
	}
	return f.Err()
}
