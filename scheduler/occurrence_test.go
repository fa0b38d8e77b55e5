package scheduler

import (
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func mustAnchor(t testing.TB, date string, loc *time.Location) time.Time {
	t.Helper()
	a, err := ParseAnchor(date, loc)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// local builds a wall-clock time in loc.
func local(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, loc)
}

func TestParseAnchor(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	a, err := ParseAnchor("2025-03-13", sh)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 3, 12, 16, 0, 0, 0, time.UTC); !a.Equal(want) {
		t.Errorf("anchor = %s, want %s", a.UTC(), want)
	}
	if _, err := ParseAnchor("13/03/2025", sh); err == nil {
		t.Error("bad date: no error")
	}
}

func TestAddOffset(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	ny := mustZone(t, "America/New_York")
	ldn := mustZone(t, "Europe/London")
	day := 24 * time.Hour
	tests := []struct {
		name   string
		due    string
		loc    *time.Location
		offset time.Duration
		want   time.Time
	}{
		{"negative days", "2025-03-13", sh, -3 * day, local(sh, 2025, 3, 10, 0, 0)},
		{"zero", "2025-03-13", sh, 0, local(sh, 2025, 3, 13, 0, 0)},
		{"negative hours beyond a day", "2025-03-13", sh, -36 * time.Hour, local(sh, 2025, 3, 11, 12, 0)},
		{"day and a half", "2025-03-13", sh, 36 * time.Hour, local(sh, 2025, 3, 14, 12, 0)},
		// New York springs forward on 2025-03-09: that day is 23 hours.
		{"1d into spring-forward day", "2025-03-08", ny, day, local(ny, 2025, 3, 9, 0, 0)},
		{"1d across spring forward is local midnight", "2025-03-09", ny, day, local(ny, 2025, 3, 10, 0, 0)},
		{"-1d across spring forward", "2025-03-10", ny, -day, local(ny, 2025, 3, 9, 0, 0)},
		// The remainder is absolute: 12h after midnight of a 23h day is 13:00.
		{"36h across spring forward", "2025-03-08", ny, 36 * time.Hour, local(ny, 2025, 3, 9, 13, 0)},
		{"7d across fall back", "2025-10-30", ny, 7 * day, local(ny, 2025, 11, 6, 0, 0)},
		// London falls back on 2025-10-26: that day is 25 hours.
		{"1d across fall back", "2025-10-26", ldn, day, local(ldn, 2025, 10, 27, 0, 0)},
		{"-3d across spring forward", "2025-04-01", ldn, -3 * day, local(ldn, 2025, 3, 29, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := AddOffset(mustAnchor(t, tt.due, tt.loc), tt.offset)
			if !got.Equal(tt.want) {
				t.Errorf("AddOffset(%s, %s) = %s, want %s", tt.due, tt.offset, got.In(tt.loc), tt.want)
			}
		})
	}
	// The calendar-day choice, made visible: 1d across a 23h day is 23h.
	a := mustAnchor(t, "2025-03-09", ny)
	if got := AddOffset(a, day).Sub(a); got != 23*time.Hour {
		t.Errorf("1d on the spring-forward day lasts %s, want 23h", got)
	}
	b := mustAnchor(t, "2025-10-26", ldn)
	if got := AddOffset(b, day).Sub(b); got != 25*time.Hour {
		t.Errorf("1d on the fall-back day lasts %s, want 25h", got)
	}
}

func TestStepLatest(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	ny := mustZone(t, "America/New_York")
	ldn := mustZone(t, "Europe/London")
	day := 24 * time.Hour
	catchUp := 24 * time.Hour
	preDue := Step{ID: "pre-due", At: -3 * day}
	overdue := Step{ID: "overdue", At: day, Every: 3 * day, Until: 29 * day, Bounded: true}
	onGrid := Step{ID: "on-grid", At: day, Every: 3 * day, Until: 28 * day, Bounded: true}
	call := Step{ID: "call", At: 7 * day, Every: 2 * day}
	daily := Step{ID: "daily", Every: day}
	tests := []struct {
		name   string
		step   Step
		due    string
		loc    *time.Location
		now    time.Time
		wantK  int
		wantAt time.Time
		wantOK bool
	}{
		{"one-shot before", preDue, "2025-03-13", sh, local(sh, 2025, 3, 9, 23, 59), 0, time.Time{}, false},
		{"one-shot at", preDue, "2025-03-13", sh, local(sh, 2025, 3, 10, 0, 0), 0, local(sh, 2025, 3, 10, 0, 0), true},
		{"one-shot within catch-up", preDue, "2025-03-13", sh, local(sh, 2025, 3, 10, 23, 59), 0, local(sh, 2025, 3, 10, 0, 0), true},
		{"one-shot catch-up expired", preDue, "2025-03-13", sh, local(sh, 2025, 3, 11, 0, 0), 0, time.Time{}, false},
		{"one-shot long after", preDue, "2025-03-13", sh, local(sh, 2025, 6, 1, 0, 0), 0, time.Time{}, false},
		{"repeating first", overdue, "2025-03-01", sh, local(sh, 2025, 3, 2, 0, 0), 0, local(sh, 2025, 3, 2, 0, 0), true},
		{"repeating live until next", overdue, "2025-03-01", sh, local(sh, 2025, 3, 4, 23, 59), 0, local(sh, 2025, 3, 2, 0, 0), true},
		{"repeating second", overdue, "2025-03-01", sh, local(sh, 2025, 3, 5, 0, 0), 1, local(sh, 2025, 3, 5, 0, 0), true},
		{"10 days of downtime: latest only", overdue, "2025-03-01", sh, local(sh, 2025, 3, 12, 9, 0), 3, local(sh, 2025, 3, 11, 0, 0), true},
		// 29d is not on the 3d grid: the last occurrence is at 28d.
		{"last occurrence", overdue, "2025-03-01", sh, local(sh, 2025, 3, 29, 0, 0), 9, local(sh, 2025, 3, 29, 0, 0), true},
		{"last within catch-up", overdue, "2025-03-01", sh, local(sh, 2025, 3, 29, 23, 0), 9, local(sh, 2025, 3, 29, 0, 0), true},
		{"last expired", overdue, "2025-03-01", sh, local(sh, 2025, 3, 30, 0, 0), 0, time.Time{}, false},
		{"until inclusive", onGrid, "2025-03-01", sh, local(sh, 2025, 3, 29, 1, 0), 9, local(sh, 2025, 3, 29, 0, 0), true},
		{"unbounded after months", call, "2025-03-01", sh, local(sh, 2025, 6, 1, 12, 0), 42, local(sh, 2025, 5, 31, 0, 0), true},
		{"unbounded never expires", call, "2025-03-01", sh, local(sh, 2026, 3, 2, 12, 0), 179, local(sh, 2026, 3, 1, 0, 0), true},
		{"daily before spring forward midnight", daily, "2025-03-08", ny, local(ny, 2025, 3, 9, 23, 59), 1, local(ny, 2025, 3, 9, 0, 0), true},
		{"daily after spring forward", daily, "2025-03-08", ny, local(ny, 2025, 3, 10, 0, 0), 2, local(ny, 2025, 3, 10, 0, 0), true},
		{"daily in the long fall-back day", daily, "2025-10-25", ldn, local(ldn, 2025, 10, 26, 23, 59), 1, local(ldn, 2025, 10, 26, 0, 0), true},
		{"daily after fall back", daily, "2025-10-25", ldn, local(ldn, 2025, 10, 27, 0, 0), 2, local(ldn, 2025, 10, 27, 0, 0), true},
		{"negative repeating", Step{ID: "x", At: -2 * day, Every: day, Until: 0, Bounded: true}, "2025-03-13", sh, local(sh, 2025, 3, 12, 8, 0), 1, local(sh, 2025, 3, 12, 0, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.step.Latest(mustAnchor(t, tt.due, tt.loc), tt.now, catchUp)
			if ok != tt.wantOK {
				t.Fatalf("Latest ok = %v (%+v), want %v", ok, got, tt.wantOK)
			}
			if !ok {
				return
			}
			if got.K != tt.wantK || !got.At.Equal(tt.wantAt) || got.Step != tt.step.ID {
				t.Errorf("Latest = {%s %d %s}, want {%s %d %s}", got.Step, got.K, got.At.In(tt.loc), tt.step.ID, tt.wantK, tt.wantAt)
			}
		})
	}
}

func TestStepNext(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	ny := mustZone(t, "America/New_York")
	day := 24 * time.Hour
	preDue := Step{ID: "pre-due", At: -3 * day}
	overdue := Step{ID: "overdue", At: day, Every: 3 * day, Until: 29 * day, Bounded: true}
	daily := Step{ID: "daily", Every: day}
	tests := []struct {
		name   string
		step   Step
		due    string
		loc    *time.Location
		after  time.Time
		want   time.Time
		wantOK bool
	}{
		{"one-shot ahead", preDue, "2025-03-13", sh, local(sh, 2025, 3, 1, 0, 0), local(sh, 2025, 3, 10, 0, 0), true},
		{"one-shot strictly after", preDue, "2025-03-13", sh, local(sh, 2025, 3, 10, 0, 0), time.Time{}, false},
		{"repeating at an occurrence", overdue, "2025-03-01", sh, local(sh, 2025, 3, 5, 0, 0), local(sh, 2025, 3, 8, 0, 0), true},
		{"repeating between", overdue, "2025-03-01", sh, local(sh, 2025, 3, 12, 9, 0), local(sh, 2025, 3, 14, 0, 0), true},
		{"last one", overdue, "2025-03-01", sh, local(sh, 2025, 3, 28, 0, 0), local(sh, 2025, 3, 29, 0, 0), true},
		{"past until", overdue, "2025-03-01", sh, local(sh, 2025, 3, 29, 0, 0), time.Time{}, false},
		{"across spring forward", daily, "2025-03-08", ny, local(ny, 2025, 3, 9, 0, 0), local(ny, 2025, 3, 10, 0, 0), true},
		{"far in the future", daily, "2025-03-08", ny, local(ny, 2027, 7, 4, 12, 0), local(ny, 2027, 7, 5, 0, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.step.Next(mustAnchor(t, tt.due, tt.loc), tt.after)
			if ok != tt.wantOK || (ok && !got.Equal(tt.want)) {
				t.Errorf("Next = %s, %v; want %s, %v", got.In(tt.loc), ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestLatestNextAgree checks, hour by hour over a DST year, that Next
// after an occurrence is the occurrence Latest reports next.
func TestLatestNextAgree(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	day := 24 * time.Hour
	st := Step{ID: "s", At: -36 * time.Hour, Every: 36 * time.Hour}
	anchor := mustAnchor(t, "2025-01-10", ny)
	prev := -1
	var prevAt time.Time
	for now := anchor.Add(-2 * day); now.Before(anchor.Add(400 * day)); now = now.Add(time.Hour) {
		occ, ok := st.Latest(anchor, now, day)
		if !ok {
			continue
		}
		if occ.At.After(now) {
			t.Fatalf("Latest at %s is in the future: %s", now, occ.At)
		}
		if occ.K != prev {
			if prev >= 0 {
				if next, _ := st.Next(anchor, prevAt); !next.Equal(occ.At) {
					t.Fatalf("Next(%s) = %s, but Latest moved to %s", prevAt, next, occ.At)
				}
				if occ.K != prev+1 {
					t.Fatalf("Latest jumped from %d to %d at %s", prev, occ.K, now)
				}
			}
			prev, prevAt = occ.K, occ.At
		}
	}
}

func TestOccurrenceIDs(t *testing.T) {
	t.Parallel()
	if got := LoanOccurrenceID("L1", "pre-due", 0); got != "L1/pre-due/0" {
		t.Errorf("loan id = %q", got)
	}
	if got := InstallmentOccurrenceID("A1", "before", 2, 0); got != "A1/before/2-0" {
		t.Errorf("instalment id = %q", got)
	}
	if got := ReminderID("L1/pre-due/0", "sms"); got != "L1/pre-due/0/sms" {
		t.Errorf("reminder id = %q", got)
	}
}

// TestParseAnchorAsTheTimePackage: ParseAnchor reads a date as
// time.ParseInLocation does, instant and error alike, in zones with and
// without daylight saving time (one that skips midnight included).
func TestParseAnchorAsTheTimePackage(t *testing.T) {
	t.Parallel()
	var zones []*time.Location
	for _, name := range []string{"UTC", "Asia/Shanghai", "America/New_York", "America/Sao_Paulo", "Asia/Beirut", "Pacific/Apia"} {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, l)
	}
	dates := []string{"2026-02-28", "2026-02-29", "2024-02-29", "2000-02-29", "1900-02-29", "2100-02-29", "2026-04-31", "2026-12-31",
		"2026-13-01", "2026-00-10", "2026-01-00", "1899-12-31", "1900-01-01", "2999-12-31", "3000-01-01", "0001-01-01",
		"2026-1-01", "2026/01/01", "20260101", "2026-01-0a", " 2026-01-01", "", "2011-12-30", "2018-11-04", "2022-03-27"}
	for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
		dates = append(dates, d.Format(time.DateOnly))
	}
	for _, loc := range zones {
		for _, date := range dates {
			got, err := ParseAnchor(date, loc)
			want, werr := time.ParseInLocation(time.DateOnly, date, loc)
			if werr == nil && (want.Year() < minAnchorYear || want.Year() > maxAnchorYear) {
				werr = ErrAnchorOutOfRange
			}
			if (err == nil) != (werr == nil) || err == nil && !got.Equal(want) {
				t.Errorf("%s in %s: %v %v, want %v %v", date, loc, got, err, want, werr)
			}
		}
	}
}
