package compliance

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/domain"
)

// Rule names, as they appear in Decision.Rule.
const (
	RuleSendWindow      = "send_window"
	RuleBlackout        = "blackout"
	RuleCap             = "cap"
	RuleConversation    = "conversation"
	RuleConnectedPerDay = "connected_per_day"
)

// Preset names accepted by compliance.preset.
const (
	PresetUSRegF  = "us-regf"
	PresetCNNIFA  = "cn-nifa"
	minutesPerDay = 24 * 60
)

// Rules are the compiled contact rules. Build them with Compile; the zero
// value has no rules at all (always open, no caps) and takes UTC for
// borrowers without a zone. Rules are read-only once built and safe for
// concurrent use (copies share the Caps map: do not modify it).
type Rules struct {
	// Preset is the preset the rules started from ("" for the built-in
	// rules only).
	Preset string
	// Window is the daily send window in borrower local time.
	Window Window
	// Caps are the rolling caps per channel; a channel without an entry is
	// not capped.
	Caps map[domain.Channel]Cap
	// AfterConversation blocks calls about a loan for this long after a
	// connected call about it (0: no block).
	AfterConversation time.Duration
	// MaxConnectedPerDay caps connected calls per borrower per local day
	// of the borrower's primary zone (0: no cap).
	MaxConnectedPerDay int
	// OptOutKeywords are the inbound SMS words that opt a number out
	// (matched case-insensitively on the whole trimmed message).
	OptOutKeywords []string
	// DefaultZone is the zone of borrowers whose stored zone is missing or
	// unknown (scheduler.timezone); nil means UTC.
	DefaultZone *time.Location
	// RequireOptOutLine asks the renderer to make sure every electronic
	// message (sms, email) tells the borrower how to opt out.
	RequireOptOutLine bool
}

// Window is a daily window in minutes from local midnight, [Start, End).
// {0, 1440} (and the zero value) is always open.
type Window struct{ Start, End int }

// Always reports whether the window never closes.
func (w Window) Always() bool {
	return w.Start <= 0 && w.End >= minutesPerDay || w.Start == 0 && w.End == 0
}

// Contains reports whether minute-of-day m is inside the window.
func (w Window) Contains(m int) bool { return w.Always() || w.Start <= m && m < w.End }

// String renders the window as "08:00-21:00".
func (w Window) String() string {
	if w.Always() {
		return "00:00-24:00"
	}
	return clock(w.Start) + "-" + clock(w.End)
}

// Cap is a rolling limit: at most Max counted attempts in any window of
// length Per, per borrower or, with PerLoan, per loan of the borrower.
type Cap struct {
	Max     int
	Per     time.Duration
	PerLoan bool
}

// String renders the cap as "7 per 7d per loan".
func (c Cap) String() string {
	scope := "per borrower"
	if c.PerLoan {
		scope = "per loan"
	}
	return fmt.Sprintf("%d per %s %s", c.Max, fmtDur(c.Per), scope)
}

// builtin returns the rules that apply before any preset or key.
func builtin() Rules {
	return Rules{
		Window: Window{Start: 8 * 60, End: 21 * 60},
		Caps: map[domain.Channel]Cap{
			domain.SMS:   {Max: 3, Per: 24 * time.Hour},
			domain.Voice: {Max: 7, Per: 7 * 24 * time.Hour, PerLoan: true},
		},
		AfterConversation: 7 * 24 * time.Hour,
		OptOutKeywords:    []string{"STOP", "UNSUBSCRIBE", "退订", "TD", "T"},
	}
}

// presets applies a named preset on top of r. Each preset documents its
// sources (see also the package documentation).
var presets = map[string]func(r *Rules) error{
	// us-regf: CFPB Regulation F, 12 CFR part 1006.
	//   - 1006.6(b)(1)(i): before 8 a.m. and after 9 p.m. local time is
	//     inconvenient -> window 08:00-21:00 in every possible zone.
	//   - 1006.14(b)(2): more than 7 calls within 7 consecutive days, or
	//     any call within 7 days after a telephone conversation, about a
	//     particular debt -> voice 7 per 7d per loan, 7d after a
	//     conversation.
	//   - 1006.6(d)(3), 1006.6(e): electronic communications carry an
	//     opt-out notice -> RequireOptOutLine.
	PresetUSRegF: func(r *Rules) error {
		r.Window = Window{Start: 8 * 60, End: 21 * 60}
		r.Caps[domain.Voice] = Cap{Max: 7, Per: 7 * 24 * time.Hour, PerLoan: true}
		r.AfterConversation = 7 * 24 * time.Hour
		r.RequireOptOutLine = true
		return nil
	},
	// cn-nifa: 中国互联网金融协会《互联网金融逾期债务催收自律公约（试行）》
	// (2018): contact between 8:00 and 21:00; no contact of unrelated third
	// parties (forbear contacts only the borrower's own contact points). At
	// most 3 connected calls per borrower per day is this product's preset.
	PresetCNNIFA: func(r *Rules) error {
		r.Window = Window{Start: 8 * 60, End: 21 * 60}
		r.MaxConnectedPerDay = 3
		if r.DefaultZone == nil {
			loc, err := loadZone("Asia/Shanghai")
			if err != nil {
				return fmt.Errorf("needs time zone Asia/Shanghai: %w", err)
			}
			r.DefaultZone = loc
		}
		return nil
	},
}

// PresetNames lists the presets compliance.preset accepts, sorted.
func PresetNames() []string { return slices.Sorted(maps.Keys(presets)) }

// Compile builds the rules from the configuration: the built-in rules,
// then the preset, then every key that is set. defaultZone is the zone of
// borrowers without a known one (scheduler.timezone; nil: UTC, or
// Asia/Shanghai under cn-nifa). Errors name the key at fault.
func Compile(c config.Compliance, defaultZone *time.Location) (Rules, error) {
	r := builtin()
	r.DefaultZone = defaultZone
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("compliance.%s: %s", key, fmt.Sprintf(format, args...)))
	}

	if c.Preset != "" {
		apply, ok := presets[c.Preset]
		if !ok {
			bad("preset", "unknown preset %q (want one of %s)", c.Preset, strings.Join(PresetNames(), ", "))
		} else if err := apply(&r); err != nil {
			bad("preset", "%s: %v", c.Preset, err)
		} else {
			r.Preset = c.Preset
		}
	}

	if w := c.SendWindow; w.Start != "" || w.End != "" {
		start, errS := parseClock(w.Start)
		end, errE := parseClock(w.End)
		switch {
		case errS != nil:
			bad("send_window.start", "%v", errS)
		case start == minutesPerDay:
			bad("send_window.start", "%q: the window cannot start at 24:00", w.Start)
		}
		if errE != nil {
			bad("send_window.end", "%v", errE)
		}
		if errS == nil && errE == nil && start < minutesPerDay {
			if end <= start {
				bad("send_window", "start %s must be before end %s (a window cannot wrap midnight; 00:00-24:00 means no window)", w.Start, w.End)
			} else {
				r.Window = Window{Start: start, End: end}
			}
		}
	}

	if c.Caps != nil {
		if len(c.Caps) == 0 {
			r.Caps = map[domain.Channel]Cap{} // "caps: {}": no caps at all
		}
		for _, name := range slices.Sorted(maps.Keys(c.Caps)) {
			cp, ch := c.Caps[name], domain.Channel(name)
			key := "caps." + name
			if !ch.Valid() {
				bad(key, "unknown channel (want one of sms, voice, email, inapp)")
				continue
			}
			if cp.Max < 0 {
				bad(key+".max", "must not be negative, got %d", cp.Max)
				continue
			}
			if cp.Max == 0 { // max 0: this channel is not capped
				delete(r.Caps, ch)
				continue
			}
			if cp.Per.D() <= 0 {
				bad(key+".per", "must be a positive duration when max is set, got %s", cp.Per.D())
				continue
			}
			perLoan := ch == domain.Voice
			switch cp.Scope {
			case "":
			case "loan":
				perLoan = true
			case "borrower":
				perLoan = false
			default:
				bad(key+".scope", "unknown scope %q (want borrower or loan)", cp.Scope)
				continue
			}
			r.Caps[ch] = Cap{Max: cp.Max, Per: cp.Per.D(), PerLoan: perLoan}
		}
	}

	if c.AfterConversation != nil {
		if d := c.AfterConversation.D(); d < 0 {
			bad("after_conversation", "must not be negative, got %s", d)
		} else {
			r.AfterConversation = d
		}
	}
	if c.MaxConnectedPerDay != nil {
		if n := *c.MaxConnectedPerDay; n < 0 {
			bad("max_connected_per_day", "must not be negative, got %d", n)
		} else {
			r.MaxConnectedPerDay = n
		}
	}
	if c.OptOutKeywords != nil {
		kws := make([]string, 0, len(c.OptOutKeywords))
		for i, k := range c.OptOutKeywords {
			k = strings.TrimSpace(k)
			if k == "" {
				bad(fmt.Sprintf("opt_out_keywords[%d]", i), "must not be empty")
				continue
			}
			kws = append(kws, k)
		}
		r.OptOutKeywords = kws
	}
	if err := errors.Join(errs...); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// Keep is the longest span of history any rule looks at: a ledger pruned
// with Keep gives the same decisions as the full one.
func (r Rules) Keep() time.Duration {
	keep := r.AfterConversation
	for _, c := range r.Caps {
		keep = max(keep, c.Per)
	}
	if r.MaxConnectedPerDay > 0 {
		keep = max(keep, 48*time.Hour) // a local day is at most 25h long
	}
	return keep
}

// IsOptOut reports whether an inbound message is one of the opt-out
// keywords (whole trimmed message, case-insensitive).
func (r Rules) IsOptOut(body string) bool {
	body = strings.TrimSpace(body)
	for _, k := range r.OptOutKeywords {
		if strings.EqualFold(body, k) {
			return true
		}
	}
	return false
}

// parseClock parses "HH:MM" (hour 0-24, minute 00-59, 24:00 only) into
// minutes from midnight.
func parseClock(s string) (int, error) {
	m, ok := clockMinutes(s)
	if !ok {
		return 0, fmt.Errorf("%q is not HH:MM (00:00 to 24:00)", s)
	}
	return m, nil
}

// clockMinutes is parseClock without the error (no allocation).
func clockMinutes(s string) (int, bool) {
	h, rest, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(rest) != 2 {
		return 0, false
	}
	hh, ok1 := digits(h)
	mm, ok2 := digits(rest)
	if !ok1 || !ok2 || hh > 24 || mm > 59 || hh == 24 && mm != 0 {
		return 0, false
	}
	return hh*60 + mm, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// clock renders minutes from midnight as "HH:MM".
func clock(m int) string {
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// fmtDur renders a duration in days when it is whole days ("7d"), else in
// Go syntax without trailing zero units ("36h", "90m").
func fmtDur(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
