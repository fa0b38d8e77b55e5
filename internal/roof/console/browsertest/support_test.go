package browsertest

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/testkit/browser"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
)

// liLei and hanMeimei are two borrowers with an overdue loan each, in
// English and in Chinese.
func liLei(due string) borrower {
	return borrower{ID: "b-li", Name: "Li Lei", Locale: "en-US", Zone: "Asia/Shanghai", Phone: "+8613800000001",
		Email: "lilei@example.com", Loan: "L-1001", Amount: "1200.00", Currency: "CNY", Due: due}
}

func hanMeimei(due string) borrower {
	return borrower{ID: "b-han", Name: "韩梅梅", Locale: "zh-CN", Zone: "Asia/Shanghai", Phone: "+8613800000002",
		Email: "hanmeimei@example.com", Loan: "L-1002", Amount: "860.50", Currency: "CNY", Due: due}
}

// TestSupportFindsByPhoneMutesAndUnmutes is a support agent's call: sign
// in, find the borrower by the number as they say it, mute their SMS from
// the borrower page. The page and GET /v1/borrowers/{id} show the mute; at
// the next hour's sweep the muted borrower gets their call but no SMS,
// while the other borrower gets both. Unmuting through the confirmation
// page (which asks once more) brings the SMS back the hour after.
func TestSupportFindsByPhoneMutesAndUnmutes(t *testing.T) {
	t.Parallel()
	in := start(t, options{every: time.Hour, channels: []string{"sms", "voice"}})
	li, han := liLei(in.today()), hanMeimei(in.today())
	in.load(t, li, han)
	if n := in.sweep(t); n != 4 {
		t.Fatalf("first sweep published %d reminders, want an SMS and a call to each borrower", n)
	}
	in.settle(t)

	ctx := in.signIn(t, supportToken)
	browser.Submit(t, ctx, `nav a[href="/console/search"]`)
	browser.Fill(t, ctx, "#search-q", "138 0000 0001")
	if status := browser.Submit(t, ctx, "#search-submit"); status != http.StatusOK {
		t.Fatalf("search: status %d", status)
	}
	if got, want := browser.URL(t, ctx), in.base+"/console/borrowers/b-li"; got != want {
		t.Fatalf("the search by phone number led to %s, want Li Lei's page %s", got, want)
	}
	if got := browser.Text(t, ctx, "#profile-phone"); got != logging.Phone(li.Phone) {
		t.Errorf("profile phone = %q, want the masked %q", got, logging.Phone(li.Phone))
	}
	if n := browser.Eval[int](t, ctx, `document.querySelectorAll('[data-testid=delivery][data-channel=sms][data-status=sent]').length`); n != 1 {
		t.Errorf("the timeline shows %d sent SMS, want the one of the first sweep", n)
	}

	// Mute SMS; the form's default end is in 7 days.
	browser.Click(t, ctx, "#mute-channel-sms")
	browser.Fill(t, ctx, "#mute-reason", "Asked for a week to pay")
	if status := browser.Submit(t, ctx, "#mute-submit"); status != http.StatusOK {
		t.Fatalf("mute: status %d", status)
	}
	muteID := browser.Eval[string](t, ctx, `document.getElementById('acknowledged').dataset.muteId`)
	if muteID == "" {
		t.Fatal("the borrower page does not acknowledge the mute")
	}
	if got := browser.Text(t, ctx, "[data-testid=acknowledged-channels]"); got != "SMS" {
		t.Errorf("acknowledged channels = %q, want SMS", got)
	}
	if got := browser.Text(t, ctx, "#acknowledged-guarantee"); !strings.Contains(got, "No reminder in its scope (SMS) starts after this moment") {
		t.Errorf("acknowledgement = %q, want the guarantee", got)
	}
	item := "#mute-" + muteID
	if got := browser.Text(t, ctx, item+" [data-testid=mute-reason]"); got != "Asked for a week to pay" {
		t.Errorf("the suppressions list the mute with reason %q", got)
	}
	if got := browser.Text(t, ctx, item+" [data-testid=blocks]"); !strings.Contains(got, "every reminder on SMS") {
		t.Errorf("the mute stops %q, want every reminder on SMS", got)
	}
	mutes := in.mutes(t, li.ID)
	wantUntil := in.clock.Now().Add(7 * 24 * time.Hour)
	if len(mutes) != 1 || mutes[0].ID != muteID || !slices.Equal(mutes[0].Channels, []domain.Channel{domain.SMS}) ||
		mutes[0].By != "desk" || mutes[0].Until == nil || mutes[0].Until.Sub(wantUntil).Abs() > time.Minute {
		t.Fatalf("GET /v1/borrowers/%s lists mutes %+v, want %s on SMS by desk until %s", li.ID, mutes, muteID, wantUntil)
	}

	// The next hour: Li Lei's call goes out, not their SMS; Han Meimei
	// gets both. The sweep publishes nothing in the mute's scope, and
	// settle waits for what it did publish to reach the providers.
	in.clock.Advance(time.Hour)
	if n := in.sweep(t); n != 3 {
		t.Errorf("the sweep after the mute published %d reminders, want 3 (no SMS to the muted borrower)", n)
	}
	in.settle(t)
	if n := in.sentTo(faketwilio.SMS, li.Phone); n != 1 {
		t.Errorf("Twilio got %d SMS for the muted borrower, want only the one from before the mute", n)
	}
	if n := in.sentTo(faketwilio.Call, li.Phone); n != 2 {
		t.Errorf("Twilio got %d calls for the muted borrower, want 2: the mute names SMS only", n)
	}
	if n := in.sentTo(faketwilio.SMS, han.Phone); n != 2 {
		t.Errorf("Twilio got %d SMS for the borrower not muted, want 2", n)
	}

	// Unmute: the link leads to a page that shows the mute, and its button
	// asks once more before lifting it.
	dialogs := browser.AnswerDialogs(t, ctx, true)
	browser.Open(t, ctx, in.base+"/console/borrowers/b-li", "#unmute-"+muteID)
	if status := browser.Submit(t, ctx, "#unmute-"+muteID); status != http.StatusOK {
		t.Fatalf("unmute page: status %d", status)
	}
	if got := browser.Text(t, ctx, "#unmute-details [data-testid=mute-reason]"); got != "Asked for a week to pay" {
		t.Errorf("the unmute page shows reason %q", got)
	}
	if status := browser.Submit(t, ctx, "#unmute-submit"); status != http.StatusOK {
		t.Fatalf("unmute: status %d", status)
	}
	if got := dialogs.Messages(); len(got) != 1 || !strings.Contains(got[0], muteID) {
		t.Errorf("dialogs %q, want one confirmation naming %s", got, muteID)
	}
	if got := browser.Eval[string](t, ctx, `document.getElementById('lifted').dataset.muteId`); got != muteID {
		t.Errorf("the borrower page says mute %q was lifted, want %s", got, muteID)
	}
	browser.Text(t, ctx, "#suppressions-none")
	if m := in.mutes(t, li.ID); len(m) != 0 {
		t.Fatalf("after unmute the API lists mutes %+v", m)
	}

	in.clock.Advance(time.Hour)
	if n := in.sweep(t); n != 4 {
		t.Errorf("the sweep after the unmute published %d reminders, want 4", n)
	}
	in.settle(t)
	if n := in.sentTo(faketwilio.SMS, li.Phone); n != 2 {
		t.Errorf("Twilio got %d SMS for the unmuted borrower, want 2: SMS resume after the unmute", n)
	}
}
