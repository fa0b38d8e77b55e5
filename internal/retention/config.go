package retention

import (
	"time"

	"github.com/forbear/forbear/internal/ground/config"
)

// MinAge is the shortest audit.retention besides 0: a borrower idle for
// less than a day may still have a reminder in flight, whose worker reads
// the borrower's records.
const MinAge = 24 * time.Hour

// CheckConfig checks the audit section; each fault names its key. It
// lives here because audit.retention is the age this package's Purger
// keeps records for, so the rule for a safe age stays next to the purge.
// internal/roof/app.CheckConfig runs it with every other section's.
func CheckConfig(c config.Audit) error {
	var f config.Faults
	if r := c.Retention.D(); r != 0 && r < MinAge {
		f.Add("audit.retention", "must be 0 (keep forever) or at least %s, got %s", config.Age(MinAge), c.Retention)
	}
	return f.Err()
}
