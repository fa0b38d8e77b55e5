package scheduler

import (
	"math"
	"strings"
	"testing"
	"time"
)

// within runs f and fails the test if it has not returned after d: the
// faults these tests cover were endless loops, which must fail a test
// rather than hang the run.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
	}
}

// dayNumber is the number of the calendar day t falls on in loc, counted
// from 1970-01-01: an oracle for whole-day steps that needs no
// time.Duration (which cannot span more than 292 years).
func dayNumber(t time.Time, loc *time.Location) int64 {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// TestOccurrenceAtExtremes: occurrence k is At + k*Every from the anchor
// for any k a date range of 0001..9999 can need. k*Every used to be a
// time.Duration, which wraps after 292 years.
func TestOccurrenceAtExtremes(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	year1 := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	call := Step{ID: "call", At: 7 * day, Every: 2 * day}
	minute := Step{ID: "minute", Every: time.Minute}
	tests := []struct {
		name string
		step Step
		k    int
		want time.Time
	}{
		{"two-day step, a million periods", call, 1_000_000, year1.AddDate(0, 0, 7+2_000_000)},
		{"two-day step past 292 years", call, 60_000, year1.AddDate(0, 0, 7+120_000)},
		{"minute step, a billion periods", minute, 1_000_000_000,
			year1.AddDate(0, 0, 1_000_000_000/1440).Add(time.Duration(1_000_000_000%1440) * time.Minute)},
		{"negative at, far k", Step{ID: "x", At: -36 * time.Hour, Every: 36 * time.Hour}, 100_000,
			year1.AddDate(0, 0, (100_000*36-36)/24).Add(time.Duration((100_000*36-36)%24) * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.step.OccurrenceAt(year1, tt.k); !got.Equal(tt.want) {
				t.Errorf("OccurrenceAt(0001-01-01, %d) = %s, want %s", tt.k, got, tt.want)
			}
		})
	}
	// Whatever the step, a later occurrence is never earlier, and nothing
	// panics: the arithmetic saturates instead of wrapping.
	hostile := []Step{
		{ID: "max-every", Every: math.MaxInt64},
		{ID: "min-at", At: math.MinInt64, Every: 1},
		{ID: "max-at", At: math.MaxInt64, Every: math.MaxInt64},
	}
	for _, st := range hostile {
		prev := st.OccurrenceAt(year1, 0)
		for _, k := range []int{1, 2, 1 << 20, math.MaxInt32, 1 << 40, math.MaxInt} {
			got := st.OccurrenceAt(year1, k)
			if got.Before(prev) {
				t.Errorf("%s: occurrence %d (%s) before an earlier one (%s)", st.ID, k, got, prev)
			}
			prev = got
		}
	}
}

// TestLatestNextExtremeAnchors: Latest and Next answer at once, and
// sensibly, for anchors at the ends of what time.Parse accepts and for
// extreme policies. They used to loop forever once the anchor was more
// than 292 years from now.
func TestLatestNextExtremeAnchors(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	year := 365 * day
	sh := mustZone(t, "Asia/Shanghai")
	ny := mustZone(t, "America/New_York")
	now := time.Date(2025, 3, 10, 4, 34, 56, 0, time.UTC)
	catchUp := 24 * time.Hour

	call := Step{ID: "call", At: 7 * day, Every: 2 * day}
	overdue := Step{ID: "overdue", At: day, Every: 3 * day, Until: 29 * day, Bounded: true}
	preDue := Step{ID: "pre-due", At: -3 * day}
	minute := Step{ID: "minute", Every: time.Minute}
	wide := Step{ID: "wide", At: -10 * year, Every: 10 * year, Until: 10 * year, Bounded: true}
	tenYears := Step{ID: "ten-years", At: -10 * year, Every: time.Minute, Until: 10 * year, Bounded: true}

	type want struct {
		live bool
		k    int
		at   time.Time
	}
	tests := []struct {
		name   string
		step   Step
		anchor time.Time
		latest want
		// next is Next(anchor, now); zero with nextOK false for none.
		next   time.Time
		nextOK bool
	}{
		{
			name: "0001 UTC, two-day step", step: call, anchor: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
			latest: func() want {
				k := int((dayNumber(now, time.UTC) - dayNumber(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC) - 7) / 2)
				return want{true, k, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7+2*k)}
			}(),
			next:   time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7+2*int((dayNumber(now, time.UTC)-dayNumber(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC)-7)/2+1)),
			nextOK: true,
		},
		{
			name: "1700 Shanghai (LMT), two-day step", step: call, anchor: time.Date(1700, 1, 1, 0, 0, 0, 0, sh),
			latest: func() want {
				a := time.Date(1700, 1, 1, 0, 0, 0, 0, sh)
				k := int((dayNumber(now, sh) - dayNumber(a, sh) - 7) / 2)
				return want{true, k, a.AddDate(0, 0, 7+2*k)}
			}(),
			next: func() time.Time {
				a := time.Date(1700, 1, 1, 0, 0, 0, 0, sh)
				k := int((dayNumber(now, sh) - dayNumber(a, sh) - 7) / 2)
				return a.AddDate(0, 0, 7+2*(k+1))
			}(),
			nextOK: true,
		},
		{
			name: "0001 UTC, minute step", step: minute, anchor: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
			latest: want{true, int((now.Unix() - time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()) / 60), now.Truncate(time.Minute)},
			next:   now.Truncate(time.Minute).Add(time.Minute), nextOK: true,
		},
		{
			name: "0001 UTC, bounded step long over", step: overdue, anchor: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "1700 New York, one-shot long over", step: preDue, anchor: time.Date(1700, 1, 1, 0, 0, 0, 0, ny),
		},
		{
			name: "9999-12-31, two-day step not started", step: call, anchor: time.Date(9999, 12, 31, 0, 0, 0, 0, sh),
			next: time.Date(9999, 12, 31, 0, 0, 0, 0, sh).AddDate(0, 0, 7), nextOK: true,
		},
		{
			name: "9999-12-31, minute step not started", step: minute, anchor: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
			next: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), nextOK: true,
		},
		{
			name: "9999-12-31, ten years either side", step: wide, anchor: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
			next: AddOffset(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), -10*year), nextOK: true,
		},
		{
			name: "0001, minute step over twenty years, long over", step: tenYears, anchor: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "2025, minute step over twenty years, live", step: tenYears, anchor: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
			latest: want{true, int((now.Unix() - AddOffset(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), -10*year).Unix()) / 60), now.Truncate(time.Minute)},
			next:   now.Truncate(time.Minute).Add(time.Minute), nextOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var occ Occurrence
			var live, nextOK bool
			var next time.Time
			within(t, 10*time.Second, "Latest and Next", func() {
				occ, live = tt.step.Latest(tt.anchor, now, catchUp)
				next, nextOK = tt.step.Next(tt.anchor, now)
			})
			if live != tt.latest.live {
				t.Fatalf("Latest live = %v (%+v), want %v", live, occ, tt.latest.live)
			}
			if live && (occ.K != tt.latest.k || !occ.At.Equal(tt.latest.at)) {
				t.Errorf("Latest = k %d at %s, want k %d at %s", occ.K, occ.At.UTC(), tt.latest.k, tt.latest.at.UTC())
			}
			if nextOK != tt.nextOK || (nextOK && !next.Equal(tt.next)) {
				t.Errorf("Next = %s, %v; want %s, %v", next.UTC(), nextOK, tt.next.UTC(), tt.nextOK)
			}
			if live && nextOK && (occ.At.After(now) || !next.After(now)) {
				t.Errorf("Latest %s and Next %s do not straddle now %s", occ.At, next, now)
			}
		})
	}
}

// TestLatestNextHostileSteps: steps no compiled policy can have (every
// of a nanosecond, offsets at the ends of time.Duration) still return at
// once and keep Latest at or before now and Next after it.
func TestLatestNextHostileSteps(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 10, 4, 34, 56, 0, time.UTC)
	anchors := []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1700, 1, 1, 0, 0, 0, 0, mustZone(t, "America/New_York")),
		time.Date(2025, 3, 1, 0, 0, 0, 0, mustZone(t, "Europe/London")),
		time.Date(9999, 12, 31, 0, 0, 0, 0, mustZone(t, "Pacific/Apia")),
	}
	steps := []Step{
		{ID: "ns", Every: 1},
		{ID: "ns-bounded", Every: 1, Until: math.MaxInt64, Bounded: true},
		{ID: "max-every", Every: math.MaxInt64},
		{ID: "min-at", At: math.MinInt64, Every: time.Minute},
		{ID: "max-at", At: math.MaxInt64, Every: time.Hour},
		{ID: "max-at-once", At: math.MaxInt64},
		{ID: "until-before-at", At: time.Hour, Every: time.Minute, Until: -time.Hour, Bounded: true},
		{ID: "sub-day", At: -90 * time.Minute, Every: 25 * time.Minute},
	}
	for _, a := range anchors {
		for _, st := range steps {
			name := a.Format(time.DateOnly) + "/" + st.ID
			within(t, 10*time.Second, name, func() {
				if occ, ok := st.Latest(a, now, 24*time.Hour); ok && occ.At.After(now) {
					t.Errorf("%s: Latest %s is after now", name, occ.At)
				}
				if next, ok := st.Next(a, now); ok && !next.After(now) {
					t.Errorf("%s: Next %s is not after now", name, next)
				}
			})
		}
	}
}

// TestParseAnchorRange: a date no loan can be due on is refused, so a
// record stored before intake checked dates is dropped, not planned.
func TestParseAnchorRange(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	for _, date := range []string{"1900-01-01", "2025-03-13", "2999-12-31"} {
		if _, err := ParseAnchor(date, sh); err != nil {
			t.Errorf("ParseAnchor(%s): %v", date, err)
		}
	}
	for _, date := range []string{"0001-01-01", "1734-06-01", "1899-12-31", "3000-01-01", "9999-12-31"} {
		_, err := ParseAnchor(date, sh)
		if err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("ParseAnchor(%s) err = %v, want out of range", date, err)
		}
	}
}
