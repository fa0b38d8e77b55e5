package scheduler

import (
	"fmt"
	"strconv"
	"time"
)

const day = 24 * time.Hour

// Occurrence is the k-th firing (k from 0) of a step.
type Occurrence struct {
	Step string
	K    int
	At   time.Time
}

// ParseAnchor returns 00:00 of date ("YYYY-MM-DD") in loc: the anchor a
// due-date or instalment offset counts from. Where a zone skips midnight
// (a DST change at 00:00) the anchor is the first instant of that day.
func ParseAnchor(date string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("scheduler: due date %q: %w", date, err)
	}
	return t, nil
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
// checking that k exists.
func (s Step) OccurrenceAt(anchor time.Time, k int) time.Time {
	return AddOffset(anchor, s.At+time.Duration(k)*s.Every)
}

// last returns the index of the last occurrence, or false when the step
// repeats without end.
func (s Step) last() (int, bool) {
	if s.Every <= 0 {
		return 0, true
	}
	if !s.Bounded {
		return 0, false
	}
	return int((s.Until - s.At) / s.Every), true
}

// Latest returns the latest occurrence of s at or before now that is still
// live. A repeating occurrence stays live until the next one is due; a
// one-shot step, or the last occurrence of a bounded series, stays live
// while now < At+catchUp. Only this occurrence is ever sent: after
// downtime the missed ones are not backfilled.
func (s Step) Latest(anchor, now time.Time, catchUp time.Duration) (Occurrence, bool) {
	first := s.OccurrenceAt(anchor, 0)
	if now.Before(first) {
		return Occurrence{}, false
	}
	k := 0
	if s.Every > 0 {
		// Estimate with absolute time, then correct: calendar days make a
		// period an hour longer or shorter across DST changes.
		k = int(now.Sub(first) / s.Every)
		for k > 0 && s.OccurrenceAt(anchor, k).After(now) {
			k--
		}
		for !s.OccurrenceAt(anchor, k+1).After(now) {
			k++
		}
	}
	lastK, bounded := s.last()
	if bounded && k >= lastK {
		k = lastK
		at := s.OccurrenceAt(anchor, k)
		if !now.Before(at.Add(catchUp)) {
			return Occurrence{}, false
		}
		return Occurrence{Step: s.ID, K: k, At: at}, true
	}
	return Occurrence{Step: s.ID, K: k, At: s.OccurrenceAt(anchor, k)}, true
}

// Next returns the first occurrence of s strictly after after.
func (s Step) Next(anchor, after time.Time) (time.Time, bool) {
	first := s.OccurrenceAt(anchor, 0)
	if first.After(after) {
		return first, true
	}
	if s.Every <= 0 {
		return time.Time{}, false
	}
	k := int(after.Sub(first)/s.Every) + 1
	for k > 1 && s.OccurrenceAt(anchor, k-1).After(after) {
		k--
	}
	for !s.OccurrenceAt(anchor, k).After(after) {
		k++
	}
	if lastK, bounded := s.last(); bounded && k > lastK {
		return time.Time{}, false
	}
	return s.OccurrenceAt(anchor, k), true
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
