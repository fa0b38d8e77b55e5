package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
)

// TestMuteFromThePage: the mute form posts channels, until (a preset)
// and reason; the answer, a redirect to the borrower page, comes after the
// fence's hold (two leases), and the page then shows the mute with the
// guarantee's wording, as the API lists it (author desk).
func TestMuteFromThePage(t *testing.T) {
	t.Parallel()
	const lease = 150 * time.Millisecond
	b := newSupport(t, lease)
	b.addLi(t)
	s := b.browser(t, "t-desk")
	page := s.get(t, "/console/borrowers/b-li")
	form, _ := byID(t, page.body, "mute-form")
	if attrOf(form, "action") != "/console/borrowers/b-li/mutes" || attrOf(form, "method") != "post" {
		t.Fatalf("mute form %s", form)
	}
	for _, id := range []string{"mute-channel-sms", "mute-channel-voice", "mute-channel-email", "mute-channel-inapp",
		"mute-until-1d", "mute-until-7d", "mute-until-30d", "mute-until-none", "mute-until-date", "mute-reason"} {
		if !strings.Contains(page.body, `<label for="`+id+`"`) {
			t.Errorf("input %s has no label", id)
		}
	}
	if open, _ := byID(t, page.body, "mute-until-7d"); !strings.Contains(open, " checked") {
		t.Errorf("7 days is not the preset chosen: %s", open)
	}

	start := time.Now()
	res := s.post(t, "/console/borrowers/b-li/mutes", url.Values{"csrf": {page.csrf(t)},
		"channels": {"sms", "email"}, "until": {"7d", ""}, "reason": {"disputes the debt"}})
	took := time.Since(start)
	if res.status != http.StatusSeeOther {
		t.Fatalf("mute: %d\n%s", res.status, res.body)
	}
	if took < 2*lease {
		t.Errorf("the mute was answered after %s, before the fence's hold of %s", took, 2*lease)
	}
	loc, _ := url.Parse(res.header.Get("Location"))
	muteID := loc.Query().Get("muted")
	if loc.Path != "/console/borrowers/b-li" || muteID == "" {
		t.Fatalf("redirect to %q, want the borrower page naming the mute", res.header.Get("Location"))
	}

	var added domain.Mute
	for _, m := range b.apiBorrower(t, "b-li").Suppressions.Mutes {
		if m.ID == muteID {
			added = m
		}
	}
	wantUntil := supportNow.Add(7 * 24 * time.Hour)
	if added.By != "desk" || !slices.Equal(added.Channels, []domain.Channel{domain.SMS, domain.Email}) || added.Until == nil ||
		!added.Until.Equal(wantUntil) || added.Reason != "disputes the debt" {
		t.Fatalf("the API lists mute %s as %+v, want sms and email until %s by desk", muteID, added, wantUntil)
	}

	body := s.get(t, loc.RequestURI()).body
	open, ack := byID(t, body, "acknowledged")
	if attrOf(open, "data-mute-id") != muteID || !strings.Contains(words(ack), "Mute "+muteID+" is in force.") {
		t.Errorf("no acknowledgement of %s: %s", muteID, words(ack))
	}
	if _, g := byID(t, ack, "acknowledged-guarantee"); !strings.Contains(words(g), "No reminder in its scope (SMS, Email) starts after this moment") {
		t.Errorf("guarantee wording: %q", words(g))
	}
	for testid, want := range map[string]string{
		"acknowledged-channels": "SMS, Email",
		"acknowledged-until":    wantUntil.UTC().Format("2006-01-02 15:04 MST"),
		"acknowledged-reason":   "disputes the debt",
		"acknowledged-by":       "desk",
	} {
		if _, got := allByTestID(t, ack, testid); len(got) != 1 || words(got[0]) != want {
			t.Errorf("%s: %v, want %q", testid, got, want)
		}
	}
	if _, row := byID(t, body, "mute-"+muteID); !strings.Contains(words(row), "disputes the debt") {
		t.Errorf("the new mute is not among the suppressions")
	}
}

// TestMuteUntilADateInTheViewersZone: a date is midnight in the viewer's
// zone, and wins over the preset.
func TestMuteUntilADateInTheViewersZone(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	b.addLi(t)
	s := b.browser(t, "t-desk")
	s.client.Jar.SetCookies(mustURL(t, b.srv.URL+"/console/"), []*http.Cookie{{Name: "forbear_tz", Value: "Asia/Shanghai", Path: "/console/"}})
	page := s.get(t, "/console/borrowers/b-li")
	res := s.post(t, "/console/borrowers/b-li/mutes", url.Values{"csrf": {page.csrf(t)}, "until": {"30d", "2026-12-01"}, "reason": {"holiday"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("mute: %d", res.status)
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	want := time.Date(2026, 12, 1, 0, 0, 0, 0, sh)
	for _, m := range b.apiBorrower(t, "b-li").Suppressions.Mutes {
		if m.Reason == "holiday" && (m.Until == nil || !m.Until.Equal(want) || len(m.Channels) != 0) {
			t.Errorf("mute until %v on %v, want every channel until %s", m.Until, m.Channels, want)
		}
	}
}

// TestRefusedMuteShowsTheReasonBesideItsField: what the intake refuses
// comes back as the form, with the intake's reason beside the field it
// names and what was typed kept; nothing is muted.
func TestRefusedMuteShowsTheReasonBesideItsField(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	b.addLi(t)
	s := b.browser(t, "t-desk")
	csrf := s.get(t, "/console/borrowers/b-li").csrf(t)
	tests := []struct {
		name   string
		form   url.Values
		field  string
		status int
		want   string
	}{
		{"no reason", url.Values{"channels": {"sms"}, "until": {"1d"}, "reason": {"  "}}, "reason", http.StatusBadRequest, "is required"},
		{"until in the past", url.Values{"until": {"7d", "2026-11-01"}, "reason": {"x"}}, "until", http.StatusBadRequest, "must be in the future"},
		{"until not a date", url.Values{"until": {"next week"}, "reason": {"x"}}, "until", http.StatusBadRequest, "is not a date"},
		{"unknown channel", url.Values{"channels": {"fax"}, "reason": {"x"}}, "channels", http.StatusBadRequest, "must be sms, voice, email or inapp"},
	}
	for _, tt := range tests {
		tt.form.Set("csrf", csrf)
		res := s.post(t, "/console/borrowers/b-li/mutes", tt.form)
		if res.status != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, res.status, tt.status)
			continue
		}
		if _, e := byID(t, res.body, "mute-"+tt.field+"-error"); !strings.Contains(words(e), tt.want) {
			t.Errorf("%s: beside %s %q, want %q", tt.name, tt.field, words(e), tt.want)
		}
		if !strings.Contains(res.body, `id="mute-refused"`) {
			t.Errorf("%s: no summary of the refusal", tt.name)
		}
	}
	// What was typed is kept.
	res := s.post(t, "/console/borrowers/b-li/mutes", url.Values{"csrf": {csrf}, "channels": {"voice"}, "until": {"30d"}, "reason": {""}})
	if open, _ := byID(t, res.body, "mute-channel-voice"); !strings.Contains(open, " checked") {
		t.Errorf("the voice box is no longer ticked: %s", open)
	}
	if open, _ := byID(t, res.body, "mute-until-30d"); !strings.Contains(open, " checked") {
		t.Errorf("30 days is no longer chosen: %s", open)
	}
	if open, _ := byID(t, res.body, "mute-reason"); attrOf(open, "aria-invalid") != "true" || !strings.Contains(attrOf(open, "aria-describedby"), "mute-reason-error") {
		t.Errorf("the reason box does not point at its error: %s", open)
	}
	if n := len(b.apiBorrower(t, "b-li").Suppressions.Mutes); n != 1 {
		t.Errorf("%d mutes after the refusals, want the one from before", n)
	}
}

// TestMuteLimitIsSaidAboveTheForm: a borrower with as many mutes as forbear
// keeps gets 409 and the intake's reason above the form.
func TestMuteLimitIsSaidAboveTheForm(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	b.publish(t, borrowerUpserted("b-full", "Full", "+8613800000009", "full@example.com"))
	if _, err := b.state.UpdateSuppressions(b.ctx, "b-full", func(s *domain.Suppressions) error {
		for i := range 50 {
			s.Mutes = append(s.Mutes, domain.Mute{ID: "mute_" + strconv.Itoa(i), Reason: "r", Created: supportNow})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s := b.browser(t, "t-desk")
	res := s.post(t, "/console/borrowers/b-full/mutes", url.Values{"csrf": {s.get(t, "/console/borrowers/b-full").csrf(t)}, "reason": {"one more"}})
	if _, e := byID(t, res.body, "mute-error"); res.status != http.StatusConflict || !strings.Contains(words(e), "already has 50 mutes in force") {
		t.Errorf("51st mute: %d %q", res.status, words(e))
	}
}

// TestUnmuteAsksThenLifts: the unmute button leads to a page with the
// mute's details and a form (data-confirm asks again with JavaScript);
// posting it lifts the mute, as DELETE would, and the borrower page says
// so. Lifting it again, or a mute that is not there, is the 404 page.
func TestUnmuteAsksThenLifts(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	muteID := b.addLi(t)
	s := b.browser(t, "t-desk")
	page := s.get(t, "/console/borrowers/b-li")
	link, _ := byID(t, page.body, "unmute-"+muteID)
	confirm := s.get(t, attrOf(link, "href"))
	if confirm.status != http.StatusOK {
		t.Fatalf("unmute page %s: %d", attrOf(link, "href"), confirm.status)
	}
	form, _ := byID(t, confirm.body, "unmute-form")
	if attrOf(form, "method") != "post" || attrOf(form, "data-confirm") == "" || attrOf(form, "action") != attrOf(link, "href") {
		t.Errorf("unmute form %s", form)
	}
	_, details := byID(t, confirm.body, "unmute-details")
	if !strings.Contains(words(details), "complaint; called from "+logging.Phone(liPhone)) || !strings.Contains(words(details), "desk") {
		t.Errorf("the confirmation does not show the mute: %q", words(details))
	}
	if strings.Contains(confirm.body, liPhone) {
		t.Errorf("the confirmation holds the number in full")
	}
	if n := len(b.apiBorrower(t, "b-li").Suppressions.Mutes); n != 1 {
		t.Fatalf("opening the confirmation changed the mutes: %d", n)
	}

	res := s.post(t, attrOf(form, "action"), url.Values{"csrf": {confirm.csrf(t)}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/borrowers/b-li?unmuted="+muteID+"#lifted" {
		t.Fatalf("unmute: %d to %q", res.status, res.header.Get("Location"))
	}
	if n := len(b.apiBorrower(t, "b-li").Suppressions.Mutes); n != 0 {
		t.Errorf("%d mutes after the unmute, want none", n)
	}
	after := s.get(t, res.header.Get("Location"))
	if _, lifted := byID(t, after.body, "lifted"); !strings.Contains(words(lifted), "Mute "+muteID+" is lifted") {
		t.Errorf("the borrower page does not say the mute is lifted: %q", words(lifted))
	}
	if res := s.post(t, attrOf(form, "action"), url.Values{"csrf": {confirm.csrf(t)}}); res.status != http.StatusNotFound {
		t.Errorf("lifting it again: %d, want 404", res.status)
	}
	if res := s.get(t, "/console/borrowers/b-li/mutes/mute_nothere/unmute"); res.status != http.StatusNotFound {
		t.Errorf("confirmation of an unknown mute: %d, want 404", res.status)
	}
}
