package support

import (
	"strings"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/phone"
)

// CheckConfig checks the console section; each fault names its key. It
// lives here, not in the console, because console.phone_region is read by
// this package's Search (Options.PhoneRegion), which the console and the
// HTTP API both call. internal/roof/app.CheckConfig runs it with every
// other section's.
func CheckConfig(c config.Console) error {
	var f config.Faults
	if !phone.ValidRegion(strings.ToUpper(c.PhoneRegion)) {
		f.Add("console.phone_region", "%q is not an ISO 3166 alpha-2 region with phone numbers (CN, US, GB, ...)", c.PhoneRegion)
	}
	return f.Err()
}
