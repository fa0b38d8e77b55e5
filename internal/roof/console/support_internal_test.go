package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// TestMaskerMasksEveryAddressOfTheBorrower: the borrower's current and
// former addresses are masked inside free text, a number also without its
// "+", the longer of two overlapping addresses whole; an in-app address
// (the borrower id) and text that merely looks like an address are left.
func TestMaskerMasksEveryAddressOfTheBorrower(t *testing.T) {
	b := domain.Borrower{ID: "b-1", Phone: "+8613800000001", Email: "li@example.com"}
	sup := domain.Suppressions{OptOuts: []domain.OptOut{{Channel: domain.SMS, Address: "+861380000000"}}}
	records := []domain.Delivery{
		{Channel: domain.Email, To: "old.li@example.com"},
		{Channel: domain.InApp, To: "b-1"},
		{Channel: domain.SMS, To: "123"},
	}
	m := maskerFor(b, sup, records)
	for in, want := range map[string]string{
		"call +8613800000001 now":                   "call +86*********01 now",
		"Twilio: 8613800000001 is unreachable":      "Twilio: 861********01 is unreachable",
		"mail li@example.com or old.li@example.com": "mail l*@example.com or o*****@example.com",
		"opted out: +861380000000.":                 "opted out: +86********00.",
		"borrower b-1, loan 123, 2026-11-24":        "borrower b-1, loan 123, 2026-11-24",
	} {
		if got := m.text(in); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMuteFormRequest: the presets count from the instance's clock; a
// date is midnight in the viewer's zone and wins over a preset; an RFC
// 3339 time is taken as it is; no until is a mute without end, as in the
// API; anything else is said beside until.
func TestMuteFormRequest(t *testing.T) {
	now := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	at := func(tm time.Time) *time.Time { return &tm }
	tests := []struct {
		form      url.Values
		wantUntil *time.Time
		wantErr   bool
	}{
		{url.Values{"until": {"1d"}}, at(now.Add(24 * time.Hour)), false},
		{url.Values{"until": {"7d", ""}}, at(now.Add(7 * 24 * time.Hour)), false},
		{url.Values{"until": {"30d"}}, at(now.Add(30 * 24 * time.Hour)), false},
		{url.Values{"until": {"", ""}}, nil, false},
		{url.Values{}, nil, false},
		{url.Values{"until": {"7d", "2026-12-01"}}, at(time.Date(2026, 12, 1, 0, 0, 0, 0, sh)), false},
		{url.Values{"until": {"2026-12-01T08:00:00Z"}}, at(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)), false},
		{url.Values{"until": {"tomorrow"}}, nil, true},
		{url.Values{"until": {"2026-13-01"}}, nil, true},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(tt.form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := r.ParseForm(); err != nil {
			t.Fatal(err)
		}
		f := parseMuteForm(r)
		req, ok := f.request(English, now, sh)
		switch {
		case ok == tt.wantErr:
			t.Errorf("%v: ok %v, errors %v", tt.form, ok, f.Errors)
		case tt.wantErr && f.Errors[fieldUntil] == "":
			t.Errorf("%v: no error beside until", tt.form)
		case !tt.wantErr && (req.Until == nil) != (tt.wantUntil == nil):
			t.Errorf("%v: until %v, want %v", tt.form, req.Until, tt.wantUntil)
		case !tt.wantErr && req.Until != nil && !req.Until.Equal(*tt.wantUntil):
			t.Errorf("%v: until %s, want %s", tt.form, req.Until, tt.wantUntil)
		}
	}
}

func TestFormField(t *testing.T) {
	for api, want := range map[string]string{"channels": "channels", "channels[2]": "channels", "until": "until",
		"reason": "reason", "": "", "channelsx": "", "data.reason": ""} {
		if got := formField(api); got != want {
			t.Errorf("formField(%q) = %q, want %q", api, got, want)
		}
	}
}
