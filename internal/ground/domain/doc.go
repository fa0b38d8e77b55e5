// Package domain holds the types every part of forbear shares: borrowers,
// cases, agreements, suppressions, reminders and delivery records. It has no
// behaviour beyond small pure helpers, so any package can import it without
// creating a cycle.
package domain
