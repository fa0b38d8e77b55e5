//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package httpapi

import (
	"math"
	"syscall"
)

// openFileLimit is the soft RLIMIT_NOFILE (which Go raises to the hard
// limit at start-up).
func openFileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	if rl.Cur > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(rl.Cur)
}
