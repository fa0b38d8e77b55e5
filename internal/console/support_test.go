package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/inapp"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/logging"
	"github.com/forbear/forbear/internal/support"
)

const (
	liPhone = "+8613800000001"
	liEmail = "li.lei@example.com"
)

// addLi loads borrower b-li (Shanghai): loan L-1 overdue since 20
// November, loan L-2 under agreement A-1 (two instalments), calls muted by
// desk through the API (with the number in the reason), SMS to the number
// opted out at the provider, and three delivery records. It returns the
// mute's id.
func (b *supportBundle) addLi(t *testing.T) string {
	t.Helper()
	b.publish(t,
		borrowerUpserted("b-li", "Li Lei", liPhone, liEmail),
		loanUpdated("b-li", "L-1", "2026-11-20"),
		loanUpdated("b-li", "L-2", "2026-11-10"),
		supEvent("agreement.activated", `{"borrower_id":"b-li","agreement_id":"A-1","kind":"installment","loan_ids":["L-2"],
			"installments":[{"due_date":"2026-12-01","amount":"300.00"},{"due_date":"2026-12-15","amount":"300.00"}]}`),
	)
	var m domain.Mute
	if status := b.api(t, http.MethodPost, "/v1/borrowers/b-li/mutes", "t-desk",
		`{"channels":["voice"],"reason":"complaint; called from `+liPhone+`"}`, &m); status != http.StatusCreated {
		t.Fatalf("mute: %d", status)
	}
	if err := b.intake.AddOptOut(b.ctx, "b-li", domain.OptOut{Channel: domain.SMS, Address: liPhone, Source: "twilio-21610",
		At: supportNow.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rem := domain.Reminder{ID: "L-1/overdue/0/sms", BorrowerID: "b-li", LoanID: "L-1", Channel: domain.SMS,
		Category: domain.Collection, Step: "overdue", Template: "overdue"}
	queued := domain.NewDelivery(rem, domain.Queued, supportNow.Add(-3*time.Hour))
	sent := domain.NewDelivery(rem, domain.Sent, supportNow.Add(-2*time.Hour))
	sent.To, sent.ProviderRef, sent.TemplateVersion = liPhone, "SM0001", 3
	sent.SetText("", "Hi Li Lei, loan L-1 is overdue. Questions? We call you on "+liPhone+". Reply STOP")
	mail := domain.NewDelivery(domain.Reminder{ID: "L-1/overdue/0/email", BorrowerID: "b-li", LoanID: "L-1", Channel: domain.Email,
		Category: domain.Collection, Step: "overdue", Template: "overdue"}, domain.Failed, supportNow.Add(-time.Hour))
	mail.To, mail.Reason, mail.TemplateVersion = liEmail, "smtp: 550 mailbox "+liEmail+" unavailable", 3
	mail.SetText("Loan L-1 is overdue", "Dear Li Lei, please repay.")
	for _, d := range []domain.Delivery{queued, sent, mail} {
		if err := b.audit.Record(b.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	return m.ID
}

// TestBorrowerPageShowsWhatTheAPIReturns: the borrower page at its stable
// URL shows what GET /v1/borrowers/{id} and its deliveries return: zone
// and local time, cases with days past due, the agreement and its plan,
// every suppression with what it stops and the next reminders it holds
// back, the next reminders with each channel's check, and the delivery
// timeline newest first with rendered text, reason and provider
// reference. No contact point is in the page in full.
func TestBorrowerPageShowsWhatTheAPIReturns(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	muteID := b.addLi(t)
	want := b.apiBorrower(t, "b-li")
	var deliveries struct {
		Deliveries []domain.Delivery `json:"deliveries"`
	}
	b.api(t, http.MethodGet, "/v1/borrowers/b-li/deliveries", "t-desk", "", &deliveries)

	res := b.browser(t, "t-desk").get(t, "/console/borrowers/b-li")
	if res.status != http.StatusOK {
		t.Fatalf("borrower page: %d\n%s", res.status, res.body)
	}
	body := res.body

	for _, full := range []string{liPhone, strings.TrimPrefix(liPhone, "+"), liEmail} {
		if strings.Contains(body, full) {
			t.Errorf("the page holds %q in full", full)
		}
	}
	for id, wantText := range map[string]string{
		"profile-name":       "Li Lei",
		"profile-phone":      logging.Phone(liPhone),
		"profile-email":      logging.Email(liEmail),
		"profile-zone":       "Asia/Shanghai",
		"profile-local-time": want.LocalTime.In(shanghai(t)).Format("2006-01-02 15:04 MST"),
	} {
		if _, inner := byID(t, body, id); words(inner) != wantText {
			t.Errorf("#%s = %q, want %q", id, words(inner), wantText)
		}
	}
	if want.LocalTime.Format("15:04") != "01:00" {
		t.Errorf("API local time %s, want 01:00 in Shanghai", want.LocalTime)
	}

	opens, inners := allByTestID(t, body, "case")
	if len(opens) != len(want.Cases) {
		t.Fatalf("%d case rows, the API has %d cases", len(opens), len(want.Cases))
	}
	for i, c := range want.Cases {
		_, dpd := allByTestID(t, inners[i], "case-dpd")
		if attrOf(opens[i], "data-loan-id") != c.LoanID || words(dpd[0]) != strconv.Itoa(c.DaysPastDue) {
			t.Errorf("case row %d: loan %s, %s days past due; the API has %s, %d", i, attrOf(opens[i], "data-loan-id"), words(dpd[0]), c.LoanID, c.DaysPastDue)
		}
	}
	if len(want.Cases) != 2 || want.Cases[0].DaysPastDue != 4 {
		t.Errorf("API cases %+v, want L-1 4 days past due first", want.Cases)
	}
	_, agreement := allByTestID(t, body, "agreement")
	if _, plan := allByTestID(t, strings.Join(agreement, ""), "installment"); len(agreement) != 1 || len(plan) != 2 {
		t.Errorf("agreements %d with %d instalments, want A-1 with 2", len(agreement), len(plan))
	}

	// Suppressions: what the API lists, no more, no less.
	type sup struct{ kind, id string }
	var wantSup []sup
	for _, h := range want.Suppressions.Holds {
		wantSup = append(wantSup, sup{"agreement", h.AgreementID})
	}
	for _, m := range want.Suppressions.Mutes {
		wantSup = append(wantSup, sup{"mute", m.ID})
	}
	for _, o := range want.Suppressions.OptOuts {
		wantSup = append(wantSup, sup{"opt_out", string(o.Channel)})
	}
	var gotSup []sup
	opens, inners = allByTestID(t, body, "suppression")
	held := map[string]int{}
	for i, open := range opens {
		s := sup{attrOf(open, "data-kind"), attrOf(open, "data-id")}
		gotSup = append(gotSup, s)
		_, h := allByTestID(t, inners[i], "held")
		if len(h) > 0 {
			held[s.kind+":"+s.id] = strings.Count(h[0], "<li>")
		}
		if _, blocks := allByTestID(t, inners[i], "blocks"); len(blocks) != 1 || words(blocks[0]) == "" {
			t.Errorf("suppression %v says nothing of what it stops", s)
		}
	}
	if !slices.Equal(gotSup, wantSup) || len(wantSup) != 3 {
		t.Errorf("suppressions on the page %v, the API has %v (want a hold, a mute and an opt-out)", gotSup, wantSup)
	}
	_, mute := byID(t, body, "mute-"+muteID)
	for testid, wantText := range map[string]string{
		"mute-channels": "Voice call",
		"mute-by":       "desk",
		"mute-reason":   "complaint; called from " + logging.Phone(liPhone),
		"mute-until":    "until lifted",
	} {
		if _, got := allByTestID(t, mute, testid); len(got) != 1 || words(got[0]) != wantText {
			t.Errorf("mute %s: %v, want %q", testid, got, wantText)
		}
	}

	// Next reminders: the API's, each channel's check as the API says.
	opens, inners = allByTestID(t, body, "next-reminder")
	if len(opens) != len(want.Next) || len(want.Next) == 0 {
		t.Fatalf("%d next reminders on the page, the API has %d", len(opens), len(want.Next))
	}
	wantHeld := map[string]int{}
	for i, u := range want.Next {
		if attrOf(opens[i], "data-step") != u.Step || attrOf(opens[i], "data-loan-id") != u.LoanID {
			t.Errorf("next %d: step %s loan %s, the API has %s %s", i, attrOf(opens[i], "data-step"), attrOf(opens[i], "data-loan-id"), u.Step, u.LoanID)
		}
		times, _ := allByTestID(t, inners[i], "next-at")
		if at, err := time.Parse(time.RFC3339, attrOf(times[0], "datetime")); err != nil || !at.Equal(u.At) {
			t.Errorf("next %d at %s, the API says %s", i, attrOf(times[0], "datetime"), u.At)
		}
		checks, _ := allByTestID(t, inners[i], "check")
		if len(checks) != len(u.Checks) {
			t.Fatalf("next %d: %d checks, the API has %d", i, len(checks), len(u.Checks))
		}
		for j, c := range u.Checks {
			if attrOf(checks[j], "data-channel") != string(c.Channel) || attrOf(checks[j], "data-status") != c.Status {
				t.Errorf("next %d check %d: %s %s, the API says %s %s", i, j,
					attrOf(checks[j], "data-channel"), attrOf(checks[j], "data-status"), c.Channel, c.Status)
			}
			if c.Status == support.CheckSuppressed {
				wantHeld[c.Reason]++
			}
		}
	}
	if wantHeld["mute:"+muteID] == 0 || wantHeld["opt_out:sms"] == 0 {
		t.Errorf("API checks held back by %v, want calls by the mute and SMS by the opt-out", wantHeld)
	}
	if !mapsEqual(held, wantHeld) {
		t.Errorf("held back per suppression on the page %v, the API's checks %v", held, wantHeld)
	}

	// Delivery timeline: the API's records in the API's order.
	opens, inners = allByTestID(t, body, "delivery")
	if len(opens) != len(deliveries.Deliveries) || len(opens) != 3 {
		t.Fatalf("%d delivery rows, the API has %d (want 3)", len(opens), len(deliveries.Deliveries))
	}
	for i, d := range deliveries.Deliveries {
		if attrOf(opens[i], "data-status") != string(d.Status) || attrOf(opens[i], "data-channel") != string(d.Channel) {
			t.Errorf("delivery %d: %s %s, the API has %s %s", i, attrOf(opens[i], "data-status"), attrOf(opens[i], "data-channel"), d.Status, d.Channel)
		}
	}
	if deliveries.Deliveries[0].Status != domain.Failed {
		t.Errorf("API deliveries not newest first: %+v", deliveries.Deliveries)
	}
	_, failed := allByTestID(t, inners[0], "delivery-reason")
	if got := words(failed[0]); got != "smtp: 550 mailbox "+logging.Email(liEmail)+" unavailable" {
		t.Errorf("failed email reason %q, want the provider's with the address masked", got)
	}
	_, text := allByTestID(t, inners[1], "delivery-text")
	if got := words(text[0]); got != "Hi Li Lei, loan L-1 is overdue. Questions? We call you on "+logging.Phone(liPhone)+". Reply STOP" {
		t.Errorf("sent SMS text %q, want the rendered text with the number masked", got)
	}
	for testid, wantText := range map[string]string{"delivery-provider-ref": "SM0001", "delivery-version": "v3", "delivery-to": logging.Phone(liPhone)} {
		if _, got := allByTestID(t, inners[1], testid); len(got) != 1 || words(got[0]) != wantText {
			t.Errorf("sent SMS %s: %v, want %q", testid, got, wantText)
		}
	}
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestTimesInTheViewersZoneAndTheBorrowers: a viewer in New York sees the
// next reminders and the records in their zone, with the borrower's
// (Shanghai) beside.
func TestTimesInTheViewersZoneAndTheBorrowers(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	b.addLi(t)
	want := b.apiBorrower(t, "b-li")
	s := b.browser(t, "t-desk")
	ny, _ := time.LoadLocation("America/New_York")
	sh, _ := time.LoadLocation("Asia/Shanghai")
	s.client.Jar.SetCookies(mustURL(t, b.srv.URL+"/console/"), []*http.Cookie{{Name: "forbear_tz", Value: "America/New_York", Path: "/console/"}})
	body := s.get(t, "/console/borrowers/b-li").body
	_, rows := allByTestID(t, body, "next-reminder")
	at := want.Next[0].At
	if text := words(rows[0]); !strings.Contains(text, at.In(ny).Format("2006-01-02 15:04 MST")) || !strings.Contains(text, at.In(sh).Format("2006-01-02 15:04 MST")) {
		t.Errorf("first next reminder (%s) not shown in New York and Shanghai time:\n%s", at, rows[0])
	}
}

// TestSearchPageFindsWhatTheAPIFinds: the search box finds borrowers by
// id, loan id, email and phone number in any format, as GET /v1/search:
// one borrower found opens their page, several are listed with links to
// theirs; an empty query is refused beside the box.
func TestSearchPageFindsWhatTheAPIFinds(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	b.publish(t,
		borrowerUpserted("b-wang", "Wang Fang", "+8613912345678", "wang@example.com"),
		borrowerUpserted("b-twin-1", "Twin One", "+8613700000001", "twin1@example.com"),
		borrowerUpserted("b-twin-2", "Twin Two", "+8613700000001", "twin2@example.com"),
		loanUpdated("b-wang", "L-wang", "2026-11-20"),
	)
	s := b.browser(t, "t-desk")
	if res := s.get(t, "/console/search"); res.status != http.StatusOK || !strings.Contains(res.body, `id="search-q"`) {
		t.Fatalf("search page: %d", res.status)
	}
	for _, q := range []string{"b-wang", "L-wang", "WANG@example.com", "139 1234 5678", "+86 139-1234-5678", "0086 13912345678"} {
		var api struct{ Matches []support.Match }
		b.api(t, http.MethodGet, "/v1/search?q="+url.QueryEscape(q), "t-desk", "", &api)
		res := s.get(t, "/console/search?q="+url.QueryEscape(q))
		if len(api.Matches) != 1 || res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/borrowers/"+api.Matches[0].BorrowerID {
			t.Errorf("q=%q: %d to %q; the API found %+v", q, res.status, res.header.Get("Location"), api.Matches)
		}
	}

	var api struct{ Matches []support.Match }
	b.api(t, http.MethodGet, "/v1/search?q="+url.QueryEscape("137 0000 0001"), "t-desk", "", &api)
	res := s.get(t, "/console/search?q="+url.QueryEscape("137 0000 0001"))
	opens, inners := allByTestID(t, res.body, "search-result")
	if res.status != http.StatusOK || len(opens) != 2 || len(api.Matches) != 2 {
		t.Fatalf("a shared number: %d, %d rows; the API found %d", res.status, len(opens), len(api.Matches))
	}
	for i, m := range api.Matches {
		links, _ := allByTestID(t, inners[i], "search-result-link")
		if attrOf(opens[i], "data-borrower-id") != m.BorrowerID || attrOf(links[0], "href") != "/console/borrowers/"+m.BorrowerID {
			t.Errorf("row %d: %s linking to %s, the API found %s", i, attrOf(opens[i], "data-borrower-id"), attrOf(links[0], "href"), m.BorrowerID)
		}
	}
	if open, _ := byID(t, res.body, "search-q"); attrOf(open, "value") != "137 0000 0001" {
		t.Errorf("the box does not keep the query: %s", open)
	}

	res = s.get(t, "/console/search?q=nobody")
	if _, none := byID(t, res.body, "search-none"); res.status != http.StatusOK || words(none) != "No borrower matches." {
		t.Errorf("nothing found: %d %q", res.status, words(none))
	}
	res = s.get(t, "/console/search?q=+")
	if _, e := byID(t, res.body, "search-error"); res.status != http.StatusBadRequest || !strings.Contains(words(e), "Type an id") {
		t.Errorf("empty query: %d %q, want 400 with the error beside the box", res.status, words(e))
	}
}

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

// TestInboxPageShowsWhatTheBorrowerSees: the inbox page lists the API's
// messages in its order, read and unread as the borrower left them.
func TestInboxPageShowsWhatTheBorrowerSees(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	b.addLi(t)
	for i, text := range []string{"Your instalment is due on 1 December.", "Loan L-1 is overdue; reply to " + liEmail} {
		b.clock.Advance(time.Minute)
		if _, err := b.inbox.Send(b.ctx, channels.Message{ReminderID: "r-" + strconv.Itoa(i), BorrowerID: "b-li", To: "b-li",
			Channel: domain.InApp, Subject: "Reminder " + strconv.Itoa(i), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.inbox.MarkRead(b.ctx, "b-li", "r-0"); err != nil {
		t.Fatal(err)
	}
	var api struct{ Messages []inapp.Message }
	b.api(t, http.MethodGet, "/v1/borrowers/b-li/inbox", "t-desk", "", &api)

	s := b.browser(t, "t-desk")
	link, _ := byID(t, s.get(t, "/console/borrowers/b-li").body, "inbox-link")
	res := s.get(t, attrOf(link, "href"))
	if res.status != http.StatusOK {
		t.Fatalf("inbox page %s: %d", attrOf(link, "href"), res.status)
	}
	opens, inners := allByTestID(t, res.body, "inbox-message")
	if len(opens) != len(api.Messages) || len(opens) != 2 {
		t.Fatalf("%d messages on the page, the API lists %d", len(opens), len(api.Messages))
	}
	for i, m := range api.Messages {
		_, title := allByTestID(t, inners[i], "inbox-title")
		if attrOf(opens[i], "data-message-id") != m.ID || attrOf(opens[i], "data-read") != strconv.FormatBool(m.Read) || words(title[0]) != m.Title {
			t.Errorf("message %d: %s read=%s %q; the API has %s read=%v %q", i, attrOf(opens[i], "data-message-id"),
				attrOf(opens[i], "data-read"), words(title[0]), m.ID, m.Read, m.Title)
		}
	}
	if api.Messages[0].ID != "r-1" || api.Messages[0].Read {
		t.Errorf("API inbox %+v, want r-1 unread first", api.Messages)
	}
	_, newest := allByTestID(t, inners[0], "inbox-body")
	if words(newest[0]) != "Loan L-1 is overdue; reply to "+logging.Email(liEmail) || strings.Contains(res.body, liEmail) {
		t.Errorf("the message body %q, want the address masked", words(newest[0]))
	}
	if _, sum := byID(t, res.body, "inbox-summary"); !strings.Contains(words(sum), "2 messages, 1 unread") {
		t.Errorf("summary %q", words(sum))
	}
}

// TestDeliveryTimelineIsBounded: the page shows the newest 200 records
// and says there are more.
func TestDeliveryTimelineIsBounded(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	b.publish(t, borrowerUpserted("b-busy", "Busy", "+8613800000002", "busy@example.com"))
	for i := range 205 {
		d := domain.NewDelivery(domain.Reminder{ID: "L/step/" + strconv.Itoa(i) + "/sms", BorrowerID: "b-busy", LoanID: "L",
			Channel: domain.SMS, Step: "step", Template: "t"}, domain.Sent, supportNow.Add(time.Duration(i)*time.Minute))
		if _, err := b.audit.RecordAsync(d); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-b.nats.JS.PublishAsyncComplete():
	case <-b.ctx.Done():
		t.Fatal("records not stored")
	}
	body := b.browser(t, "t-desk").get(t, "/console/borrowers/b-busy").body
	opens, _ := allByTestID(t, body, "delivery")
	if len(opens) != 200 || attrOf(opens[0], "data-reminder-id") != "L/step/204/sms" {
		t.Errorf("%d rows, the first %s; want the newest 200, L/step/204/sms first", len(opens), attrOf(opens[0], "data-reminder-id"))
	}
	if _, more := byID(t, body, "timeline-more"); !strings.Contains(words(more), "newest 200") {
		t.Errorf("no note of the records left out: %q", words(more))
	}
}

// TestSupportPagesNeedTheSupportRole: support and admin see the support
// pages; ops and publisher tokens get the 403 page, GET and POST alike
// (a POST with a valid CSRF token changes nothing).
func TestSupportPagesNeedTheSupportRole(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	muteID := b.addLi(t)
	pages := []string{"/console/search", "/console/search?q=b-wang", "/console/borrowers/b-li",
		"/console/borrowers/b-li/mutes/" + muteID + "/unmute", "/console/borrowers/b-li/inbox"}
	for _, token := range []string{"t-desk", "t-admin"} {
		s := b.browser(t, token)
		for _, p := range pages {
			if res := s.get(t, p); res.status != http.StatusOK {
				t.Errorf("%s %s: %d, want 200", token, p, res.status)
			}
		}
		if res := s.get(t, "/console/"); !strings.Contains(res.body, `href="/console/search"`) {
			t.Errorf("%s: no Borrowers entry in the menu", token)
		}
	}
	for _, token := range []string{"t-ops", "t-pub"} {
		s := b.browser(t, token)
		for _, p := range pages {
			if res := s.get(t, p); res.status != http.StatusForbidden || !strings.Contains(res.body, "support") {
				t.Errorf("%s %s: %d, want the 403 page naming the role", token, p, res.status)
			}
		}
		csrf := s.get(t, "/console/").csrf(t)
		for _, p := range []string{"/console/borrowers/b-li/mutes", "/console/borrowers/b-li/mutes/" + muteID + "/unmute"} {
			if res := s.post(t, p, url.Values{"csrf": {csrf}, "reason": {"x"}}); res.status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", token, p, res.status)
			}
		}
		if strings.Contains(s.get(t, "/console/").body, `href="/console/search"`) {
			t.Errorf("%s: the menu offers the support pages", token)
		}
	}
	if n := len(b.apiBorrower(t, "b-li").Suppressions.Mutes); n != 1 {
		t.Errorf("%d mutes after the refused posts, want 1", n)
	}
}

// TestSupportPostsNeedCSRF: a mute or unmute without the form's token is
// refused and changes nothing.
func TestSupportPostsNeedCSRF(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	muteID := b.addLi(t)
	s := b.browser(t, "t-desk")
	for _, csrf := range []string{"", "forged"} {
		for _, p := range []string{"/console/borrowers/b-li/mutes", "/console/borrowers/b-li/mutes/" + muteID + "/unmute"} {
			if res := s.post(t, p, url.Values{"csrf": {csrf}, "reason": {"x"}}); res.status != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q: %d, want 403", p, csrf, res.status)
			}
		}
	}
	if mutes := b.apiBorrower(t, "b-li").Suppressions.Mutes; len(mutes) != 1 || mutes[0].ID != muteID {
		t.Errorf("mutes after the refused posts: %+v", mutes)
	}
}

// TestSupportPagesEscapeEveryValue: a borrower, reason, message or query
// that holds markup shows as text on every support page.
func TestSupportPagesEscapeEveryValue(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	const evil = `<script>alert(1)</script>`
	b.publish(t, borrowerUpserted("b-evil", evil, "+8613800000003", "evil@example.com"), loanUpdated("b-evil", "L-evil", "2026-11-20"))
	var m domain.Mute
	b.api(t, http.MethodPost, "/v1/borrowers/b-evil/mutes", "t-desk", `{"reason":"<img src=x onerror=alert(2)>"}`, &m)
	d := domain.NewDelivery(domain.Reminder{ID: "L-evil/x/0/sms", BorrowerID: "b-evil", LoanID: "L-evil", Channel: domain.SMS,
		Step: "x", Template: "t"}, domain.Failed, supportNow)
	d.Reason = `"><script>alert(3)</script>`
	d.SetText("", evil)
	if err := b.audit.Record(b.ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := b.inbox.Send(b.ctx, channels.Message{ReminderID: "r-evil", To: "b-evil", Channel: domain.InApp, Subject: evil, Text: evil}); err != nil {
		t.Fatal(err)
	}
	s := b.browser(t, "t-desk")
	for _, p := range []string{"/console/borrowers/b-evil", "/console/borrowers/b-evil/inbox",
		"/console/borrowers/b-evil/mutes/" + m.ID + "/unmute", "/console/search?q=" + url.QueryEscape(`"><script>alert(4)</script>`),
		"/console/search?q=Evil%40example.com+", "/console/search?q=" + url.QueryEscape("L-evil")} {
		res := s.get(t, p)
		for _, raw := range []string{"<script>alert", "<img src=x"} {
			if strings.Contains(res.body, raw) {
				t.Errorf("%s: %q reached the page unescaped", p, raw)
			}
		}
		if res.status == http.StatusOK && !strings.Contains(res.body, "&lt;") {
			t.Errorf("%s: the markup is not shown as text", p)
		}
	}
}

// TestSupportPagesInChinese: the pages follow the viewer's language,
// channel and status names included.
func TestSupportPagesInChinese(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	muteID := b.addLi(t)
	s := b.browser(t, "t-desk")
	zh := []string{"Accept-Language", "zh-CN"}
	for p, want := range map[string][]string{
		"/console/borrowers/b-li":                             {"逾期天数", "生效中的屏蔽", "即将发送的提醒", "发送记录", "语音电话", "截止时间", "原因", "已屏蔽"},
		"/console/search":                                     {"查找借款人", "搜索"},
		"/console/borrowers/b-li/inbox":                       {"应用内收件箱"},
		"/console/borrowers/b-li/mutes/" + muteID + "/unmute": {"解除静音", "保留静音"},
	} {
		res := s.get(t, p, zh...)
		for _, w := range want {
			if !strings.Contains(res.body, w) {
				t.Errorf("%s in Chinese lacks %q", p, w)
			}
		}
		if strings.Contains(res.body, "Next reminders") || strings.Contains(res.body, "Find a borrower") {
			t.Errorf("%s in Chinese still has English headings", p)
		}
	}
}

// rawKey is a catalog key shown as itself: a text missing from the
// catalog.
var rawKey = regexp.MustCompile(`(search|borrower|mute|unmute|inbox|suppression|timeline|support)\.[a-z_]+(\.[a-z_0-9]+)*`)

// TestEveryTextOfTheSupportPagesIsInTheCatalog: no page shows a text key
// in place of its text, in either language.
func TestEveryTextOfTheSupportPagesIsInTheCatalog(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	muteID := b.addLi(t)
	b.publish(t, borrowerUpserted("b-twin-1", "Twin One", "+8613700000001", "t1@example.com"),
		borrowerUpserted("b-twin-2", "Twin Two", "+8613700000001", "t2@example.com"),
		supEvent("borrower.ceased", `{"borrower_id":"b-li","reason":"asked"}`))
	if _, err := b.inbox.Send(b.ctx, channels.Message{ReminderID: "r", To: "b-li", Channel: domain.InApp, Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	s := b.browser(t, "t-desk")
	csrf := s.get(t, "/console/").csrf(t)
	refused := s.post(t, "/console/borrowers/b-li/mutes", url.Values{"csrf": {csrf}, "channels": {"fax"}, "until": {"soon"}})
	mute := s.post(t, "/console/borrowers/b-li/mutes", url.Values{"csrf": {csrf}, "reason": {"r"}})
	for _, lang := range []string{"en", "zh-CN"} {
		pages := map[string]page{"refused mute": refused}
		for _, p := range []string{"/console/borrowers/b-li", mute.header.Get("Location"), "/console/borrowers/b-li?unmuted=mute_x",
			"/console/search", "/console/search?q=137+0000+0001", "/console/search?q=nobody", "/console/search?q=",
			"/console/borrowers/b-li/inbox", "/console/borrowers/b-li/mutes/" + muteID + "/unmute", "/console/borrowers/b-nobody"} {
			pages[p] = s.get(t, p, "Accept-Language", lang)
		}
		for name, p := range pages {
			text := words(supTagRE.ReplaceAllString(p.body, " "))
			if m := rawKey.FindString(text); m != "" {
				t.Errorf("%s (%s): text key %q shown as itself", name, lang, m)
			}
		}
	}
}

// TestSupportPagesWithoutTheirDependenciesAre404: a console built without
// the support read model has no support pages.
func TestSupportPagesWithoutTheirDependenciesAre404(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	for _, p := range []string{"/console/search", "/console/borrowers/b-1", "/console/borrowers/b-1/inbox"} {
		if res := s.get(t, p); res.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, res.status)
		}
	}
}

// TestUnknownBorrowerIs404Page: a borrower id forbear does not know gets
// the 404 page naming it.
func TestUnknownBorrowerIs404Page(t *testing.T) {
	t.Parallel()
	b := newSupport(t, 10*time.Millisecond)
	s := b.browser(t, "t-desk")
	for _, p := range []string{"/console/borrowers/b-nobody", "/console/borrowers/b-nobody/inbox", "/console/borrowers/b-nobody/mutes/m/unmute"} {
		if res := s.get(t, p); res.status != http.StatusNotFound || !strings.Contains(res.body, "b-nobody") {
			t.Errorf("%s: %d, want the 404 page naming b-nobody", p, res.status)
		}
	}
	res := s.post(t, "/console/borrowers/b-nobody/mutes", url.Values{"csrf": {s.get(t, "/console/").csrf(t)}, "reason": {"x"}})
	if res.status != http.StatusNotFound {
		t.Errorf("mute of an unknown borrower: %d, want 404", res.status)
	}
}
