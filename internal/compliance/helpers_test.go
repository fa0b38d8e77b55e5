package compliance

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/domain"
)

// loc loads a zone or fails the test.
func loc(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := loadZone(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return l
}

// at parses "2006-01-02 15:04" (seconds optional) in zone.
func at(t testing.TB, zone, s string) time.Time {
	t.Helper()
	layout := "2006-01-02 15:04"
	if len(s) > len(layout) {
		layout = "2006-01-02 15:04:05"
	}
	v, err := time.ParseInLocation(layout, s, loc(t, zone))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// utc parses an RFC 3339 instant.
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// compile builds rules from a config fragment or fails the test.
func compile(t testing.TB, c config.Compliance, def *time.Location) Rules {
	t.Helper()
	r, err := Compile(c, def)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return r
}

func reminder(ch domain.Channel, loan string) domain.Reminder {
	return domain.Reminder{ID: loan + "/step/1/" + string(ch), BorrowerID: "b1", LoanID: loan, Channel: ch, Category: domain.Collection}
}

func borrower(zone, phone string, blackouts ...domain.Blackout) domain.Borrower {
	return domain.Borrower{ID: "b1", Timezone: zone, Phone: phone, Blackouts: blackouts}
}

func attempt(ch domain.Channel, loan string, when time.Time, outcome string) Attempt {
	return Attempt{ID: "a-" + when.Format(time.RFC3339Nano) + "-" + string(ch) + "-" + loan, Channel: ch, LoanID: loan, At: when, Outcome: outcome}
}

func durp(d time.Duration) *config.Duration {
	v := config.Duration(d)
	return &v
}

func intp(n int) *int { return &n }
