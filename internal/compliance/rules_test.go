package compliance

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/domain"
)

func TestCompile(t *testing.T) {
	t.Parallel()
	ny := loc(t, "America/New_York")
	sh := loc(t, "Asia/Shanghai")
	day := 24 * time.Hour
	smsCap := Cap{Max: 3, Per: day}
	voiceCap := Cap{Max: 7, Per: 7 * day, PerLoan: true}
	builtinKeywords := []string{"STOP", "UNSUBSCRIBE", "退订", "TD", "T"}
	tests := []struct {
		name string
		in   config.Compliance
		def  *time.Location
		want Rules
	}{
		{"built-in", config.Compliance{}, ny, Rules{
			Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, OptOutKeywords: builtinKeywords, DefaultZone: ny,
		}},
		{"us-regf", config.Compliance{Preset: PresetUSRegF}, ny, Rules{
			Preset: PresetUSRegF, Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, OptOutKeywords: builtinKeywords, DefaultZone: ny, RequireOptOutLine: true,
		}},
		{"cn-nifa sets the default zone when none", config.Compliance{Preset: PresetCNNIFA}, nil, Rules{
			Preset: PresetCNNIFA, Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, MaxConnectedPerDay: 3, OptOutKeywords: builtinKeywords, DefaultZone: sh,
		}},
		{"cn-nifa keeps scheduler.timezone", config.Compliance{Preset: PresetCNNIFA}, ny, Rules{
			Preset: PresetCNNIFA, Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, MaxConnectedPerDay: 3, OptOutKeywords: builtinKeywords, DefaultZone: ny,
		}},
		{"explicit keys override the preset", config.Compliance{
			Preset:             PresetCNNIFA,
			SendWindow:         config.Window{Start: "09:00", End: "20:00"},
			Caps:               map[string]config.Cap{"sms": {Max: 2, Per: config.Duration(48 * time.Hour), Scope: "loan"}, "email": {Max: 5, Per: config.Duration(day)}},
			AfterConversation:  durp(3 * day),
			MaxConnectedPerDay: intp(1),
			OptOutKeywords:     []string{" stop ", "取消"},
		}, sh, Rules{
			Preset: PresetCNNIFA, Window: Window{540, 1200},
			Caps:              map[domain.Channel]Cap{domain.SMS: {Max: 2, Per: 48 * time.Hour, PerLoan: true}, domain.Voice: voiceCap, domain.Email: {Max: 5, Per: day}},
			AfterConversation: 3 * day, MaxConnectedPerDay: 1, OptOutKeywords: []string{"stop", "取消"}, DefaultZone: sh,
		}},
		{"caps {} removes every cap; 00:00-24:00 is no window", config.Compliance{
			Preset: PresetUSRegF, Caps: map[string]config.Cap{}, SendWindow: config.Window{Start: "00:00", End: "24:00"},
		}, ny, Rules{
			Preset: PresetUSRegF, Window: Window{0, 1440}, Caps: map[domain.Channel]Cap{},
			AfterConversation: 7 * day, OptOutKeywords: builtinKeywords, DefaultZone: ny, RequireOptOutLine: true,
		}},
		{"max 0 removes one cap; voice defaults to per loan", config.Compliance{
			Caps: map[string]config.Cap{"sms": {Max: 0}, "voice": {Max: 4, Per: config.Duration(day)}},
		}, ny, Rules{
			Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.Voice: {Max: 4, Per: day, PerLoan: true}},
			AfterConversation: 7 * day, OptOutKeywords: builtinKeywords, DefaultZone: ny,
		}},
		{"voice per borrower", config.Compliance{
			Caps: map[string]config.Cap{"voice": {Max: 4, Per: config.Duration(day), Scope: "borrower"}},
		}, ny, Rules{
			Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: {Max: 4, Per: day}},
			AfterConversation: 7 * day, OptOutKeywords: builtinKeywords, DefaultZone: ny,
		}},
		{"empty keyword list", config.Compliance{OptOutKeywords: []string{}}, ny, Rules{
			Window: Window{480, 1260}, Caps: map[domain.Channel]Cap{domain.SMS: smsCap, domain.Voice: voiceCap},
			AfterConversation: 7 * day, OptOutKeywords: []string{}, DefaultZone: ny,
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
		{"unknown preset", config.Compliance{Preset: "eu-gdpr"}, []string{`compliance.preset: unknown preset "eu-gdpr" (want one of cn-nifa, us-regf)`}},
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
		{"all at once", config.Compliance{Preset: "x", Caps: map[string]config.Cap{"sms": {Max: 3}, "fax": {}}, MaxConnectedPerDay: intp(-2)},
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
	if got, want := PresetNames(), []string{PresetCNNIFA, PresetUSRegF}; !slices.Equal(got, want) {
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
		{"+15555550100", "America/Denver", sh, []string{"America/Denver"}}, // unknown area code
		{"+74951234567", "Europe/Moscow", sh, []string{"Europe/Moscow"}},   // +7: several zones
		{"+61212345678", "Asia/Shanghai", sh, []string{"Asia/Shanghai"}},   // +61: several zones
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

// TestPhoneZonesLoad: every zone in the phone tables exists.
func TestPhoneZonesLoad(t *testing.T) {
	t.Parallel()
	for _, table := range []map[string]string{countryZones, nanpZones} {
		for code, zone := range table {
			if _, err := loadZone(zone); err != nil {
				t.Errorf("%s -> %s: %v", code, zone, err)
			}
		}
	}
}
