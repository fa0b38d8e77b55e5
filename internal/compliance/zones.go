package compliance

import (
	"errors"
	"time"

	"github.com/forbear/forbear/internal/tz"
)

// maxZones is how many zones a borrower can have: the stored (or default)
// zone and the phone region's zone.
const maxZones = 2

var errNoZone = errors.New("empty or local time zone name")

// loadZone is tz.Load, refusing "" and "Local": a borrower's zone must not
// depend on the machine forbear runs on.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, errNoZone
	}
	return tz.Load(name)
}

// zoneSet is a borrower's zones without allocating: zones[0] is the
// primary zone (stored, or default), zones[1] the phone region's zone.
type zoneSet struct {
	zones [maxZones]*time.Location
	n     int
	// stored is false when the stored zone was missing or unknown and the
	// default stands in for it.
	stored bool
}

func (z *zoneSet) primary() *time.Location { return z.zones[0] }

// Zones returns the borrower's zones: the stored zone (or def when it is
// missing or unknown; nil def means UTC), then the zone of the phone
// number's region when that is known and differs.
func Zones(phone string, stored string, def *time.Location) []*time.Location {
	zs := zonesOf(phone, stored, def)
	return append([]*time.Location(nil), zs.zones[:zs.n]...)
}

func zonesOf(phone, stored string, def *time.Location) zoneSet {
	var zs zoneSet
	if loc, err := loadZone(stored); err == nil {
		zs.zones[0], zs.stored = loc, true
	} else if def != nil {
		zs.zones[0] = def
	} else {
		zs.zones[0] = time.UTC
	}
	zs.n = 1
	if name := PhoneZone(phone); name != "" && name != zs.zones[0].String() {
		if loc, err := loadZone(name); err == nil {
			zs.zones[1] = loc
			zs.n = 2
		}
	}
	return zs
}

// PhoneZone returns the IANA zone of an E.164 number's region, or "" when
// the country spans several zones or the number is not known. For +1 it
// looks at the area code (a table of large area codes per zone).
func PhoneZone(phone string) string {
	var buf [15]byte // E.164: at most 15 digits
	n := 0
	for i := 0; i < len(phone); i++ {
		c := phone[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return ""
			}
			buf[n] = c
			n++
		case c == '+' && i == 0, c == ' ', c == '-', c == '.', c == '(', c == ')':
		default:
			return ""
		}
	}
	if len(phone) == 0 || phone[0] != '+' || n < 4 {
		return ""
	}
	d := buf[:n]
	if d[0] == '1' {
		return nanpZones[string(d[1:4])]
	}
	// Country codes are prefix-free: at most one of these matches.
	for l := 1; l <= 3 && l < n; l++ {
		if z, ok := countryZones[string(d[:l])]; ok {
			return z
		}
	}
	return ""
}

// countryZones maps country calling codes of single-zone countries (or
// countries where nearly every number is in one zone) to that zone.
// Countries spanning zones (+7, +52, +55, +61, +62, ...) are absent.
var countryZones = map[string]string{
	"20":  "Africa/Cairo",
	"27":  "Africa/Johannesburg",
	"30":  "Europe/Athens",
	"31":  "Europe/Amsterdam",
	"32":  "Europe/Brussels",
	"33":  "Europe/Paris",
	"34":  "Europe/Madrid",
	"39":  "Europe/Rome",
	"41":  "Europe/Zurich",
	"43":  "Europe/Vienna",
	"44":  "Europe/London",
	"45":  "Europe/Copenhagen",
	"46":  "Europe/Stockholm",
	"47":  "Europe/Oslo",
	"48":  "Europe/Warsaw",
	"49":  "Europe/Berlin",
	"60":  "Asia/Kuala_Lumpur",
	"63":  "Asia/Manila",
	"64":  "Pacific/Auckland",
	"65":  "Asia/Singapore",
	"66":  "Asia/Bangkok",
	"81":  "Asia/Tokyo",
	"82":  "Asia/Seoul",
	"84":  "Asia/Ho_Chi_Minh",
	"86":  "Asia/Shanghai",
	"90":  "Europe/Istanbul",
	"91":  "Asia/Kolkata",
	"92":  "Asia/Karachi",
	"94":  "Asia/Colombo",
	"95":  "Asia/Yangon",
	"233": "Africa/Accra",
	"234": "Africa/Lagos",
	"254": "Africa/Nairobi",
	"353": "Europe/Dublin",
	"358": "Europe/Helsinki",
	"852": "Asia/Hong_Kong",
	"853": "Asia/Macau",
	"855": "Asia/Phnom_Penh",
	"856": "Asia/Vientiane",
	"880": "Asia/Dhaka",
	"886": "Asia/Taipei",
	"966": "Asia/Riyadh",
	"971": "Asia/Dubai",
	"972": "Asia/Jerusalem",
	"977": "Asia/Kathmandu",
}

// nanpZones maps large North American area codes to their zone. Area
// codes not listed (and those split between zones) give no phone zone.
var nanpZones = map[string]string{
	// Eastern
	"202": "America/New_York", "212": "America/New_York", "215": "America/New_York",
	"305": "America/New_York", "332": "America/New_York", "347": "America/New_York",
	"404": "America/New_York", "516": "America/New_York", "617": "America/New_York",
	"631": "America/New_York", "646": "America/New_York", "718": "America/New_York",
	"786": "America/New_York", "914": "America/New_York", "917": "America/New_York",
	"929": "America/New_York", "313": "America/Detroit",
	// Central
	"214": "America/Chicago", "312": "America/Chicago", "469": "America/Chicago",
	"713": "America/Chicago", "773": "America/Chicago", "832": "America/Chicago",
	"872": "America/Chicago",
	// Mountain
	"303": "America/Denver", "720": "America/Denver", "801": "America/Denver",
	// Arizona (no DST)
	"480": "America/Phoenix", "520": "America/Phoenix", "602": "America/Phoenix",
	"623": "America/Phoenix",
	// Pacific
	"206": "America/Los_Angeles", "213": "America/Los_Angeles", "310": "America/Los_Angeles",
	"323": "America/Los_Angeles", "408": "America/Los_Angeles", "415": "America/Los_Angeles",
	"503": "America/Los_Angeles", "510": "America/Los_Angeles", "626": "America/Los_Angeles",
	"702": "America/Los_Angeles", "818": "America/Los_Angeles",
	// Alaska, Hawaii
	"907": "America/Anchorage", "808": "Pacific/Honolulu",
	// Canada
	"416": "America/Toronto", "437": "America/Toronto", "514": "America/Toronto",
	"647": "America/Toronto", "604": "America/Vancouver", "778": "America/Vancouver",
}
