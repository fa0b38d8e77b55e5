package compliance

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

// Rule ids, as they appear in Decision.Rule, the audit record's reason and
// the rule label of forbear_compliance_decisions_total.
const (
	RuleSendWindow      = "send_window"
	RuleBlackout        = "blackout"
	RuleCap             = "cap"
	RuleConversation    = "conversation"
	RuleConnectedPerDay = "connected_per_day"
	// RuleCallsPerDay caps the calls placed to the borrower's number in a
	// local day, answered or not.
	RuleCallsPerDay = "calls_per_day"
	// RulePhoneContacts caps calls and texts about one loan by the kind of
	// number they go to.
	RulePhoneContacts = "phone_contacts"
	// RuleNumberCheck holds an SMS to a number not confirmed recently.
	RuleNumberCheck = "number_check"
)

// Keys of Rules.Sources besides the rule ids: the consent exclusion, the
// opt-out line, the default zone. A cap's key is CapKey(channel).
const (
	SourceConsent     = "consent"
	SourceOptOutLine  = "opt_out_line"
	SourceDefaultZone = "default_zone"
)

// CapKey is the Sources key of a channel's cap: "cap.sms".
func CapKey(ch domain.Channel) string { return RuleCap + "." + string(ch) }

const minutesPerDay = 24 * 60

// Rules are the compiled contact rules. Build them with Compile; the zero
// value has no rules at all (always open, no caps) and takes UTC for
// borrowers without a zone. Rules are read-only once built and safe for
// concurrent use (copies share the maps and slices: do not modify them).
type Rules struct {
	// Presets are the presets the rules were built from, aliases resolved,
	// in the order given (empty: the built-in rules only).
	Presets []string
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
	// MaxCallsPerDay caps the calls placed to the borrower's number per
	// local day, answered or not (0: no cap). forbear calls one number per
	// borrower, so it counts every call of the borrower that day.
	MaxCallsPerDay int
	// ConsentWindow: the voice cap does not count the calls placed after a
	// consent to calls while that consent is younger than this (0:
	// consents change no count).
	ConsentWindow time.Duration
	// NumberCheck: an SMS goes only to a number confirmed to be the
	// borrower's (a consent, or a reassigned-number check) at most this
	// long ago; others are held (0: no check).
	NumberCheck time.Duration
	// PhoneContacts caps calls and texts about one loan by the kind of
	// number (zero: no such cap).
	PhoneContacts PhoneCaps
	// OptOutKeywords are the inbound SMS words that opt a number out
	// (matched case-insensitively on the whole trimmed message).
	OptOutKeywords []string
	// DefaultZone is the zone of borrowers whose stored zone is missing or
	// unknown (scheduler.timezone); nil means UTC.
	DefaultZone *time.Location
	// RequireOptOutLine asks the renderer to make sure every electronic
	// message (sms, email) tells the borrower how to opt out.
	RequireOptOutLine bool
	// Sources says where each rule's value comes from, by rule id (a cap
	// by CapKey, and the Source* keys): see Source.
	Sources map[string]Source
	// Deprecated are notes on deprecated settings in use (a preset alias),
	// for the log at start.
	Deprecated []string
}

// Source is where a rule's value comes from: a preset and the article of
// its text, a configuration key, or forbear's own default.
type Source struct {
	// Pack is the preset's name, PackConfig for a key, PackForbear for a
	// built-in default, PackBorrower for the borrower's own blackouts.
	Pack string
	// Citation is the article the value follows (a preset), the key that
	// set it (PackConfig), or "default".
	Citation string
}

// Packs of values that do not come from a preset.
const (
	PackForbear  = "forbear"
	PackConfig   = "config"
	PackBorrower = "borrower"
)

var (
	builtinSource  = Source{Pack: PackForbear, Citation: "default"}
	blackoutSource = Source{Pack: PackBorrower, Citation: "blackouts"}
)

// String renders the source as the audit record's reason shows it between
// brackets: "us-regf 12 CFR 1006.6(b)(1)(i)", "config
// compliance.send_window", "forbear default".
func (s Source) String() string { return s.Pack + " " + s.Citation }

// SourceOf returns where the rule with Sources key key comes from; a key
// with no entry is forbear's default.
func (r Rules) SourceOf(key string) Source {
	if s, ok := r.Sources[key]; ok {
		return s
	}
	return builtinSource
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

// on reports whether the cap limits anything.
func (c Cap) on() bool { return c.Max > 0 && c.Per > 0 }

// atLeastAsStrict reports whether c never allows what d refuses: no more
// attempts, over a window at least as long, counted over at least as much
// (a borrower's every loan covers one loan). A cap that is off is the
// least strict of all.
func (c Cap) atLeastAsStrict(d Cap) bool {
	if !d.on() {
		return true
	}
	if !c.on() {
		return false
	}
	return c.Max <= d.Max && c.Per >= d.Per && (!c.PerLoan || d.PerLoan)
}

// PhoneCaps cap the calls and texts about one loan by what the number is
// to the borrower: Personal for a home or mobile number, Other for any
// other (work) number. Every call that reached the line and every text
// counts, as Attempt.Counts says.
type PhoneCaps struct {
	Personal Cap
	Other    Cap
}

func (p PhoneCaps) on() bool { return p.Personal.on() || p.Other.on() }

// builtin returns the rules that apply before any preset or key: forbear's
// own defaults, none of them from a text.
func builtin() Rules {
	return Rules{
		Window: Window{Start: 8 * 60, End: 21 * 60},
		Caps: map[domain.Channel]Cap{
			domain.SMS:   {Max: 3, Per: 24 * time.Hour},
			domain.Voice: {Max: 7, Per: 7 * 24 * time.Hour, PerLoan: true},
		},
		AfterConversation: 7 * 24 * time.Hour,
		OptOutKeywords:    []string{"STOP", "UNSUBSCRIBE", "退订", "TD", "T"},
		Sources:           map[string]Source{},
	}
}

// Compile builds the rules from the configuration: the built-in rules,
// then the presets (combined, per rule the strictest; see packs.go), then
// every key that is set. defaultZone is the zone of borrowers without a
// known one (scheduler.timezone; nil: UTC, or the zone a preset names).
// Errors name the key at fault.
func Compile(c config.Compliance, defaultZone *time.Location) (Rules, error) {
	r := builtin()
	r.DefaultZone = defaultZone
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("compliance.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	setBy := func(key, rule string) { r.Sources[rule] = Source{Pack: PackConfig, Citation: "compliance." + key} }

	applyPresets(&r, c.Preset, bad)

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
				setBy("send_window", RuleSendWindow)
			}
		}
	}

	if c.Caps != nil {
		if len(c.Caps) == 0 {
			r.Caps = map[domain.Channel]Cap{} // "caps: {}": no caps at all
			for _, ch := range domain.Channels {
				setBy("caps", CapKey(ch))
			}
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
				setBy(key, CapKey(ch))
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
			setBy(key, CapKey(ch))
		}
	}

	if c.AfterConversation != nil {
		if d := c.AfterConversation.D(); d < 0 {
			bad("after_conversation", "must not be negative, got %s", d)
		} else {
			r.AfterConversation = d
			setBy("after_conversation", RuleConversation)
		}
	}
	if c.MaxConnectedPerDay != nil {
		if n := *c.MaxConnectedPerDay; n < 0 {
			bad("max_connected_per_day", "must not be negative, got %d", n)
		} else {
			r.MaxConnectedPerDay = n
			setBy("max_connected_per_day", RuleConnectedPerDay)
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
	keep = max(keep, r.PhoneContacts.Personal.Per, r.PhoneContacts.Other.Per)
	if r.MaxConnectedPerDay > 0 || r.MaxCallsPerDay > 0 {
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
