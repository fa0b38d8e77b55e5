package compliance

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

// TestWindowInEveryZoneOfTheNumber: +1 208 (Idaho) is in America/Boise
// and America/Los_Angeles; the window must hold in both, and in the
// borrower's stated zone.
func TestWindowInEveryZoneOfTheNumber(t *testing.T) {
	t.Parallel()
	rules := compile(t, config.Compliance{}, loc(t, "Asia/Shanghai")) // 08:00-21:00
	const idaho = "+12085550100"
	tests := []struct {
		name   string
		stored string
		now    string // RFC 3339
		wantOK bool
		until  string
		reason []string
	}{
		// July: Boise MDT (UTC-6), Los Angeles PDT (UTC-7). Open 08:00 LA
		// (09:00 Boise) to 21:00 Boise (20:00 LA).
		{"08:30 Boise is 07:30 in LA", "America/Boise", "2026-07-10T14:30:00Z", false, "2026-07-10T15:00:00Z",
			[]string{"08:30 America/Boise / 07:30 America/Los_Angeles (phone region) is outside 08:00-21:00", "(08:00 America/Los_Angeles)"}},
		{"09:00 Boise", "America/Boise", "2026-07-10T15:00:00Z", true, "", nil},
		{"20:59 Boise", "America/Boise", "2026-07-11T02:59:00Z", true, "", nil},
		{"21:00 Boise is 20:00 in LA", "America/Boise", "2026-07-11T03:00:00Z", false, "2026-07-11T15:00:00Z", nil},
		{"stored LA: 20:00 LA is 21:00 in Boise", "America/Los_Angeles", "2026-07-11T03:00:00Z", false, "2026-07-11T15:00:00Z",
			[]string{"20:00 America/Los_Angeles / 21:00 America/Boise (phone region)"}},
		// Stated zone New York: 11:00-21:00 Eastern (08:00 LA to 21:00 NY).
		{"stated NY: 10:59 NY", "America/New_York", "2026-07-10T14:59:00Z", false, "2026-07-10T15:00:00Z",
			[]string{"America/New_York", "America/Boise (phone region)", "America/Los_Angeles (phone region)"}},
		{"stated NY: 11:00 NY", "America/New_York", "2026-07-10T15:00:00Z", true, "", nil},
		{"stated NY: 21:00 NY", "America/New_York", "2026-07-11T01:00:00Z", false, "2026-07-11T15:00:00Z", nil},
		// January: Boise MST (UTC-7), LA PST (UTC-8).
		{"winter: 08:59 Boise", "America/Boise", "2026-01-10T15:59:00Z", false, "2026-01-10T16:00:00Z", nil},
		{"winter: 09:00 Boise", "America/Boise", "2026-01-10T16:00:00Z", true, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := rules.Check(utc(t, tt.now), reminder(domain.SMS, "L1"), borrower(tt.stored, idaho), Ledger{})
			if d.Allowed != tt.wantOK {
				t.Fatalf("Allowed = %v, want %v (%s)", d.Allowed, tt.wantOK, d.Reason)
			}
			if !tt.wantOK {
				wantHeld(t, d, domain.Deferred, RuleSendWindow, PackForbear, "default", utc(t, tt.until))
			}
			for _, s := range tt.reason {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q does not mention %q", d.Reason, s)
				}
			}
		})
	}
}

// TestNumberPlacedOnlyByItsCountry: a +1 number the data places nowhere
// narrower than the NANP may be in any of its 40 zones, from Guam to
// Newfoundland, which in July share 22:00-23:30 UTC inside 08:00-21:00;
// with a stated zone that shares none of it, the stated zone decides and
// the reason says so.
func TestNumberPlacedOnlyByItsCountry(t *testing.T) {
	t.Parallel()
	const denver = "America/Denver"
	rules := compile(t, config.Compliance{}, loc(t, denver))
	b := borrower(denver, "+15555550100")
	if n := len(Zones(b.Phone, b.Timezone, rules.DefaultZone)); n < 30 {
		t.Fatalf("%d zones, want the NANP's", n)
	}
	d := rules.Check(at(t, denver, "2026-07-10 12:00"), reminder(domain.SMS, "L1"), b, Ledger{})
	wantHeld(t, d, domain.Deferred, RuleSendWindow, PackForbear, "default", at(t, denver, "2026-07-10 16:00")) // 08:00 in Guam
	if !strings.Contains(d.Reason, "more zones") {
		t.Errorf("reason %q does not say there are more zones", d.Reason)
	}
	if d := rules.Check(at(t, denver, "2026-07-10 17:29"), reminder(domain.SMS, "L1"), b, Ledger{}); !d.Allowed {
		t.Errorf("17:29 Denver: %+v, want allowed", d)
	}
	d = rules.Check(at(t, denver, "2026-07-10 17:30"), reminder(domain.SMS, "L1"), b, Ledger{}) // 21:00 in St John's
	wantHeld(t, d, domain.Deferred, RuleSendWindow, PackForbear, "default", at(t, denver, "2026-07-11 16:00"))

	shanghai := borrower("Asia/Shanghai", "+15555550100")
	d = rules.Check(at(t, "Asia/Shanghai", "2026-07-10 12:00"), reminder(domain.SMS, "L1"), shanghai, Ledger{})
	if !d.Allowed || !strings.Contains(d.Reason, "share no time") || !strings.Contains(d.Reason, "more zones of the phone number") ||
		!strings.Contains(d.Reason, "primary zone Asia/Shanghai decides") {
		t.Fatalf("%+v, want allowed by the stated zone, saying why", d)
	}
}

// TestCannotShareIsSound: whenever the quick test says the zones share no
// time, the exact search finds none either.
func TestCannotShareIsSound(t *testing.T) {
	t.Parallel()
	phones := []string{"+15555550100", "+5215512345678", "+61891234567", "+79001234567", "+12085550100", "+17015550100"}
	windows := []config.Window{{}, {Start: "09:00", End: "17:00"}, {Start: "08:00", End: "21:00"}, {Start: "08:00", End: "22:00"}, {Start: "11:00", End: "12:00"}}
	quick := 0
	for _, w := range windows {
		rules := compile(t, config.Compliance{SendWindow: w}, loc(t, "Asia/Shanghai"))
		for _, phone := range phones {
			for _, stored := range []string{"", "America/New_York", "Pacific/Auckland"} {
				zs := zonesOf(phone, stored, rules.DefaultZone)
				g := gate{w: rules.Window, zs: zs, ch: domain.SMS}
				n := zs.count(true)
				for h := range 24 * 14 {
					now := utc(t, "2026-03-01T00:00:00Z").Add(time.Duration(h)*time.Hour + 17*time.Minute)
					if !g.cannotShare(now, n) {
						continue
					}
					quick++
					if g.allowed(now, n) {
						t.Fatalf("%s %s %s at %s: allowed now, yet cannotShare", phone, stored, rules.Window, now)
					}
					if until, ok := g.next(now, n); ok {
						t.Fatalf("%s %s %s at %s: shares %s, yet cannotShare", phone, stored, rules.Window, now, until)
					}
				}
			}
		}
	}
	if quick == 0 {
		t.Fatal("cannotShare never answered: nothing checked")
	}
}

// TestPhoneZonesCacheIsBounded: numbers the data does not place leave
// nothing behind in the zone-list cache (the data hands out a new slice
// for them each time), so a flood of bad numbers cannot grow it.
func TestPhoneZonesCacheIsBounded(t *testing.T) {
	count := func() int {
		n := 0
		zoneLists.Range(func(any, any) bool { n++; return true })
		return n
	}
	PhoneZones("+99912345678")
	before := count()
	for i := range 100 {
		if z := PhoneZones("+999123456" + strconv.Itoa(10+i)); z != nil {
			t.Fatalf("an unplaced number has zones %v", z)
		}
	}
	if after := count(); after != before {
		t.Fatalf("the cache grew from %d to %d lists on unplaced numbers", before, after)
	}
}

// TestZoneMemoAnswersAsWorkedOut: the zones remembered for a number are
// the zones worked out for it, whatever was asked before (the same
// number with another stored or default zone, numbers that share a slot
// of the table).
func TestZoneMemoAnswersAsWorkedOut(t *testing.T) {
	ny, sh := loc(t, "America/New_York"), loc(t, "Asia/Shanghai")
	var asks [][3]any
	for i := range 3000 {
		phone := []string{"+1212555", "+1208555", "+86138", "+44207", "+999123", "+1809555"}[i%6] + strconv.Itoa(1000+i%1500)
		stored := []string{"", "America/Boise", "Asia/Shanghai", "Nowhere/Else"}[i%4]
		def := []*time.Location{nil, ny, sh}[i%3]
		asks = append(asks, [3]any{phone, stored, def})
	}
	for round := range 2 {
		for _, a := range asks {
			phone, stored, def := a[0].(string), a[1].(string), a[2].(*time.Location)
			got, want := zonesOf(phone, stored, def), workOutZones(phone, stored, def)
			if got.primary.String() != want.primary.String() || got.stored != want.stored || got.skip != want.skip || !slices.Equal(got.phone, want.phone) {
				t.Fatalf("round %d, %s %q %v: remembered %+v, worked out %+v", round, phone, stored, def, got, want)
			}
		}
	}
}
