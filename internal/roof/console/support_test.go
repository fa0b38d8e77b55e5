package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/inapp"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/support"
)

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
