package compliance

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
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

// presets compiles rules from preset names alone.
func presets(t testing.TB, def *time.Location, names ...string) Rules {
	t.Helper()
	return compile(t, config.Compliance{Preset: config.Presets(names)}, def)
}

// checked returns b with its number confirmed at when.
func checked(b domain.Borrower, when time.Time, how string) domain.Borrower {
	b.PhoneCheckedAt, b.PhoneCheck = &when, how
	return b
}

// wantHeld fails unless d holds the reminder with the given status and rule,
// names the pack and citation in the decision and at the head of its
// reason, and (when until is not zero) lasts until until.
func wantHeld(t *testing.T, d Decision, status domain.Status, rule, pack, citation string, until time.Time) {
	t.Helper()
	if d.Allowed || d.Status != status || d.Rule != rule {
		t.Fatalf("got allowed=%v %s/%s (%s), want %s/%s", d.Allowed, d.Status, d.Rule, d.Reason, status, rule)
	}
	if d.Pack != pack || d.Citation != citation {
		t.Errorf("source %q %q, want %q %q", d.Pack, d.Citation, pack, citation)
	}
	if prefix := rule + "[" + pack + " " + citation + "]: "; !strings.HasPrefix(d.Reason, prefix) {
		t.Errorf("reason %q does not start with %q", d.Reason, prefix)
	}
	if !until.IsZero() && !d.Until.Equal(until) {
		t.Errorf("Until = %s, want %s (%s)", d.Until, until, d.Reason)
	}
}

// rulesEqual compares rules field by field, DefaultZone by name.
func rulesEqual(a, b Rules) bool {
	za, zb := a.DefaultZone, b.DefaultZone
	a.DefaultZone, b.DefaultZone = nil, nil
	return za.String() == zb.String() && reflect.DeepEqual(a, b)
}
