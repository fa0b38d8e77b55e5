package compliance

import (
	"errors"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/forbear/forbear/internal/ground/tz"
)

var errNoZone = errors.New("empty or local time zone name")

// loadZone is tz.Load, refusing "" and "Local": a borrower's zone must not
// depend on the machine forbear runs on.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, errNoZone
	}
	return tz.Load(name)
}

// zoneSet is a borrower's zones, without allocating: the primary zone
// (stored, or default), then the zones the phone number may be in that
// differ from it.
type zoneSet struct {
	primary *time.Location
	// phone is the number's zones as PhoneZones gives them (shared and
	// read-only); skip is the index of the one that is the primary zone,
	// or -1.
	phone []*time.Location
	skip  int
	// stored is false when the stored zone was missing or unknown and the
	// default stands in for it.
	stored bool
}

// count is how many zones there are: all of them, or only the primary.
func (z *zoneSet) count(all bool) int {
	if !all {
		return 1
	}
	n := 1 + len(z.phone)
	if z.skip >= 0 {
		n--
	}
	return n
}

// zone returns zone i of count(true): 0 is the primary zone.
func (z *zoneSet) zone(i int) *time.Location {
	if i == 0 {
		return z.primary
	}
	j := i - 1
	if z.skip >= 0 && j >= z.skip {
		j++
	}
	return z.phone[j]
}

// Zones returns the borrower's zones: the stored zone (or def when it is
// missing or unknown; nil def means UTC), then every zone the phone number
// may be in that differs from it (see PhoneZones).
func Zones(phone string, stored string, def *time.Location) []*time.Location {
	zs := zonesOf(phone, stored, def)
	out := make([]*time.Location, zs.count(true))
	for i := range out {
		out[i] = zs.zone(i)
	}
	return out
}

// zonesOf returns a borrower's zones (see Zones), from zoneMemo when the
// same number, stored zone and default were asked for lately.
func zonesOf(phone, stored string, def *time.Location) zoneSet {
	h := maphash.String(zoneSeed, phone) ^ maphash.String(zoneSeed, stored)*31
	slot := &zoneMemo[h%uint64(len(zoneMemo))]
	if e := slot.Load(); e != nil && e.phone == phone && e.stored == stored && e.def == def {
		return e.zs
	}
	zs := workOutZones(phone, stored, def)
	slot.Store(&zoneEntry{phone: phone, stored: stored, def: def, zs: zs})
	return zs
}

// zoneMemo remembers the zones of the borrowers checked lately. One
// borrower's reminders are decided again and again (a dry run decides
// one borrower's thousands of times in a row), and working the zones out
// costs a walk down the phone data's prefixes and a zone look-up each
// time. It is a fixed table indexed by a hash of the number and the
// stored zone: bounded whatever the numbers, and lock-free, since an
// entry is replaced whole (a collision only costs working them out again).
var zoneMemo [1024]atomic.Pointer[zoneEntry]

var zoneSeed = maphash.MakeSeed()

// zoneEntry is the zones of one number, stored zone and default zone.
type zoneEntry struct {
	phone, stored string
	def           *time.Location
	zs            zoneSet
}

// workOutZones is zonesOf without the memo.
func workOutZones(phone, stored string, def *time.Location) zoneSet {
	zs := zoneSet{skip: -1}
	if loc, err := loadZone(stored); err == nil {
		zs.primary, zs.stored = loc, true
	} else if def != nil {
		zs.primary = def
	} else {
		zs.primary = time.UTC
	}
	zs.phone = PhoneZones(phone)
	for i, z := range zs.phone {
		if z.String() == zs.primary.String() {
			zs.skip = i
			break
		}
	}
	return zs
}

// maxDigits is the longest E.164 number.
const maxDigits = 15

// PhoneZones returns every zone a number may be in, as libphonenumber's
// time-zone data says (github.com/nyaruka/phonenumbers): one zone for most
// numbers, two where an area code spans two (+1 208: America/Boise and
// America/Los_Angeles), and a whole country's zones where the data knows
// only the country code (an unassigned +1 area code gives every zone of
// the NANP). It returns nil for a number that is not "+" and digits (with
// spaces, dashes, dots or parentheses) or that the data does not place.
// The result is shared: do not modify it.
func PhoneZones(phone string) []*time.Location {
	digits, ok := e164Digits(phone)
	if !ok {
		return nil
	}
	names, err := phonenumbers.GetTimezonesForPrefix(digits)
	// A number the data does not place gets a new one-element slice each
	// time: answered here, never cached, so such numbers cannot grow the
	// cache.
	if err != nil || len(names) == 0 || len(names) == 1 && names[0] == phonenumbers.UNKNOWN_TIMEZONE {
		return nil
	}
	// Otherwise the data hands out the same slice for the same prefix, so
	// its first element's address names the list: the zones are loaded
	// once.
	if locs, ok := zoneLists.Load(&names[0]); ok {
		return locs.([]*time.Location)
	}
	var locs []*time.Location
	for _, name := range names {
		if name == phonenumbers.UNKNOWN_TIMEZONE {
			continue
		}
		if loc, err := loadZone(name); err == nil && !slices.ContainsFunc(locs, func(l *time.Location) bool { return l.String() == name }) {
			locs = append(locs, loc)
		}
	}
	zoneLists.Store(&names[0], locs)
	return locs
}

// zoneLists caches PhoneZones by the data's list (see there). It is
// bounded by the data: one entry per list the data holds, a few hundred.
var zoneLists sync.Map // *string -> []*time.Location

// e164Digits returns the digits of "+<digits>" (separators allowed), or
// false. A number already in E.164 is returned without copying.
func e164Digits(phone string) (string, bool) {
	if len(phone) < 2 || phone[0] != '+' {
		return "", false
	}
	plain := true
	for i := 1; i < len(phone); i++ {
		if c := phone[i]; c < '0' || c > '9' {
			plain = false
			break
		}
	}
	if plain {
		return phone[1:], len(phone)-1 >= 4 && len(phone)-1 <= maxDigits
	}
	var buf [maxDigits]byte
	n := 0
	for i := 1; i < len(phone); i++ {
		switch c := phone[i]; {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return "", false
			}
			buf[n] = c
			n++
		case c == ' ', c == '-', c == '.', c == '(', c == ')':
		default:
			return "", false
		}
	}
	return string(buf[:n]), n >= 4
}
