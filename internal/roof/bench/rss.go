package bench

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// rssMeter measures the resident set of each phase of the run: the
// process's high-water mark (Linux's VmHWM, the embedded server included)
// is reset before a phase, after the memory of the phases before has been
// given back to the system, and read after it.
type rssMeter struct {
	// perPhase is false where the mark cannot be reset (not Linux, or
	// /proc/self/clear_refs not writable): each phase's figure is then the
	// peak of the run so far.
	perPhase bool
	peak     float64 // the highest figure read, MiB
}

func newRSSMeter() *rssMeter {
	return &rssMeter{perPhase: resetPeakRSS() == nil}
}

// begin starts a phase.
func (m *rssMeter) begin() {
	m.end() // the phase before, had it failed before reading its own
	if !m.perPhase {
		return
	}
	debug.FreeOSMemory()
	if resetPeakRSS() != nil {
		m.perPhase = false
	}
}

// end returns the phase's peak in MiB.
func (m *rssMeter) end() float64 {
	mib := peakRSS()
	m.peak = max(m.peak, mib)
	return mib
}

// resetPeakRSS sets the process's high-water mark to its current resident
// set (proc(5), /proc/pid/clear_refs, value 5).
func resetPeakRSS() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS reads the process's high-water resident set in MiB (Linux; 0
// elsewhere).
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
