package compliance

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// searchHorizon bounds the search for the next instant that is inside the
// window in every zone of a borrower.
const searchHorizon = 48 * time.Hour

// gate evaluates the deferring rules (send window and blackouts).
type gate struct {
	w         Window
	src       Source // of the window
	zs        zoneSet
	blackouts []domain.Blackout
	ch        domain.Channel
	worded    bool // word the reasons (Check), or not (CheckWithoutReason)
}

// windowOK reports whether t is inside the window in the first n zones.
func (g *gate) windowOK(t time.Time, n int) bool {
	if g.w.Always() {
		return true
	}
	for i := 0; i < n; i++ {
		h, m, _ := t.In(g.zs.zone(i)).Clock()
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
	h, m, _ := t.In(g.zs.primary).Clock()
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
		loc := g.zs.zone(i)
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
	return time.Unix(best, 0).In(g.zs.primary), true
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
	n := g.zs.count(true)
	if g.allowed(now, n) {
		return Decision{Allowed: true}
	}
	var until time.Time
	ok := false
	if n == 1 || !g.cannotShare(now, n) {
		until, ok = g.next(now, n)
	}
	// fallback words the zones that share no time, when they do not.
	all := n
	fallback := func() string { return "" }
	if !ok && n > 1 {
		fallback = func() string {
			return fmt.Sprintf("%s share no time inside %s within %s, so the primary zone %s decides; ",
				g.zoneList(all), g.w, fmtDur(searchHorizon), g.zs.primary)
		}
		n = 1
		if g.allowed(now, n) {
			d := Decision{Allowed: true}
			if g.worded {
				d.Reason = RuleSendWindow + "[" + g.src.String() + "]: " + fallback() + "now is inside it"
			}
			return d
		}
		until, ok = g.next(now, n)
	}
	loc := g.zs.primary
	rule, src := RuleSendWindow, g.src
	outside := !g.windowOK(now, n)
	if !outside {
		rule, src = RuleBlackout, blackoutSource
	}
	why := func() string {
		if outside {
			return fallback() + fmt.Sprintf("%s is outside %s", g.localNow(now, n), g.w)
		}
		b := g.blackouts[g.blackout(now)]
		chans := "all channels"
		if len(b.Channels) > 0 {
			chans = string(g.ch)
		}
		return fallback() + fmt.Sprintf("borrower blackout %s-%s %s (%s) covers %s", b.Start, b.End, loc, chans, now.In(loc).Format("15:04"))
	}
	if !ok {
		// Only blackouts can leave no allowed time: they cover the whole
		// window on this channel. Record it rather than retry forever.
		return decision(g.worded, domain.Capped, RuleBlackout, blackoutSource, time.Time{}, func() string {
			return fmt.Sprintf("%s; the borrower's blackouts leave no time inside %s on %s within %s", why(), g.w, g.ch, fmtDur(searchHorizon))
		})
	}
	return decision(g.worded, domain.Deferred, rule, src, until, func() string {
		return fmt.Sprintf("%s; deferred until %s%s", why(), stamp(until, loc), g.elsewhere(until, n))
	})
}

// cannotShare reports, cheaply, that the first n zones (three or more)
// share no time inside the window anywhere within the search horizon, so
// that the exact search can be skipped: a number the data places only by
// its country (an unassigned +1 area code: some 40 zones from Guam to
// Newfoundland) would otherwise cost a search on every check. The zones'
// windows meet only when their UTC offsets fit in an arc shorter than the
// window; within the horizon each offset moves at most once, by an hour
// or less, so an arc 3h longer than the window at now cannot shrink
// enough. Otherwise it reports false and the exact search decides.
func (g *gate) cannotShare(now time.Time, n int) bool {
	const daySecs = 24 * 3600
	var buf [64]int
	if n < 3 || n > len(buf) || g.w.Always() {
		return false
	}
	offs := buf[:n]
	for i := range offs {
		_, off := now.In(g.zs.zone(i)).Zone()
		offs[i] = (off%daySecs + daySecs) % daySecs
	}
	slices.Sort(offs)
	gap := offs[0] + daySecs - offs[n-1]
	for i := 1; i < n; i++ {
		gap = max(gap, offs[i]-offs[i-1])
	}
	return daySecs-gap >= (g.w.End-g.w.Start)*60+3*3600
}

// maxListed bounds how many zones a reason names.
const maxListed = 4

// zoneList names the first n zones and where each comes from.
func (g *gate) zoneList(n int) string {
	var sb strings.Builder
	for i := range min(n, maxListed) {
		if i > 0 {
			sb.WriteString(" and ")
		}
		sb.WriteString(g.zs.zone(i).String())
		switch {
		case i > 0:
			sb.WriteString(" (phone region)")
		case g.zs.stored:
			sb.WriteString(" (stored)")
		default:
			sb.WriteString(" (default)")
		}
	}
	if n > maxListed {
		fmt.Fprintf(&sb, " and %d more zones of the phone number", n-maxListed)
	}
	return sb.String()
}

// localNow renders now in the first n zones: "07:59 Asia/Shanghai".
func (g *gate) localNow(now time.Time, n int) string {
	parts := make([]string, 0, min(n, maxListed))
	for i := range min(n, maxListed) {
		part := now.In(g.zs.zone(i)).Format("15:04") + " " + g.zs.zone(i).String()
		if i > 0 {
			part += " (phone region)"
		}
		parts = append(parts, part)
	}
	s := strings.Join(parts, " / ")
	if n > maxListed {
		s += fmt.Sprintf(" and %d more zones", n-maxListed)
	}
	return s
}

// elsewhere renders until in the other zones: " (08:00 America/New_York)".
func (g *gate) elsewhere(until time.Time, n int) string {
	if n < 2 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(" (")
	for i := 1; i < min(n, maxListed); i++ {
		if i > 1 {
			sb.WriteString(", ")
		}
		sb.WriteString(until.In(g.zs.zone(i)).Format("15:04 ") + g.zs.zone(i).String())
	}
	if n > maxListed {
		fmt.Fprintf(&sb, " and %d more", n-maxListed)
	}
	sb.WriteString(")")
	return sb.String()
}
