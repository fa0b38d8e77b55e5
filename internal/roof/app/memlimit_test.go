package app

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// These tests change a process-wide setting: not parallel, and they put
// it back.
func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	debug.SetMemoryLimit(math.MaxInt64)
	beforeGC := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(beforeGC) })
	gcPercent := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set: SetMemoryLimit leaves the collector's percent to it")
	}

	if got := SetMemoryLimit(0); got != math.MaxInt64 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("0 set a limit: %d", debug.SetMemoryLimit(-1))
	}
	if p := gcPercent(); p != 100 {
		t.Errorf("without a limit the collector's percent is %d, want the runtime's 100", p)
	}
	if got := SetMemoryLimit(512); got != 512<<20 || debug.SetMemoryLimit(-1) != 512<<20 {
		t.Errorf("512 MiB: returned %d, in force %d", got, debug.SetMemoryLimit(-1))
	}
	if p := gcPercent(); p != LimitedGCPercent {
		t.Errorf("under a limit the collector's percent is %d, want %d", p, LimitedGCPercent)
	}
	// GOGC wins over it.
	t.Setenv("GOGC", "100")
	debug.SetGCPercent(100)
	SetMemoryLimit(512)
	if p := gcPercent(); p != 100 {
		t.Errorf("with GOGC=100 the collector's percent is %d, want 100 kept", p)
	}
	// GOMEMLIMIT wins: the runtime read it at start, and forbear leaves it.
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	if got := SetMemoryLimit(256); got != 1<<30 || debug.SetMemoryLimit(-1) != 1<<30 {
		t.Errorf("with GOMEMLIMIT: returned %d, in force %d; want 1 GiB kept", got, debug.SetMemoryLimit(-1))
	}
}
