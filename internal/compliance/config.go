package compliance

import (
	"maps"
	"slices"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

// CheckConfig checks the compliance section's send window and caps; each
// fault names its key. It lives here because Compile turns the section
// into Rules, and it reads clocks with Compile's own parser, so a window
// it passes is one Compile reads. internal/roof/app.CheckConfig runs it
// with every other section's.
func CheckConfig(c config.Compliance) error {
	var f config.Faults
	if c.SendWindow.Start != "" || c.SendWindow.End != "" {
		for _, w := range []struct{ key, val string }{
			{"compliance.send_window.start", c.SendWindow.Start},
			{"compliance.send_window.end", c.SendWindow.End},
		} {
			if _, ok := clockMinutes(w.val); !ok {
				f.Add(w.key, "%q is not HH:MM (00:00 to 24:00)", w.val)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Caps)) {
		cp := c.Caps[name]
		if !domain.Channel(name).Valid() {
			f.Add("compliance.caps."+name, "unknown channel")
		}
		if cp.Max < 0 || cp.Per.D() < 0 {
			f.Add("compliance.caps."+name, "max and per must not be negative")
		}
	}
	return f.Err()
}
