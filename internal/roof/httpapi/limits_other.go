//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package httpapi

// openFileLimit is a common default where the limit cannot be read.
func openFileLimit() int { return 1024 }
