package compliance

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/domain"
)

// Attempt outcomes.
const (
	OutcomePending   = "pending"
	OutcomeSent      = "sent"
	OutcomeRang      = "rang"
	OutcomeNoAnswer  = "no-answer"
	OutcomeVoicemail = "voicemail"
	OutcomeConnected = "connected"
	OutcomeBusy      = "busy"
	OutcomeFailed    = "failed"
	OutcomeCanceled  = "canceled"
)

// Attempt is one contact attempt of a borrower: a message handed to a
// provider or a call placed, with what came of it so far.
type Attempt struct {
	ID      string // the reminder id (or provider reference) of the attempt
	Channel domain.Channel
	LoanID  string
	At      time.Time
	Outcome string // one of the Outcome* constants
	// Started is the wall-clock time of the reservation, just before the
	// provider call. At is on the scheduling clock, which the rules count
	// in; Started is what a provider's own records are compared with when
	// a redelivered reminder looks for its attempt there (the two differ
	// only where the scheduling clock is not the wall clock, as in tests).
	Started time.Time `json:",omitzero"`
}

// Counts reports whether the attempt counts toward caps: everything but
// busy, failed and canceled attempts (which never reached the borrower's
// line). A pending attempt counts: it may yet ring.
func (a Attempt) Counts() bool {
	switch a.Outcome {
	case OutcomeBusy, OutcomeFailed, OutcomeCanceled:
		return false
	}
	return true
}

// Ledger is one borrower's recent contact attempts, oldest first.
type Ledger struct {
	Attempts []Attempt
}

// Prune drops the attempts older than keep before now (use Rules.Keep).
// The result shares l's backing array when nothing in the middle goes.
func (l Ledger) Prune(now time.Time, keep time.Duration) Ledger {
	cut := now.Add(-keep)
	i := 0
	for i < len(l.Attempts) && l.Attempts[i].At.Before(cut) {
		i++
	}
	rest := l.Attempts[i:]
	for j := range rest {
		if rest[j].At.Before(cut) { // out of order: filter into a copy
			out := make([]Attempt, 0, len(rest))
			for _, a := range rest {
				if !a.At.Before(cut) {
					out = append(out, a)
				}
			}
			return Ledger{Attempts: out}
		}
	}
	return Ledger{Attempts: rest}
}

// Decision is the verdict on one reminder at one instant.
type Decision struct {
	// Allowed reminders go out now; the other fields are then empty unless
	// Reason notes a fallback.
	Allowed bool
	// Status is domain.Deferred (hold and try again at Until) or
	// domain.Capped (record, do not send, do not retry).
	Status domain.Status
	// Rule is the rule that decided: send_window, blackout, cap,
	// conversation or connected_per_day.
	Rule string
	// Reason says which rule, which window or cap, which zones and until
	// when, for the delivery record.
	Reason string
	// Until is when to try again (deferred) or when the cap frees
	// (capped; informational).
	Until time.Time
}

// searchHorizon bounds the search for the next instant that is inside the
// window in every zone of a borrower.
const searchHorizon = 48 * time.Hour

// Check decides whether rem may go to b at now, given b's recent attempts.
// Capping rules come first (a capped reminder is not retried), then the
// send window and blackouts, which defer. Attempts carrying rem's own ID
// are ignored, so a redelivered reminder does not cap itself.
func (r Rules) Check(now time.Time, rem domain.Reminder, b domain.Borrower, l Ledger) Decision {
	zs := zonesOf(b.Phone, b.Timezone, r.DefaultZone)
	if rem.Channel == domain.Voice {
		if d, ok := r.checkConversation(now, rem, l, zs.primary()); ok {
			return d
		}
		if d, ok := r.checkConnectedPerDay(now, rem, l, zs.primary()); ok {
			return d
		}
	}
	if d, ok := r.checkCap(now, rem, l, zs.primary()); ok {
		return d
	}
	g := gate{w: r.Window, zs: zs, blackouts: b.Blackouts, ch: rem.Channel}
	return g.decide(now)
}

func (r Rules) checkConversation(now time.Time, rem domain.Reminder, l Ledger, loc *time.Location) (Decision, bool) {
	if r.AfterConversation <= 0 {
		return Decision{}, false
	}
	cut := now.Add(-r.AfterConversation)
	var last time.Time
	for _, a := range l.Attempts {
		if a.Outcome == OutcomeConnected && a.LoanID == rem.LoanID && a.At.After(cut) && a.At.After(last) && a.ID != rem.ID {
			last = a.At
		}
	}
	if last.IsZero() {
		return Decision{}, false
	}
	until := last.Add(r.AfterConversation)
	return Decision{
		Status: domain.Capped, Rule: RuleConversation, Until: until,
		Reason: fmt.Sprintf("conversation: a call about loan %s connected at %s; no calls about that loan for %s after a conversation, until %s",
			rem.LoanID, stamp(last, loc), fmtDur(r.AfterConversation), stamp(until, loc)),
	}, true
}

func (r Rules) checkConnectedPerDay(now time.Time, rem domain.Reminder, l Ledger, loc *time.Location) (Decision, bool) {
	if r.MaxConnectedPerDay <= 0 {
		return Decision{}, false
	}
	lt := now.In(loc)
	y, m, d := lt.Date()
	dayStart := time.Date(y, m, d, 0, 0, 0, 0, loc)
	dayEnd := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	n := 0
	for _, a := range l.Attempts {
		if a.Outcome == OutcomeConnected && a.Channel == domain.Voice && !a.At.Before(dayStart) && a.At.Before(dayEnd) && a.ID != rem.ID {
			n++
		}
	}
	if n < r.MaxConnectedPerDay {
		return Decision{}, false
	}
	return Decision{
		Status: domain.Capped, Rule: RuleConnectedPerDay, Until: dayEnd,
		Reason: fmt.Sprintf("connected_per_day: %d connected calls on %s (%s), at most %d a day; until %s",
			n, lt.Format(time.DateOnly), loc, r.MaxConnectedPerDay, stamp(dayEnd, loc)),
	}, true
}

func (r Rules) checkCap(now time.Time, rem domain.Reminder, l Ledger, loc *time.Location) (Decision, bool) {
	c, ok := r.Caps[rem.Channel]
	if !ok || c.Max <= 0 || c.Per <= 0 {
		return Decision{}, false
	}
	cut := now.Add(-c.Per)
	n := 0
	for i := range l.Attempts {
		if counted(&l.Attempts[i], &rem, c, cut) {
			n++
		}
	}
	if n < c.Max {
		return Decision{}, false
	}
	// The cap frees when all but Max-1 of the counted attempts have left
	// the window: at the (n-Max)th oldest one's time + Per.
	var buf [32]int64
	times := buf[:0]
	for i := range l.Attempts {
		if counted(&l.Attempts[i], &rem, c, cut) {
			times = append(times, l.Attempts[i].At.UnixNano())
		}
	}
	slices.Sort(times)
	until := time.Unix(0, times[n-c.Max]).Add(c.Per)
	scope := "the borrower"
	if c.PerLoan {
		scope = "loan " + rem.LoanID
	}
	return Decision{
		Status: domain.Capped, Rule: RuleCap, Until: until,
		Reason: fmt.Sprintf("cap: %s %s reached for %s (%d counted in the last %s); frees at %s",
			rem.Channel, c, scope, n, fmtDur(c.Per), stamp(until, loc)),
	}, true
}

// counted reports whether a counts toward cap c for rem: same channel
// (and loan, for a per-loan cap), an outcome that counts, after cut. An
// attempt stamped after now (clock skew between instances) still counts.
func counted(a *Attempt, rem *domain.Reminder, c Cap, cut time.Time) bool {
	return a.Channel == rem.Channel && a.Counts() && a.At.After(cut) &&
		(!c.PerLoan || a.LoanID == rem.LoanID) && a.ID != rem.ID
}

// gate evaluates the deferring rules (send window and blackouts).
type gate struct {
	w         Window
	zs        zoneSet
	blackouts []domain.Blackout
	ch        domain.Channel
}

// windowOK reports whether t is inside the window in the first n zones.
func (g *gate) windowOK(t time.Time, n int) bool {
	if g.w.Always() {
		return true
	}
	for i := 0; i < n; i++ {
		h, m, _ := t.In(g.zs.zones[i]).Clock()
		if !g.w.Contains(h*60 + m) {
			return false
		}
	}
	return true
}

// blackout returns the index of a blackout of g.ch covering t (primary
// zone), or -1.
func (g *gate) blackout(t time.Time) int {
	if len(g.blackouts) == 0 {
		return -1
	}
	h, m, _ := t.In(g.zs.primary()).Clock()
	mm := h*60 + m
	for i := range g.blackouts {
		s, e, ok := g.bounds(i)
		if !ok {
			continue
		}
		if s < e && s <= mm && mm < e || s > e && (mm >= s || mm < e) {
			return i
		}
	}
	return -1
}

// bounds parses blackout i if it applies to g.ch. Unparseable blackouts
// are ignored (intake validates them).
func (g *gate) bounds(i int) (start, end int, ok bool) {
	b := &g.blackouts[i]
	if len(b.Channels) > 0 && !slices.Contains(b.Channels, g.ch) {
		return 0, 0, false
	}
	s, ok1 := clockMinutes(b.Start)
	e, ok2 := clockMinutes(b.End)
	if !ok1 || !ok2 || s == e {
		return 0, 0, false
	}
	return s, e, true
}

func (g *gate) allowed(t time.Time, n int) bool {
	return g.windowOK(t, n) && g.blackout(t) < 0
}

// next returns the earliest instant after now, within searchHorizon, that
// is allowed in the first n zones. The verdict only changes where a
// zone's local clock reaches a window or blackout boundary or where a zone
// changes its UTC offset, so those instants are the only candidates; each
// constant-offset segment of each zone is walked (exact across DST gaps
// and overlaps, where a local time occurs never or twice).
func (g *gate) next(now time.Time, n int) (time.Time, bool) {
	nowU := now.Unix()
	horizon := now.Add(searchHorizon).Unix()
	best := int64(math.MaxInt64)
	consider := func(u int64) {
		if u > nowU && u <= horizon && u < best && g.allowed(time.Unix(u, 0), n) {
			best = u
		}
	}
	for i := 0; i < n; i++ {
		loc := g.zs.zones[i]
		t := now
		for {
			lt := t.In(loc)
			_, off := lt.Zone()
			_, end := lt.ZoneBounds()
			segStart := t.Unix()
			consider(segStart) // an offset change (or now itself, skipped)
			segEnd := horizon + 1
			if !end.IsZero() && end.Unix() < segEnd {
				segEnd = end.Unix()
			}
			// Local midnight of segStart's day, as a Unix time, under off.
			day := floorDiv(segStart+int64(off), 86400)*86400 - int64(off)
			visit := func(m int) {
				for u := day + int64(m)*60; u < segEnd; u += 86400 {
					if u >= segStart {
						consider(u)
					}
				}
			}
			if !g.w.Always() {
				visit(g.w.Start)
				visit(g.w.End)
			}
			if i == 0 {
				for j := range g.blackouts {
					if s, e, ok := g.bounds(j); ok {
						visit(s)
						visit(e)
					}
				}
			}
			if end.IsZero() || end.Unix() > horizon {
				break
			}
			t = end
		}
	}
	if best == math.MaxInt64 {
		return time.Time{}, false
	}
	return time.Unix(best, 0).In(g.zs.primary()), true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// decide applies the send window (in every zone, or in the primary zone
// when the zones share no allowed moment within the horizon) and the
// blackouts.
func (g *gate) decide(now time.Time) Decision {
	n := g.zs.n
	if g.allowed(now, n) {
		return Decision{Allowed: true}
	}
	until, ok := g.next(now, n)
	fallback := ""
	if !ok && n > 1 {
		fallback = fmt.Sprintf("%s share no time inside %s within %s, so the primary zone %s decides; ",
			g.zoneList(), g.w, fmtDur(searchHorizon), g.zs.primary())
		n = 1
		if g.allowed(now, n) {
			return Decision{Allowed: true, Reason: "send_window: " + fallback + "now is inside it"}
		}
		until, ok = g.next(now, n)
	}
	loc := g.zs.primary()
	rule := RuleSendWindow
	var why string
	if !g.windowOK(now, n) {
		why = fmt.Sprintf("%s is outside %s", g.localNow(now, n), g.w)
	} else {
		rule = RuleBlackout
		b := g.blackouts[g.blackout(now)]
		chans := "all channels"
		if len(b.Channels) > 0 {
			chans = string(g.ch)
		}
		why = fmt.Sprintf("borrower blackout %s-%s %s (%s) covers %s", b.Start, b.End, loc, chans, now.In(loc).Format("15:04"))
	}
	if !ok {
		// Only blackouts can leave no allowed time: they cover the whole
		// window on this channel. Record it rather than retry forever.
		return Decision{
			Status: domain.Capped, Rule: RuleBlackout,
			Reason: fmt.Sprintf("blackout: %s%s; the borrower's blackouts leave no time inside %s on %s within %s",
				fallback, why, g.w, g.ch, fmtDur(searchHorizon)),
		}
	}
	return Decision{
		Status: domain.Deferred, Rule: rule, Until: until,
		Reason: fmt.Sprintf("%s: %s%s; deferred until %s%s", rule, fallback, why, stamp(until, loc), g.elsewhere(until, n)),
	}
}

// zoneList names the borrower's zones and where each comes from.
func (g *gate) zoneList() string {
	var sb strings.Builder
	for i := 0; i < g.zs.n; i++ {
		if i > 0 {
			sb.WriteString(" and ")
		}
		sb.WriteString(g.zs.zones[i].String())
		switch {
		case i == 1:
			sb.WriteString(" (phone region)")
		case g.zs.stored:
			sb.WriteString(" (stored)")
		default:
			sb.WriteString(" (default)")
		}
	}
	return sb.String()
}

// localNow renders now in the first n zones: "07:59 Asia/Shanghai".
func (g *gate) localNow(now time.Time, n int) string {
	parts := make([]string, n)
	for i := range n {
		parts[i] = now.In(g.zs.zones[i]).Format("15:04") + " " + g.zs.zones[i].String()
		if n > 1 && i == 1 {
			parts[i] += " (phone region)"
		}
	}
	return strings.Join(parts, " / ")
}

// elsewhere renders until in the other zones: " (08:00 America/New_York)".
func (g *gate) elsewhere(until time.Time, n int) string {
	if n < 2 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(" (")
	for i := 1; i < n; i++ {
		if i > 1 {
			sb.WriteString(", ")
		}
		sb.WriteString(until.In(g.zs.zones[i]).Format("15:04 ") + g.zs.zones[i].String())
	}
	sb.WriteString(")")
	return sb.String()
}

// stamp renders t in loc, RFC 3339 with the offset.
func stamp(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.RFC3339)
}
