package compliance

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

func TestCheckWindowEdges(t *testing.T) {
	t.Parallel()
	rules := compile(t, config.Compliance{}, nil)
	for _, zone := range []string{"Asia/Shanghai", "America/New_York", "Europe/London"} {
		tests := []struct {
			name      string
			now       string
			wantOK    bool
			wantUntil string // local, in zone
		}{
			{"just before opening", "2026-06-10 07:59", false, "2026-06-10 08:00"},
			{"a second before opening", "2026-06-10 07:59:59", false, "2026-06-10 08:00"},
			{"opening", "2026-06-10 08:00", true, ""},
			{"midday", "2026-06-10 12:34", true, ""},
			{"last minute", "2026-06-10 20:59", true, ""},
			{"last second", "2026-06-10 20:59:59", true, ""},
			{"closing", "2026-06-10 21:00", false, "2026-06-11 08:00"},
			{"late night", "2026-06-10 23:30", false, "2026-06-11 08:00"},
			{"after midnight", "2026-06-11 00:10", false, "2026-06-11 08:00"},
		}
		for _, tt := range tests {
			t.Run(zone+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				now := at(t, zone, tt.now)
				d := rules.Check(now, reminder(domain.SMS, "L1"), borrower(zone, ""), Ledger{})
				if d.Allowed != tt.wantOK {
					t.Fatalf("Allowed = %v, want %v (%s)", d.Allowed, tt.wantOK, d.Reason)
				}
				if tt.wantOK {
					if d.Status != "" || d.Rule != "" || !d.Until.IsZero() {
						t.Errorf("allowed decision carries %+v", d)
					}
					return
				}
				want := at(t, zone, tt.wantUntil)
				if d.Status != domain.Deferred || d.Rule != RuleSendWindow || !d.Until.Equal(want) {
					t.Fatalf("got %s %s until %s, want deferred send_window until %s", d.Status, d.Rule, d.Until, want)
				}
				for _, s := range []string{"send_window", "08:00-21:00", zone, want.Format(time.RFC3339)} {
					if !strings.Contains(d.Reason, s) {
						t.Errorf("reason %q does not mention %q", d.Reason, s)
					}
				}
			})
		}
	}
}

func TestCheckWindowDST(t *testing.T) {
	t.Parallel()
	std := compile(t, config.Compliance{}, nil)
	// Window edges that fall in the DST gap (02:30 does not exist on
	// 2026-03-08 in New York) or overlap (01:30 happens twice on
	// 2026-11-01).
	gap := compile(t, config.Compliance{SendWindow: config.Window{Start: "02:30", End: "21:00"}}, nil)
	overlap := compile(t, config.Compliance{SendWindow: config.Window{Start: "01:30", End: "21:00"}}, nil)
	tests := []struct {
		name   string
		rules  Rules
		zone   string
		now    string // RFC 3339
		wantOK bool
		until  string // RFC 3339
	}{
		// US spring forward 2026-03-08 02:00 EST -> 03:00 EDT.
		{"us spring: evening before", std, "America/New_York", "2026-03-08T02:00:00Z", false, "2026-03-08T12:00:00Z"}, // 21:00 EST -> 08:00 EDT
		{"us spring: inside the gap night", std, "America/New_York", "2026-03-08T06:30:00Z", false, "2026-03-08T12:00:00Z"},
		{"us spring: 07:59 EDT", std, "America/New_York", "2026-03-08T11:59:00Z", false, "2026-03-08T12:00:00Z"},
		{"us spring: 08:00 EDT", std, "America/New_York", "2026-03-08T12:00:00Z", true, ""},
		{"us spring: 20:59 EDT", std, "America/New_York", "2026-03-09T00:59:00Z", true, ""},
		{"us spring: 21:00 EDT", std, "America/New_York", "2026-03-09T01:00:00Z", false, "2026-03-09T12:00:00Z"},
		// US fall back 2026-11-01 02:00 EDT -> 01:00 EST.
		{"us fall: evening before", std, "America/New_York", "2026-11-01T01:00:00Z", false, "2026-11-01T13:00:00Z"}, // 21:00 EDT -> 08:00 EST
		{"us fall: 07:59 EST", std, "America/New_York", "2026-11-01T12:59:00Z", false, "2026-11-01T13:00:00Z"},
		{"us fall: 08:00 EST", std, "America/New_York", "2026-11-01T13:00:00Z", true, ""},
		{"us fall: 21:00 EST", std, "America/New_York", "2026-11-02T02:00:00Z", false, "2026-11-02T13:00:00Z"},
		// Los Angeles, same dates.
		{"la spring: 07:59 PDT", std, "America/Los_Angeles", "2026-03-08T14:59:00Z", false, "2026-03-08T15:00:00Z"},
		{"la fall: 20:59 PST", std, "America/Los_Angeles", "2026-11-02T04:59:00Z", true, ""},
		// London: BST starts 2026-03-29 01:00 GMT, ends 2026-10-25 01:00 GMT.
		{"london spring: evening before", std, "Europe/London", "2026-03-28T21:30:00Z", false, "2026-03-29T07:00:00Z"},
		{"london spring: 08:00 BST", std, "Europe/London", "2026-03-29T07:00:00Z", true, ""},
		{"london spring: 07:59 BST", std, "Europe/London", "2026-03-29T06:59:00Z", false, "2026-03-29T07:00:00Z"},
		{"london fall: evening before", std, "Europe/London", "2026-10-24T22:00:00Z", false, "2026-10-25T08:00:00Z"}, // 23:00 BST -> 08:00 GMT
		{"london fall: 07:59 GMT", std, "Europe/London", "2026-10-25T07:59:00Z", false, "2026-10-25T08:00:00Z"},
		{"london fall: 20:59 GMT", std, "Europe/London", "2026-10-25T20:59:00Z", true, ""},
		// A window start inside the gap opens when the clocks jump (03:00 EDT).
		{"gap start: before the jump", gap, "America/New_York", "2026-03-08T06:59:00Z", false, "2026-03-08T07:00:00Z"},
		{"gap start: after the jump", gap, "America/New_York", "2026-03-08T07:00:00Z", true, ""},
		// A window start in the overlap opens at the first 01:30 (EDT),
		// closes at the fall back to 01:00 EST and opens again at 01:30 EST.
		{"overlap: before first 01:30", overlap, "America/New_York", "2026-11-01T04:50:00Z", false, "2026-11-01T05:30:00Z"},
		{"overlap: first 01:30 EDT", overlap, "America/New_York", "2026-11-01T05:30:00Z", true, ""},
		{"overlap: 01:00 EST again", overlap, "America/New_York", "2026-11-01T06:00:00Z", false, "2026-11-01T06:30:00Z"},
		{"overlap: second 01:30 EST", overlap, "America/New_York", "2026-11-01T06:30:00Z", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := tt.rules.Check(utc(t, tt.now), reminder(domain.SMS, "L1"), borrower(tt.zone, ""), Ledger{})
			if d.Allowed != tt.wantOK {
				t.Fatalf("Allowed = %v, want %v (%s)", d.Allowed, tt.wantOK, d.Reason)
			}
			if !tt.wantOK && !d.Until.Equal(utc(t, tt.until)) {
				t.Fatalf("Until = %s, want %s (%s)", d.Until.UTC(), tt.until, d.Reason)
			}
		})
	}
}

func TestCheckZoneDisagreement(t *testing.T) {
	t.Parallel()
	std := compile(t, config.Compliance{}, loc(t, "Asia/Shanghai"))
	// Two 13-hour windows always overlap somewhere; 8-hour ones need not.
	short := compile(t, config.Compliance{SendWindow: config.Window{Start: "09:00", End: "17:00"}}, loc(t, "Asia/Shanghai"))
	const ny = "+1 212 555 0100"
	tests := []struct {
		name       string
		short      bool
		zone       string // stored
		phone      string
		now        string // RFC 3339
		wantOK     bool
		until      string
		wantReason []string
	}{
		// Summer: Shanghai 08-21 = 00-13Z, New York 08-21 EDT = 12-01Z:
		// they overlap 00-01Z (08-09 Shanghai, 20-21 New York) and 12-13Z
		// (20-21 Shanghai, 08-09 New York).
		{"shanghai+ny: shanghai noon", false, "Asia/Shanghai", ny, "2026-07-10T04:00:00Z", false, "2026-07-10T12:00:00Z",
			[]string{"send_window", "12:00 Asia/Shanghai", "00:00 America/New_York", "(08:00 America/New_York)"}},
		{"shanghai+ny: evening overlap", false, "Asia/Shanghai", ny, "2026-07-10T12:30:00Z", true, "", nil},
		{"shanghai+ny: evening overlap ends", false, "Asia/Shanghai", ny, "2026-07-10T13:00:00Z", false, "2026-07-11T00:00:00Z",
			[]string{"(20:00 America/New_York)"}},
		{"shanghai+ny: morning overlap", false, "Asia/Shanghai", ny, "2026-07-11T00:59:00Z", true, "", nil},
		{"shanghai+ny: morning overlap ends", false, "Asia/Shanghai", ny, "2026-07-11T01:00:00Z", false, "2026-07-11T12:00:00Z", nil},
		// Winter (EST, 13-02Z): one overlap, 00-02Z (08-10 Shanghai).
		{"shanghai+ny winter: 11:00 Shanghai", false, "Asia/Shanghai", ny, "2026-01-10T03:00:00Z", false, "2026-01-11T00:00:00Z", nil},
		{"shanghai+ny winter: 09:59 Shanghai", false, "Asia/Shanghai", ny, "2026-01-10T01:59:00Z", true, "", nil},
		// 09:00-17:00 in Shanghai (01-09Z) and New York in winter (14-22Z)
		// never meet -> the stored zone decides, and the reason says so.
		{"short window, no overlap: fallback allows", true, "Asia/Shanghai", ny, "2026-01-10T02:00:00Z", true, "",
			[]string{"share no time inside 09:00-17:00 within 2d", "Asia/Shanghai (stored) and America/New_York (phone region)", "primary zone Asia/Shanghai"}},
		{"short window, no overlap: fallback defers", true, "Asia/Shanghai", ny, "2026-01-09T23:00:00Z", false, "2026-01-10T01:00:00Z",
			[]string{"share no time", "07:00 Asia/Shanghai is outside 09:00-17:00", "2026-01-10T09:00:00+08:00"}},
		// In summer (EDT, 13-21Z) they still do not meet.
		{"short window, summer: fallback defers", true, "Asia/Shanghai", ny, "2026-07-10T10:00:00Z", false, "2026-07-11T01:00:00Z",
			[]string{"share no time"}},
		// Los Angeles + New York: 11:00-21:00 Eastern.
		{"la+ny: 08:30 ET", false, "America/Los_Angeles", ny, "2026-07-10T12:30:00Z", false, "2026-07-10T15:00:00Z",
			[]string{"05:30 America/Los_Angeles / 08:30 America/New_York (phone region) is outside 08:00-21:00", "2026-07-10T08:00:00-07:00 (11:00 America/New_York)"}},
		{"la+ny: 10:59 ET", false, "America/Los_Angeles", ny, "2026-07-10T14:59:00Z", false, "2026-07-10T15:00:00Z", nil},
		{"la+ny: 11:00 ET", false, "America/Los_Angeles", ny, "2026-07-10T15:00:00Z", true, "", nil},
		{"la+ny: 20:59 ET", false, "America/Los_Angeles", ny, "2026-07-11T00:59:00Z", true, "", nil},
		{"la+ny: 21:00 ET", false, "America/Los_Angeles", ny, "2026-07-11T01:00:00Z", false, "2026-07-11T15:00:00Z", nil},
		// Agreeing zones are one zone.
		{"ny+ny", false, "America/New_York", ny, "2026-07-10T12:00:00Z", true, "", nil},
		// Unknown stored zone: the default (Shanghai) plus the phone zone.
		{"bad zone + london phone: outside london", false, "Mars/Olympus", "+44 20 7946 0000", "2026-07-10T01:00:00Z", false, "2026-07-10T07:00:00Z",
			[]string{"Asia/Shanghai", "Europe/London (phone region)"}},
		{"no zone + unknown +1 area code", false, "", "+1 555 555 0100", "2026-07-10T01:00:00Z", true, "", nil},
		// Phoenix keeps MST all year: 08-21 MST = 15-04Z; New York EDT 12-01Z.
		{"phoenix+ny summer: 07:59 MST", false, "America/Phoenix", ny, "2026-07-10T14:59:00Z", false, "2026-07-10T15:00:00Z", nil},
		{"phoenix+ny summer: 21:00 EDT", false, "America/Phoenix", ny, "2026-07-11T01:00:00Z", false, "2026-07-11T15:00:00Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rules := std
			if tt.short {
				rules = short
			}
			d := rules.Check(utc(t, tt.now), reminder(domain.SMS, "L1"), borrower(tt.zone, tt.phone), Ledger{})
			if d.Allowed != tt.wantOK {
				t.Fatalf("Allowed = %v, want %v (%s)", d.Allowed, tt.wantOK, d.Reason)
			}
			if !tt.wantOK {
				if d.Status != domain.Deferred || d.Rule != RuleSendWindow {
					t.Errorf("got %s/%s, want deferred/send_window", d.Status, d.Rule)
				}
				if !d.Until.Equal(utc(t, tt.until)) {
					t.Errorf("Until = %s, want %s (%s)", d.Until.UTC(), tt.until, d.Reason)
				}
			}
			for _, s := range tt.wantReason {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q does not mention %q", d.Reason, s)
				}
			}
		})
	}
}

func TestCheckBlackout(t *testing.T) {
	t.Parallel()
	std := compile(t, config.Compliance{}, nil)
	open := compile(t, config.Compliance{SendWindow: config.Window{Start: "00:00", End: "24:00"}}, nil)
	const sh = "Asia/Shanghai"
	night := domain.Blackout{Start: "22:00", End: "07:00"}
	work := domain.Blackout{Start: "09:00", End: "17:00", Channels: []domain.Channel{domain.Voice}}
	evening := domain.Blackout{Start: "20:00", End: "09:00"}
	tests := []struct {
		name      string
		rules     Rules
		ch        domain.Channel
		blackouts []domain.Blackout
		now       string // local Shanghai
		wantOK    bool
		wantRule  string
		wantUntil string // local Shanghai
	}{
		{"wrap: late evening", open, domain.SMS, []domain.Blackout{night}, "2026-05-04 23:00", false, RuleBlackout, "2026-05-05 07:00"},
		{"wrap: before end", open, domain.SMS, []domain.Blackout{night}, "2026-05-05 06:59", false, RuleBlackout, "2026-05-05 07:00"},
		{"wrap: at end", open, domain.SMS, []domain.Blackout{night}, "2026-05-05 07:00", true, "", ""},
		{"wrap: before start", open, domain.SMS, []domain.Blackout{night}, "2026-05-05 21:59", true, "", ""},
		{"wrap: at start", open, domain.SMS, []domain.Blackout{night}, "2026-05-05 22:00", false, RuleBlackout, "2026-05-06 07:00"},
		{"work hours: voice held", std, domain.Voice, []domain.Blackout{work}, "2026-05-05 10:00", false, RuleBlackout, "2026-05-05 17:00"},
		{"work hours: sms not affected", std, domain.SMS, []domain.Blackout{work}, "2026-05-05 10:00", true, "", ""},
		// The blackout ends after the window closes: the next time that is
		// in the window and out of the blackout is tomorrow 09:00.
		{"combined with window", std, domain.SMS, []domain.Blackout{evening}, "2026-05-05 20:30", false, RuleBlackout, "2026-05-06 09:00"},
		{"window first", std, domain.SMS, []domain.Blackout{evening}, "2026-05-05 07:00", false, RuleSendWindow, "2026-05-05 09:00"},
		{"two blackouts", std, domain.Voice, []domain.Blackout{work, {Start: "17:00", End: "18:30"}}, "2026-05-05 12:00", false, RuleBlackout, "2026-05-05 18:30"},
		{"unparseable blackout ignored", std, domain.SMS, []domain.Blackout{{Start: "9am", End: "5pm"}}, "2026-05-05 10:00", true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := tt.rules.Check(at(t, sh, tt.now), reminder(tt.ch, "L1"), borrower(sh, "", tt.blackouts...), Ledger{})
			if d.Allowed != tt.wantOK {
				t.Fatalf("Allowed = %v, want %v (%s)", d.Allowed, tt.wantOK, d.Reason)
			}
			if tt.wantOK {
				return
			}
			if d.Status != domain.Deferred || d.Rule != tt.wantRule || !d.Until.Equal(at(t, sh, tt.wantUntil)) {
				t.Fatalf("got %s/%s until %s, want deferred/%s until %s (%s)", d.Status, d.Rule, d.Until, tt.wantRule, tt.wantUntil, d.Reason)
			}
			if !strings.HasPrefix(d.Reason, tt.wantRule+"[") {
				t.Errorf("reason %q does not start with the rule", d.Reason)
			}
		})
	}

	t.Run("blackout covers the whole window", func(t *testing.T) {
		t.Parallel()
		b := borrower(sh, "", domain.Blackout{Start: "07:00", End: "22:00", Channels: []domain.Channel{domain.SMS}})
		d := std.Check(at(t, sh, "2026-05-05 10:00"), reminder(domain.SMS, "L1"), b, Ledger{})
		if d.Allowed || d.Status != domain.Capped || d.Rule != RuleBlackout || !strings.Contains(d.Reason, "leave no time") {
			t.Fatalf("got %+v, want capped by blackout", d)
		}
		if d := std.Check(at(t, sh, "2026-05-05 10:00"), reminder(domain.Voice, "L1"), b, Ledger{}); !d.Allowed {
			t.Fatalf("voice: %+v, want allowed", d)
		}
	})
}

// TestNextIsExact checks the deferral instant against a minute-by-minute
// scan: every minute from now to Until is refused, Until is allowed.
func TestNextIsExact(t *testing.T) {
	t.Parallel()
	zones := []string{"Asia/Shanghai", "America/New_York", "Europe/London", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe", "America/Phoenix", "Asia/Kathmandu"}
	phones := []string{"", "+1 212 555 0100", "+44 20 7946 0000", "+86 138 0013 8000", "+1 808 555 0100", "+91 98765 43210"}
	windows := []config.Window{{}, {Start: "02:30", End: "21:00"}, {Start: "01:30", End: "03:00"}, {Start: "09:00", End: "17:00"}}
	blackouts := [][]domain.Blackout{nil, {{Start: "12:00", End: "13:30"}}, {{Start: "20:00", End: "09:30"}}}
	rng := rand.New(rand.NewPCG(1, 2))
	// Around the 2026 DST changes and an ordinary day.
	bases := []time.Time{utc(t, "2026-03-07T00:00:00Z"), utc(t, "2026-03-28T00:00:00Z"), utc(t, "2026-04-04T00:00:00Z"),
		utc(t, "2026-10-24T00:00:00Z"), utc(t, "2026-10-31T00:00:00Z"), utc(t, "2026-07-01T00:00:00Z")}
	checked := 0
	for i := range 400 {
		rules := compile(t, config.Compliance{SendWindow: windows[rng.IntN(len(windows))]}, loc(t, "Asia/Shanghai"))
		b := borrower(zones[rng.IntN(len(zones))], phones[rng.IntN(len(phones))], blackouts[rng.IntN(len(blackouts))]...)
		now := bases[rng.IntN(len(bases))].Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
		zs := zonesOf(b.Phone, b.Timezone, rules.DefaultZone)
		g := gate{w: rules.Window, zs: zs, blackouts: b.Blackouts, ch: domain.SMS}
		n := zs.count(true)
		if g.allowed(now, n) {
			continue
		}
		until, ok := g.next(now, n)
		if !ok && n > 1 {
			n = 1
			if g.allowed(now, n) {
				continue
			}
			until, ok = g.next(now, n)
		}
		if !ok {
			// Only blackouts covering the whole window leave no time.
			for m := now.Truncate(time.Minute).Add(time.Minute); m.Before(now.Add(searchHorizon)); m = m.Add(time.Minute) {
				if g.allowed(m, n) {
					t.Fatalf("case %d: %s is allowed but next found nothing (%+v, window %s)", i, m.UTC(), b, rules.Window)
				}
			}
			if d := rules.Check(now, reminder(domain.SMS, "L1"), b, Ledger{}); d.Status != domain.Capped || d.Rule != RuleBlackout {
				t.Fatalf("case %d: Check = %+v, want capped by blackouts", i, d)
			}
			continue
		}
		if !g.allowed(until, n) {
			t.Fatalf("case %d: Until %s is not allowed (%+v)", i, until, b)
		}
		for m := now.Truncate(time.Minute).Add(time.Minute); m.Before(until); m = m.Add(time.Minute) {
			if g.allowed(m, n) {
				t.Fatalf("case %d: %s is allowed before Until %s (%+v, window %s)", i, m.UTC(), until.UTC(), b, rules.Window)
			}
		}
		d := rules.Check(now, reminder(domain.SMS, "L1"), b, Ledger{})
		if d.Allowed || !d.Until.Equal(until) {
			t.Fatalf("case %d: Check = %+v, want deferred until %s", i, d, until)
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("only %d deferred cases checked", checked)
	}
	t.Logf("%d deferred cases checked against a minute scan", checked)
}
