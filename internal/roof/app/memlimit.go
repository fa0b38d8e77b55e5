package app

import (
	"os"
	"runtime/debug"
)

// SetMemoryLimit sets the Go runtime's soft memory limit to mib MiB for
// the whole process (config memory_limit_mib), unless the GOMEMLIMIT
// environment variable already set one, which wins. 0 leaves the
// runtime's default. It returns the limit in force, in bytes
// (math.MaxInt64: none).
//
// Why: most of what forbear keeps live is the embedded NATS server's
// index of stored subjects (about 450 MiB with 1,000,000 open cases).
// Without a limit the collector lets the heap grow to twice what is live
// before it runs; with one it runs sooner, and the process stays under
// the limit as long as what is live fits. When it does not, the
// collector takes at most about half the CPU and forbear slows down
// rather than failing: raise the limit.
//
// With the limit it sets, it also lets the heap grow to three times what
// is live before a collection (GC percent LimitedGCPercent, not the
// runtime's 100), unless the GOGC environment variable sets one: the
// limit already bounds the heap, so below it fewer collections cost no
// memory the limit would not allow, and at it the limit decides alone.
// With 1,000,000 open cases nothing changes (twice what is live is
// already at the limit); with fewer, the collector runs half as often
// (forbear bench: about 9% more reminders a second end to end).
func SetMemoryLimit(mib int) int64 {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set || mib <= 0 {
		return debug.SetMemoryLimit(-1) // -1 reads without changing
	}
	debug.SetMemoryLimit(int64(mib) << 20)
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(LimitedGCPercent)
	}
	return int64(mib) << 20
}

// LimitedGCPercent is the collector's percent under the limit
// SetMemoryLimit sets (see there).
const LimitedGCPercent = 200
