package dispatcher

import (
	"time"

	"github.com/forbear/forbear/internal/ground/config"
)

// CheckConfig checks the dispatcher section; each fault names its key. It
// lives here because the section tunes this package's fence
// (FenceOptions.Lease) and workers (WorkerOptions.AckWait), so the rules
// for a sound value stay next to their use. internal/roof/app.CheckConfig
// runs it with every other section's.
func CheckConfig(c config.Dispatcher) error {
	var f config.Faults
	if c.FenceLease.D() < 10*time.Millisecond {
		f.Add("dispatcher.fence_lease", "must be at least 10ms")
	}
	if c.AckWait.D() < 5*time.Second {
		f.Add("dispatcher.ack_wait", "must be at least 5s")
	}
	return f.Err()
}
