package scheduler

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"time"
)

const day = 24 * time.Hour

// The dates ParseAnchor accepts. Intake refuses due dates well inside this
// range; the scheduler's own limit is the net under records stored before
// intake checked dates: 0001-01-01 is not a loan's due date but a default
// value, and such a subject is dropped from the index rather than planned.
const (
	minAnchorYear = 1900
	maxAnchorYear = 2999
)

// ErrAnchorOutOfRange is the error ParseAnchor wraps for a well-formed date
// outside the range the scheduler plans.
var ErrAnchorOutOfRange = fmt.Errorf("out of range %d-01-01..%d-12-31", minAnchorYear, maxAnchorYear)

// maxK is the index of the last occurrence any series can have. No policy
// needs more: a step every minute (the shortest Compile accepts) across
// the whole anchor range is about 6e8 occurrences.
const maxK = 1 << 40

// maxOffsetDays bounds the day part of an occurrence's offset (about
// 27,000 years). Beyond it offsets saturate, so OccurrenceAt stays
// monotonic in k and AddDate never sees a day count that wraps; no
// compiled policy gets near it.
const maxOffsetDays = 10_000_000

// Occurrence is the k-th firing (k from 0) of a step.
type Occurrence struct {
	Step string
	K    int
	At   time.Time
}

// ParseAnchor returns 00:00 of date ("YYYY-MM-DD") in loc: the anchor a
// due-date or instalment offset counts from. Where a zone skips midnight
// (a DST change at 00:00) the anchor is the first instant of that day. A
// date outside 1900-01-01..2999-12-31 is refused with an error wrapping
// ErrAnchorOutOfRange.
func ParseAnchor(date string, loc *time.Location) (time.Time, error) {
	if y, m, d, ok := plainDate(date); ok && y >= minAnchorYear && y <= maxAnchorYear {
		// What time.ParseInLocation gives for such a date, without its
		// general layout parser: planning parses a due date every time it
		// plans a subject.
		return time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc), nil
	}
	t, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("scheduler: due date %q: %w", date, err)
	}
	if y := t.Year(); y < minAnchorYear || y > maxAnchorYear {
		return time.Time{}, fmt.Errorf("scheduler: due date %q: %w", date, ErrAnchorOutOfRange)
	}
	return t, nil
}

// plainDate reads "YYYY-MM-DD" naming a day that exists; anything else
// is false (ParseAnchor then leaves it to time.ParseInLocation, whose
// errors say what is wrong).
func plainDate(s string) (y, m, d int, ok bool) {
	if len(s) != len(time.DateOnly) || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	digits := func(part string) (int, bool) {
		n := 0
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, okY := digits(s[:4])
	m, okM := digits(s[5:7])
	d, okD := digits(s[8:])
	if !okY || !okM || !okD || m < 1 || m > 12 || d < 1 {
		return 0, 0, 0, false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return y, m, d, d <= days
}

// AddOffset adds a policy offset to an anchor. The whole days of d
// (truncated toward zero) are calendar days in the anchor's location,
// added with AddDate, so a day is 23 or 25 hours across a DST change and
// "1d" always lands on local midnight; the remainder is absolute time.
func AddOffset(anchor time.Time, d time.Duration) time.Time {
	days := d / day
	rest := d - days*day
	return anchor.AddDate(0, 0, int(days)).Add(rest)
}

// OccurrenceAt is when occurrence k of s fires for anchor, without
// checking that k exists: AddOffset of At + k*Every. The sum is computed
// as days and a remainder in 128 bits, so it never wraps whatever the step
// and however far the anchor is from now (a time.Duration spans only 292
// years); k is clamped to 0..maxK and the result saturates about 27,000
// years from the anchor.
func (s Step) OccurrenceAt(anchor time.Time, k int) time.Time {
	days, rest := s.offset(k)
	return anchor.AddDate(0, 0, int(days)).Add(rest)
}

// offset is At + k*Every as whole days, truncated toward zero as AddOffset
// splits them, and a remainder of the same sign.
func (s Step) offset(k int) (days int64, rest time.Duration) {
	// Floor division: rest in [0, day).
	days, rest = int64(s.At/day), s.At%day
	if rest < 0 {
		days, rest = days-1, rest+day
	}
	if s.Every > 0 && k > 0 {
		k = min(k, maxK)
		// k*Every = k*(everyDays days + everyRest): everyDays < 2^17 and
		// k <= 2^40, so the first product fits in int64; the second takes
		// 128 bits, and its quotient by a day is below 2^41.
		everyDays, everyRest := int64(s.Every/day), s.Every%day
		hi, lo := bits.Mul64(uint64(k), uint64(everyRest))
		q, r := bits.Div64(hi, lo, uint64(day))
		days += int64(k)*everyDays + int64(q)
		rest += time.Duration(r)
		if rest >= day {
			days, rest = days+1, rest-day
		}
	}
	if days < 0 && rest > 0 {
		days, rest = days+1, rest-day // truncate toward zero
	}
	switch {
	case days > maxOffsetDays:
		return maxOffsetDays, 0
	case days < -maxOffsetDays:
		return -maxOffsetDays, 0
	}
	return days, rest
}

// lastK is the index of the last occurrence: 0 for a one-shot step, the
// last one at or before Until for a bounded one, and maxK for a step that
// repeats without end.
func (s Step) lastK() int {
	switch {
	case s.Every <= 0:
		return 0
	case !s.Bounded:
		return maxK
	case s.Until < s.At:
		return 0
	}
	// Until-At overflows int64 when both are extreme; as uint64 it is
	// exact because Until >= At.
	return int(min((uint64(s.Until)-uint64(s.At))/uint64(s.Every), maxK))
}

// maxZoneShift bounds how far calendar days in a zone drift from 24-hour
// days over any span: the largest jump of a zone's UTC offset (Samoa
// skipped a whole day in 2011; LMT to standard time and DST add hours).
const maxZoneShift = 48 * time.Hour

// floor returns the largest k in 0..lastK whose occurrence is at or before
// t (and so, when k < lastK, the next one is after t) with its time, or
// false and the first occurrence's time when even the first is after t.
// (The time comes with it because every caller needs it, and computing an
// occurrence is a calendar addition.) It estimates k from absolute time,
// brackets the estimate by the most that calendar days can drift from it,
// and bisects: a bounded number of steps (about 12 for a step every
// minute, 3 for a daily one, never more than 41) whatever the dates, where
// stepping one period at a time could run for billions.
func (s Step) floor(anchor, t time.Time, lastK int) (int, time.Time, bool) {
	first := s.OccurrenceAt(anchor, 0)
	if first.After(t) {
		return 0, first, false
	}
	if lastK == 0 {
		return 0, first, true
	}
	if last := s.OccurrenceAt(anchor, lastK); !last.After(t) {
		return lastK, last, true
	}
	// Invariant: occurrence lo (at loAt) is at or before t, occurrence hi
	// after it.
	lo, hi, loAt := 0, lastK, first
	// Seconds as float64, not t.Sub: a Duration saturates at 292 years.
	elapsed := float64(t.Unix()-first.Unix()) + float64(t.Nanosecond()-first.Nanosecond())/1e9
	guess := math.Floor(elapsed / s.Every.Seconds())
	// Calendar days rarely drift far enough from the estimate to move it
	// off the answer: try it as is first (two look-ups where the bracket
	// and bisection take about seven; planning runs this for every step of
	// every due subject, millions of times in a dry run).
	if g := int(guess); guess >= 0 && guess < float64(hi) {
		if at := s.OccurrenceAt(anchor, g); !at.After(t) && s.OccurrenceAt(anchor, g+1).After(t) {
			return g, at, true
		}
	}
	slack := math.Ceil(maxZoneShift.Seconds()/s.Every.Seconds()) + 1
	if g := guess - slack; g > float64(lo) && g < float64(hi) {
		if at := s.OccurrenceAt(anchor, int(g)); !at.After(t) {
			lo, loAt = int(g), at
		}
	}
	if g := guess + slack + 1; g > float64(lo) && g < float64(hi) && s.OccurrenceAt(anchor, int(g)).After(t) {
		hi = int(g)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if at := s.OccurrenceAt(anchor, mid); at.After(t) {
			hi = mid
		} else {
			lo, loAt = mid, at
		}
	}
	return lo, loAt, true
}

// Latest returns the latest occurrence of s at or before now that is still
// live. A repeating occurrence stays live until the next one is due; a
// one-shot step, or the last occurrence of a bounded series, stays live
// while now < At+catchUp. Only this occurrence is ever sent: after
// downtime the missed ones are not backfilled.
func (s Step) Latest(anchor, now time.Time, catchUp time.Duration) (Occurrence, bool) {
	lastK := s.lastK()
	k, at, ok := s.floor(anchor, now, lastK)
	if !ok {
		return Occurrence{}, false
	}
	if k == lastK && !now.Before(at.Add(catchUp)) {
		return Occurrence{}, false
	}
	return Occurrence{Step: s.ID, K: k, At: at}, true
}

// Next returns the first occurrence of s strictly after after.
func (s Step) Next(anchor, after time.Time) (time.Time, bool) {
	lastK := s.lastK()
	k, first, ok := s.floor(anchor, after, lastK)
	switch {
	case !ok:
		return first, true
	case k == lastK:
		return time.Time{}, false
	}
	return s.OccurrenceAt(anchor, k+1), true
}

// LoanOccurrenceID is the identity of occurrence k of a due-date step:
// "<loanID>/<stepID>/<k>".
func LoanOccurrenceID(loanID, stepID string, k int) string {
	return loanID + "/" + stepID + "/" + strconv.Itoa(k)
}

// InstallmentOccurrenceID is the identity of occurrence k of an
// instalment step for the i-th (1-based) instalment of an agreement:
// "<agreementID>/<stepID>/<i>-<k>".
func InstallmentOccurrenceID(agreementID, stepID string, i, k int) string {
	return agreementID + "/" + stepID + "/" + strconv.Itoa(i) + "-" + strconv.Itoa(k)
}

// ReminderID is the id of an occurrence's reminder on one channel; it is
// also the Nats-Msg-Id the stream deduplicates on.
func ReminderID(occurrence, channel string) string { return occurrence + "/" + channel }

// around is Latest and Next at once, for planning, which asks both at the
// same instant: one search for the occurrence at or before now instead of
// two. occ and live are what Latest(anchor, now, catchUp) returns, next
// and more what Next(anchor, now) returns.
func (s Step) around(anchor, now time.Time, catchUp time.Duration) (occ Occurrence, live bool, next time.Time, more bool) {
	lastK := s.lastK()
	if s.over(anchor, now, lastK, catchUp) {
		return Occurrence{}, false, time.Time{}, false
	}
	if k, at, next, ok := s.between(anchor, now, lastK); ok {
		return Occurrence{Step: s.ID, K: k, At: at}, true, next, true
	}
	k, at, ok := s.floor(anchor, now, lastK)
	if !ok {
		return Occurrence{}, false, at, true // at is the first occurrence
	}
	if k == lastK {
		if now.Before(at.Add(catchUp)) {
			occ, live = Occurrence{Step: s.ID, K: k, At: at}, true
		}
		return occ, live, time.Time{}, false
	}
	return Occurrence{Step: s.ID, K: k, At: at}, true, s.OccurrenceAt(anchor, k+1), true
}

// over reports, without the calendar, that a step that ends (one-shot or
// bounded) is over at now: its last occurrence is past its catch-up, so
// nothing is live and nothing comes next. The last occurrence lies within
// maxZoneShift of its offset added as absolute time, so now that far
// beyond it (and the catch-up) is surely past it. A loan's plan asks about
// every step of its policy for as long as any of them goes on, and most
// of them are over long before (a one-shot reminder before the due date):
// they cost no calendar arithmetic then.
func (s Step) over(anchor, now time.Time, lastK int, catchUp time.Duration) bool {
	if s.Every > 0 && !s.Bounded {
		return false // never ends
	}
	// For a one-shot step the last offset is At; for a bounded one it is
	// at most Until, so the sum cannot overflow.
	last := s.At
	if lastK > 0 {
		last += time.Duration(lastK) * s.Every
	}
	return !now.Before(anchor.Add(last).Add(maxZoneShift).Add(catchUp))
}

// between finds, for a repeating step, the occurrence k at or before t
// and the next one after it, with two look-ups, when the estimate from
// absolute time is right (calendar days drift from it by hours at most,
// so it almost always is, and both look-ups prove it); false sends the
// caller to floor's search. Planning asks this for every step of every
// due subject: millions of times in a dry run.
func (s Step) between(anchor, t time.Time, lastK int) (k int, at, next time.Time, ok bool) {
	if s.Every <= 0 || lastK == 0 {
		return 0, time.Time{}, time.Time{}, false
	}
	// Seconds as float64, not t.Sub: a Duration saturates at 292 years.
	first := anchor.Add(s.At)
	elapsed := float64(t.Unix()-first.Unix()) + float64(t.Nanosecond()-first.Nanosecond())/1e9
	guess := math.Floor(elapsed / s.Every.Seconds())
	if guess < 0 || guess >= float64(lastK) {
		return 0, time.Time{}, time.Time{}, false
	}
	k = int(guess)
	if at = s.OccurrenceAt(anchor, k); at.After(t) {
		return 0, time.Time{}, time.Time{}, false
	}
	if next = s.OccurrenceAt(anchor, k+1); !next.After(t) {
		return 0, time.Time{}, time.Time{}, false
	}
	return k, at, next, true
}
