package compliance

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// Preset names accepted by compliance.preset.
const (
	PresetUSRegF = "us-regf"
	PresetUSMA   = "us-ma"
	PresetCNGBT  = "cn-gbt-2025"
	PresetCNCBA  = "cn-cba-2026"
	// PresetCNNIFA is a deprecated alias of PresetCNGBT: the national
	// standard replaced the NIFA guideline the name stood for.
	PresetCNNIFA = "cn-nifa"
)

// Citations: the article of the text each preset value follows. Where the
// text's own numbering is not known to forbear, the citation names the
// text and says that the value is forbear's reading of it, never an
// invented article number. The README's "Contact rules" table gives the
// full titles.
const (
	citeRegFHours        = "12 CFR 1006.6(b)(1)(i)"
	citeRegFSevenInSeven = "12 CFR 1006.14(b)(2)(i)"
	citeRegFConversation = "12 CFR 1006.14(b)(2)(ii)"
	citeRegFConsent      = "12 CFR 1006.14(b)(3)(i)"
	citeRegFNumberCheck  = "12 CFR 1006.6(d)(5)"
	citeRegFOptOut       = "12 CFR 1006.6(e)"
	citeMAContacts       = "940 CMR 7.04(1)(f)"
	// 《互联网金融 个人网络消费信贷 贷后催收风控指引》, national standard.
	citeGBTHours = "风控指引, forbear's reading: collection hours"
	citeGBTCalls = "风控指引, forbear's reading: voice conversations a day"
	// 中国银行业协会《金融机构个人消费类贷款催收工作指引（试行）》.
	citeCBAHours    = "催收工作指引, forbear's reading: collection hours"
	citeCBAAttempts = "催收工作指引, forbear's reading: unanswered calls"
	// A value a preset sets that no text fixes.
	citeForbearChoice = "forbear's choice"
)

// pack is what one preset sets: only the rules it names, each with the
// article it follows (cite, by Sources key). Zero fields are not set.
type pack struct {
	window             *Window
	caps               map[domain.Channel]Cap
	afterConversation  time.Duration
	maxConnectedPerDay int
	maxCallsPerDay     int
	consentWindow      time.Duration
	numberCheck        time.Duration
	phoneContacts      PhoneCaps
	optOutLine         bool
	defaultZone        string
	cite               map[string]string
}

const day = 24 * time.Hour

// packs are the presets. Each value's source is in its cite entry; the
// package documentation and the README say which are forbear's choice.
var packs = map[string]pack{
	// CFPB Regulation F, 12 CFR part 1006.
	PresetUSRegF: {
		window:            &Window{Start: 8 * 60, End: 21 * 60},
		caps:              map[domain.Channel]Cap{domain.Voice: {Max: 7, Per: 7 * day, PerLoan: true}},
		afterConversation: 7 * day,
		consentWindow:     7 * day,
		numberCheck:       60 * day,
		optOutLine:        true,
		cite: map[string]string{
			RuleSendWindow:       citeRegFHours,
			CapKey(domain.Voice): citeRegFSevenInSeven,
			RuleConversation:     citeRegFConversation,
			SourceConsent:        citeRegFConsent,
			RuleNumberCheck:      citeRegFNumberCheck,
			SourceOptOutLine:     citeRegFOptOut,
		},
	},
	// Massachusetts, 940 CMR 7.04(1)(f) (creditors): per debt, at most two
	// calls or texts in each 7 days to a personal (home or mobile) number
	// and two in each 30 days to any other number.
	PresetUSMA: {
		phoneContacts: PhoneCaps{
			Personal: Cap{Max: 2, Per: 7 * day, PerLoan: true},
			Other:    Cap{Max: 2, Per: 30 * day, PerLoan: true},
		},
		cite: map[string]string{RulePhoneContacts: citeMAContacts},
	},
	// 《互联网金融 个人网络消费信贷 贷后催收风控指引》 (national standard, in
	// force 2025-02-28, replacing the NIFA 2024 guideline): no collection
	// 22:00-08:00; at most 3 effective voice conversations a day with one
	// debtor, automated voice included; the debtor only, never the
	// contacts they listed (forbear contacts nobody else: no rule needed).
	PresetCNGBT: {
		window:             &Window{Start: 8 * 60, End: 22 * 60},
		maxConnectedPerDay: 3,
		defaultZone:        "Asia/Shanghai",
		cite: map[string]string{
			RuleSendWindow:      citeGBTHours,
			RuleConnectedPerDay: citeGBTCalls,
			SourceDefaultZone:   citeForbearChoice,
		},
	},
	// 中国银行业协会《金融机构个人消费类贷款催收工作指引（试行）》(2026): no
	// collection 22:00-08:00; when calls go unanswered, at most 6 attempts
	// a day to the same contact method.
	PresetCNCBA: {
		window:         &Window{Start: 8 * 60, End: 22 * 60},
		maxCallsPerDay: 6,
		defaultZone:    "Asia/Shanghai",
		cite: map[string]string{
			RuleSendWindow:    citeCBAHours,
			RuleCallsPerDay:   citeCBAAttempts,
			SourceDefaultZone: citeForbearChoice,
		},
	},
}

// aliases map deprecated preset names to the preset they now mean.
var aliases = map[string]string{PresetCNNIFA: PresetCNGBT}

// PresetNames lists the presets compliance.preset accepts, sorted
// (aliases not included; see PresetAlias).
func PresetNames() []string { return slices.Sorted(maps.Keys(packs)) }

// PresetAlias returns the preset a deprecated name now means.
func PresetAlias(name string) (string, bool) {
	to, ok := aliases[name]
	return to, ok
}

// applyPresets applies the named presets to r in order, aliases resolved
// and each preset once; per rule the strictest value wins (see
// pack.apply). bad reports errors by key.
func applyPresets(r *Rules, names []string, bad func(key, format string, args ...any)) {
	key := func(i int) string {
		if len(names) == 1 {
			return "preset"
		}
		return fmt.Sprintf("preset[%d]", i)
	}
	set := map[string]bool{} // Sources keys a preset has set
	for i, name := range names {
		canon := name
		if to, ok := aliases[name]; ok {
			canon = to
			r.Deprecated = append(r.Deprecated, fmt.Sprintf("compliance.%s: %q is deprecated; it now means %q, the national standard that replaced the NIFA guideline (contact 08:00-22:00, at most 3 connected calls a day): name %q instead",
				key(i), name, to, to))
		}
		p, ok := packs[canon]
		switch {
		case name == "":
			bad(key(i), "must not be empty (want one of %s)", strings.Join(PresetNames(), ", "))
			continue
		case !ok:
			bad(key(i), "unknown preset %q (want one of %s; %s is an alias of %s)",
				name, strings.Join(PresetNames(), ", "), PresetCNNIFA, PresetCNGBT)
			continue
		case slices.Contains(r.Presets, canon):
			continue // named twice, or by its alias too
		}
		if err := p.apply(r, canon, set); err != nil {
			bad(key(i), "%s: %v", name, err)
			continue
		}
		r.Presets = append(r.Presets, canon)
	}
}

// apply sets p's rules on r as preset name. A value replaces the built-in
// one; over another preset's it wins only where it is stricter (a shorter
// window, fewer calls, a longer wait), so a combination of presets is at
// least as strict as each of them. Two caps neither of which is stricter
// are an error: the configuration must say which (compliance.caps).
func (p pack) apply(r *Rules, name string, set map[string]bool) error {
	src := func(key string) Source { return Source{Pack: name, Citation: p.cite[key]} }
	// take sets *cur to v when no preset set it yet or v is stricter.
	takeInt := func(key string, cur *int, v int) {
		if v > 0 && (!set[key] || v < *cur) {
			*cur, r.Sources[key] = v, src(key)
		}
		set[key] = set[key] || v > 0
	}
	takeDur := func(key string, cur *time.Duration, v time.Duration, longerIsStricter bool) {
		if v > 0 && (!set[key] || longerIsStricter == (v > *cur) && v != *cur) {
			*cur, r.Sources[key] = v, src(key)
		}
		set[key] = set[key] || v > 0
	}

	if p.window != nil {
		w := *p.window
		if set[RuleSendWindow] {
			old := r.Window
			both := Window{Start: max(old.Start, w.Start), End: min(old.End, w.End)}
			if both.Start >= both.End {
				return fmt.Errorf("its send window %s and the %s of %s leave no time to contact anyone", w, old, r.Sources[RuleSendWindow].Pack)
			}
			switch both {
			case old:
			case w:
				r.Sources[RuleSendWindow] = src(RuleSendWindow)
			default: // one bound from each
				prev := r.Sources[RuleSendWindow]
				r.Sources[RuleSendWindow] = Source{Pack: prev.Pack + "+" + name, Citation: prev.Citation + "; " + p.cite[RuleSendWindow]}
			}
			w = both
		} else {
			r.Sources[RuleSendWindow] = src(RuleSendWindow)
		}
		r.Window = w
		set[RuleSendWindow] = true
	}
	for _, ch := range slices.Sorted(maps.Keys(p.caps)) {
		c, key := p.caps[ch], CapKey(ch)
		if set[key] {
			old := r.Caps[ch]
			if !c.atLeastAsStrict(old) && !old.atLeastAsStrict(c) {
				return fmt.Errorf("its %s cap %s and the %s of %s cannot be ordered; set compliance.caps.%s", ch, c, old, r.Sources[key].Pack, ch)
			}
			if !c.atLeastAsStrict(old) {
				continue
			}
		}
		r.Caps[ch], r.Sources[key] = c, src(key)
		set[key] = true
	}
	if p.phoneContacts.on() {
		if set[RulePhoneContacts] {
			old := r.PhoneContacts
			newer := p.phoneContacts.Personal.atLeastAsStrict(old.Personal) && p.phoneContacts.Other.atLeastAsStrict(old.Other)
			older := old.Personal.atLeastAsStrict(p.phoneContacts.Personal) && old.Other.atLeastAsStrict(p.phoneContacts.Other)
			if !newer && !older {
				return fmt.Errorf("its phone contact caps and those of %s cannot be ordered", r.Sources[RulePhoneContacts].Pack)
			}
			if newer {
				r.PhoneContacts, r.Sources[RulePhoneContacts] = p.phoneContacts, src(RulePhoneContacts)
			}
		} else {
			r.PhoneContacts, r.Sources[RulePhoneContacts] = p.phoneContacts, src(RulePhoneContacts)
		}
		set[RulePhoneContacts] = true
	}
	takeDur(RuleConversation, &r.AfterConversation, p.afterConversation, true)
	takeInt(RuleConnectedPerDay, &r.MaxConnectedPerDay, p.maxConnectedPerDay)
	takeInt(RuleCallsPerDay, &r.MaxCallsPerDay, p.maxCallsPerDay)
	// A shorter consent window leaves more calls counted: stricter.
	takeDur(SourceConsent, &r.ConsentWindow, p.consentWindow, false)
	// A shorter age limit asks for fresher checks: stricter.
	takeDur(RuleNumberCheck, &r.NumberCheck, p.numberCheck, false)
	if p.optOutLine {
		if !r.RequireOptOutLine {
			r.Sources[SourceOptOutLine] = src(SourceOptOutLine)
		}
		r.RequireOptOutLine = true
	}
	if p.defaultZone != "" && r.DefaultZone == nil {
		loc, err := loadZone(p.defaultZone)
		if err != nil {
			return fmt.Errorf("needs time zone %s: %w", p.defaultZone, err)
		}
		r.DefaultZone, r.Sources[SourceDefaultZone] = loc, src(SourceDefaultZone)
	}
	return nil
}
