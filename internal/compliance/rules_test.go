package compliance

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

func TestCompile(t *testing.T) {
	t.Parallel()
	ny := loc(t, "America/New_York")
	sh := loc(t, "Asia/Shanghai")
	day := 24 * time.Hour
	smsCap := Cap{Max: 3, Per: day}
	voiceCap := Cap{Max: 7, Per: 7 * day, PerLoan: true}
	builtinKeywords := []string{"STOP", "UNSUBSCRIBE", "退订", "TD", "T"}
	regf := func(key, cite string) (string, Source) { return key, Source{Pack: PresetUSRegF, Citation: cite} }
	gbt := func(key, cite string) (string, Source) { return key, Source{Pack: PresetCNGBT, Citation: cite} }
	cfg := func(key, rule string) (string, Source) {
		return rule, Source{Pack: PackConfig, Citation: "compliance." + key}
	}
	sources := func(kv ...any) map[string]Source {
		m := map[string]Source{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(Source)
		}
		return m
	}
	regfSources := func(extra ...any) map[string]Source {
		k1, s1 := regf(RuleSendWindow, citeRegFHours)
		k2, s2 := regf(CapKey(domain.Voice), citeRegFSevenInSeven)
		k3, s3 := regf(RuleConversation, citeRegFConversation)
		k4, s4 := regf(SourceConsent, citeRegFConsent)
		k5, s5 := regf(RuleNumberCheck, citeRegFNumberCheck)
		k6, s6 := regf(SourceOptOutLine, citeRegFOptOut)
		return sources(append([]any{k1, s1, k2, s2, k3, s3, k4, s4, k5, s5, k6, s6}, extra...)...)
	}
	k1, s1 := gbt(RuleSendWindow, citeGBTHours)
	k2, s2 := gbt(RuleConnectedPerDay, citeGBTCalls)
	k3, s3 := gbt(SourceDefaultZone, citeForbearChoice)
	tests := []struct {
		name string
		in   config.Compliance
		def  *time.Location
		want Rules
	}{
		{"built-in", config.Compliance{}, ny, Rules{
			Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, OptOutKeywords: builtinKeywords, DefaultZone: ny, Sources: sources(),
		}},
		{"us-regf", config.Compliance{Preset: config.Presets{PresetUSRegF}}, ny, Rules{
			Presets: []string{PresetUSRegF}, Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, ConsentWindow: 7 * day, NumberCheck: 60 * day,
			OptOutKeywords: builtinKeywords, DefaultZone: ny, RequireOptOutLine: true, Sources: regfSources(),
		}},
		{"cn-gbt-2025 sets the default zone when none", config.Compliance{Preset: config.Presets{PresetCNGBT}}, nil, Rules{
			Presets: []string{PresetCNGBT}, Window: Window{480, 1320}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, MaxConnectedPerDay: 3, OptOutKeywords: builtinKeywords, DefaultZone: sh,
			Sources: sources(k1, s1, k2, s2, k3, s3),
		}},
		{"cn-gbt-2025 keeps scheduler.timezone", config.Compliance{Preset: config.Presets{PresetCNGBT}}, ny, Rules{
			Presets: []string{PresetCNGBT}, Window: Window{480, 1320}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, MaxConnectedPerDay: 3, OptOutKeywords: builtinKeywords, DefaultZone: ny,
			Sources: sources(k1, s1, k2, s2),
		}},
		{"cn-cba-2026", config.Compliance{Preset: config.Presets{PresetCNCBA}}, sh, Rules{
			Presets: []string{PresetCNCBA}, Window: Window{480, 1320}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, MaxCallsPerDay: 6, OptOutKeywords: builtinKeywords, DefaultZone: sh,
			Sources: sources(RuleSendWindow, Source{PresetCNCBA, citeCBAHours}, RuleCallsPerDay, Source{PresetCNCBA, citeCBAAttempts}),
		}},
		{"us-regf and us-ma", config.Compliance{Preset: config.Presets{PresetUSRegF, PresetUSMA}}, ny, Rules{
			Presets: []string{PresetUSRegF, PresetUSMA}, Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, ConsentWindow: 7 * day, NumberCheck: 60 * day,
			PhoneContacts:  PhoneCaps{Personal: Cap{Max: 2, Per: 7 * day, PerLoan: true}, Other: Cap{Max: 2, Per: 30 * day, PerLoan: true}},
			OptOutKeywords: builtinKeywords, DefaultZone: ny, RequireOptOutLine: true,
			Sources: regfSources(RulePhoneContacts, Source{PresetUSMA, citeMAContacts}),
		}},
		{"explicit keys override the preset", config.Compliance{
			Preset:             config.Presets{PresetCNGBT},
			SendWindow:         config.Window{Start: "09:00", End: "20:00"},
			Caps:               map[string]config.Cap{"sms": {Max: 2, Per: config.Duration(48 * time.Hour), Scope: "loan"}, "email": {Max: 5, Per: config.Duration(day)}},
			AfterConversation:  durp(3 * day),
			MaxConnectedPerDay: intp(1),
			OptOutKeywords:     []string{" stop ", "取消"},
		}, sh, Rules{
			Presets: []string{PresetCNGBT}, Window: Window{540, 1200},
			Caps:              map[domain.Channel]Cap{domain.SMS: {Max: 2, Per: 48 * time.Hour, PerLoan: true}, domain.Voice: voiceCap, domain.Email: {Max: 5, Per: day}},
			AfterConversation: 3 * day, MaxConnectedPerDay: 1, OptOutKeywords: []string{"stop", "取消"}, DefaultZone: sh,
			Sources: sources(func() []any {
				a, b := cfg("send_window", RuleSendWindow)
				c, d := cfg("caps.sms", CapKey(domain.SMS))
				e, f := cfg("caps.email", CapKey(domain.Email))
				g, h := cfg("after_conversation", RuleConversation)
				i, j := cfg("max_connected_per_day", RuleConnectedPerDay)
				return []any{a, b, c, d, e, f, g, h, i, j}
			}()...),
		}},
		{"caps {} removes every cap; 00:00-24:00 is no window", config.Compliance{
			Preset: config.Presets{PresetUSRegF}, Caps: map[string]config.Cap{}, SendWindow: config.Window{Start: "00:00", End: "24:00"},
		}, ny, Rules{
			Presets: []string{PresetUSRegF}, Window: Window{0, 1440}, Caps: map[domain.Channel]Cap{},
			AfterConversation: 7 * day, ConsentWindow: 7 * day, NumberCheck: 60 * day,
			OptOutKeywords: builtinKeywords, DefaultZone: ny, RequireOptOutLine: true,
			Sources: func() map[string]Source {
				m := regfSources()
				for _, ch := range domain.Channels {
					m[CapKey(ch)] = Source{PackConfig, "compliance.caps"}
				}
				m[RuleSendWindow] = Source{PackConfig, "compliance.send_window"}
				return m
			}(),
		}},
		{"max 0 removes one cap; voice defaults to per loan", config.Compliance{
			Caps: map[string]config.Cap{"sms": {Max: 0}, "voice": {Max: 4, Per: config.Duration(day)}},
		}, ny, Rules{
			Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.Voice: {Max: 4, Per: day, PerLoan: true}},
			AfterConversation: 7 * day, OptOutKeywords: builtinKeywords, DefaultZone: ny,
			Sources: sources(CapKey(domain.SMS), Source{PackConfig, "compliance.caps.sms"}, CapKey(domain.Voice), Source{PackConfig, "compliance.caps.voice"}),
		}},
		{"voice per borrower", config.Compliance{
			Caps: map[string]config.Cap{"voice": {Max: 4, Per: config.Duration(day), Scope: "borrower"}},
		}, ny, Rules{
			Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: {Max: 4, Per: day}},
			AfterConversation: 7 * day, OptOutKeywords: builtinKeywords, DefaultZone: ny,
			Sources: sources(CapKey(domain.Voice), Source{PackConfig, "compliance.caps.voice"}),
		}},
		{"empty keyword list", config.Compliance{OptOutKeywords: []string{}}, ny, Rules{
			Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, OptOutKeywords: []string{}, DefaultZone: ny, Sources: sources(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Compile(tt.in, tt.def)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Compile =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      config.Compliance
		wantErr []string
	}{
		{"unknown preset", config.Compliance{Preset: config.Presets{"eu-gdpr"}}, []string{`compliance.preset: unknown preset "eu-gdpr" (want one of cn-cba-2026, cn-gbt-2025, us-ma, us-regf; cn-nifa is an alias of cn-gbt-2025)`}},
		{"unknown preset in a list", config.Compliance{Preset: config.Presets{PresetUSRegF, "us-ny"}}, []string{`compliance.preset[1]: unknown preset "us-ny"`}},
		{"empty preset in a list", config.Compliance{Preset: config.Presets{PresetUSRegF, ""}}, []string{`compliance.preset[1]: must not be empty`}},
		{"bad start", config.Compliance{SendWindow: config.Window{Start: "8am", End: "21:00"}}, []string{`compliance.send_window.start: "8am" is not HH:MM`}},
		{"missing end", config.Compliance{SendWindow: config.Window{Start: "08:00"}}, []string{`compliance.send_window.end: "" is not HH:MM`}},
		{"start 24:00", config.Compliance{SendWindow: config.Window{Start: "24:00", End: "24:00"}}, []string{"compliance.send_window.start: \"24:00\": the window cannot start at 24:00"}},
		{"bad minute", config.Compliance{SendWindow: config.Window{Start: "08:60", End: "21:00"}}, []string{"compliance.send_window.start"}},
		{"wrapping window", config.Compliance{SendWindow: config.Window{Start: "21:00", End: "08:00"}}, []string{"compliance.send_window: start 21:00 must be before end 08:00"}},
		{"unknown channel", config.Compliance{Caps: map[string]config.Cap{"fax": {Max: 1, Per: config.Duration(time.Hour)}}}, []string{"compliance.caps.fax: unknown channel"}},
		{"negative max", config.Compliance{Caps: map[string]config.Cap{"sms": {Max: -1, Per: config.Duration(time.Hour)}}}, []string{"compliance.caps.sms.max: must not be negative"}},
		{"missing per", config.Compliance{Caps: map[string]config.Cap{"sms": {Max: 3}}}, []string{"compliance.caps.sms.per: must be a positive duration"}},
		{"bad scope", config.Compliance{Caps: map[string]config.Cap{"voice": {Max: 3, Per: config.Duration(time.Hour), Scope: "debt"}}}, []string{`compliance.caps.voice.scope: unknown scope "debt"`}},
		{"negative after_conversation", config.Compliance{AfterConversation: durp(-time.Hour)}, []string{"compliance.after_conversation: must not be negative"}},
		{"negative max_connected_per_day", config.Compliance{MaxConnectedPerDay: intp(-1)}, []string{"compliance.max_connected_per_day: must not be negative"}},
		{"empty keyword", config.Compliance{OptOutKeywords: []string{"STOP", " "}}, []string{"compliance.opt_out_keywords[1]: must not be empty"}},
		{"all at once", config.Compliance{Preset: config.Presets{"x"}, Caps: map[string]config.Cap{"sms": {Max: 3}, "fax": {}}, MaxConnectedPerDay: intp(-2)},
			[]string{"compliance.preset", "compliance.caps.sms.per", "compliance.caps.fax", "compliance.max_connected_per_day"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tt.in, nil)
			if err == nil {
				t.Fatal("Compile succeeded, want an error")
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestPresetNames(t *testing.T) {
	t.Parallel()
	if got, want := PresetNames(), []string{PresetCNCBA, PresetCNGBT, PresetUSMA, PresetUSRegF}; !slices.Equal(got, want) {
		t.Fatalf("PresetNames = %v, want %v", got, want)
	}
}

func TestKeep(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tests := []struct {
		name string
		in   config.Compliance
		want time.Duration
	}{
		{"built-in", config.Compliance{}, 7 * day},
		{"long sms cap", config.Compliance{Caps: map[string]config.Cap{"sms": {Max: 10, Per: config.Duration(30 * day)}}}, 30 * day},
		{"connected per day only", config.Compliance{Caps: map[string]config.Cap{}, AfterConversation: durp(0), MaxConnectedPerDay: intp(3)}, 48 * time.Hour},
		{"nothing", config.Compliance{Caps: map[string]config.Cap{}, AfterConversation: durp(0)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := compile(t, tt.in, nil).Keep(); got != tt.want {
				t.Fatalf("Keep = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestIsOptOut(t *testing.T) {
	t.Parallel()
	r := compile(t, config.Compliance{}, nil)
	for msg, want := range map[string]bool{"STOP": true, " stop\n": true, "退订": true, "td": true, "T": true, "stop please": false, "": false, "Tea": false} {
		if got := r.IsOptOut(msg); got != want {
			t.Errorf("IsOptOut(%q) = %v, want %v", msg, got, want)
		}
	}
}

func TestZeroRulesAllowEverything(t *testing.T) {
	t.Parallel()
	var r Rules
	now := utc(t, "2026-05-05T03:00:00Z")
	l := Ledger{Attempts: []Attempt{attempt(domain.Voice, "L1", now.Add(-time.Hour), OutcomeConnected)}}
	if d := r.Check(now, reminder(domain.Voice, "L1"), borrower("", ""), l); !d.Allowed {
		t.Fatalf("zero Rules: %+v", d)
	}
}

func TestZones(t *testing.T) {
	t.Parallel()
	sh := loc(t, "Asia/Shanghai")
	tests := []struct {
		phone, stored string
		def           *time.Location
		want          []string
	}{
		{"", "Europe/Berlin", sh, []string{"Europe/Berlin"}},
		{"", "", sh, []string{"Asia/Shanghai"}},
		{"", "", nil, []string{"UTC"}},
		{"", "Nowhere/Special", sh, []string{"Asia/Shanghai"}},
		{"", "Local", sh, []string{"Asia/Shanghai"}},
		{"+8613800138000", "Asia/Shanghai", sh, []string{"Asia/Shanghai"}},
		{"+8613800138000", "America/Chicago", sh, []string{"America/Chicago", "Asia/Shanghai"}},
		{"+1 (212) 555-0100", "Asia/Shanghai", sh, []string{"Asia/Shanghai", "America/New_York"}},
		{"+12135550100", "America/New_York", sh, []string{"America/New_York", "America/Los_Angeles"}},
		{"+16025550100", "America/Denver", sh, []string{"America/Denver", "America/Phoenix"}},
		{"+12085550100", "America/Boise", sh, []string{"America/Boise", "America/Los_Angeles"}}, // Idaho: two zones
		{"+12085550100", "Asia/Shanghai", sh, []string{"Asia/Shanghai", "America/Boise", "America/Los_Angeles"}},
		{"+19075550100", "", sh, []string{"Asia/Shanghai", "America/Adak", "America/Anchorage"}},
		{"+74951234567", "Europe/Moscow", sh, []string{"Europe/Moscow"}},                     // +7: several zones
		{"+61212345678", "Asia/Shanghai", sh, []string{"Asia/Shanghai", "Australia/Sydney"}}, // +61 2: New South Wales
		{"+85291234567", "", sh, []string{"Asia/Shanghai", "Asia/Hong_Kong"}},
		{"+2348012345678", "Africa/Lagos", sh, []string{"Africa/Lagos"}},
		{"13800138000", "", sh, []string{"Asia/Shanghai"}}, // not E.164
		{"+44 20 7946 0000 ext 5", "", sh, []string{"Asia/Shanghai"}},
	}
	for _, tt := range tests {
		t.Run(tt.phone+"|"+tt.stored, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, z := range Zones(tt.phone, tt.stored, tt.def) {
				got = append(got, z.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Zones = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPhoneZonesLoad: every zone the phone data names loads (its
// "unknown" marker aside), so that no number loses a zone to a name Go's
// zone database does not know.
func TestPhoneZonesLoad(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for cc := 1; cc < 1000; cc++ {
		for _, rest := range []string{"", "2000000", "5550100", "9000000"} {
			zs, err := phonenumbers.GetTimezonesForPrefix("+" + strconv.Itoa(cc) + rest)
			if err != nil {
				t.Fatal(err)
			}
			for _, z := range zs {
				names[z] = true
			}
		}
	}
	delete(names, phonenumbers.UNKNOWN_TIMEZONE)
	if len(names) < 250 {
		t.Fatalf("only %d zones over every country code", len(names))
	}
	for name := range names {
		if _, err := loadZone(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
