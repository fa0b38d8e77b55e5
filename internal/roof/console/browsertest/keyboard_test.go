package browsertest

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit/browser"
)

// focused is the id of the element that has the keyboard focus (its
// class when it has no id).
const focused = `document.activeElement.id || document.activeElement.className`

// TestMuteWithTheKeyboardOnly fills and submits the mute form without the
// mouse: the first Tab of the page reaches the skip link, Space ticks the
// channel boxes, an arrow key moves the "until" choice, Tab goes from the
// reason to the submit button and Enter submits. The mute made is what was
// typed.
func TestMuteWithTheKeyboardOnly(t *testing.T) {
	t.Parallel()
	in := start(t, options{})
	li := liLei(in.today())
	in.load(t, li)
	ctx := in.signIn(t, supportToken)
	browser.Open(t, ctx, in.base+"/console/borrowers/b-li", "#mute-form")

	browser.Press(t, ctx, kb.Tab)
	if got := browser.Eval[string](t, ctx, focused); got != "skip" {
		t.Errorf("the first Tab focuses %q, want the skip link", got)
	}

	browser.Focus(t, ctx, "#mute-channel-sms")
	browser.Press(t, ctx, " ")
	browser.Press(t, ctx, kb.Tab)
	if got := browser.Eval[string](t, ctx, focused); got != "mute-channel-voice" {
		t.Fatalf("Tab from the SMS box focuses %q, want the voice box", got)
	}
	browser.Press(t, ctx, " ")

	// The "until" radios are one stop; the arrow moves the choice from 7
	// to 30 days.
	browser.Focus(t, ctx, "#mute-until-7d")
	browser.Press(t, ctx, kb.ArrowRight)
	if got := browser.Eval[string](t, ctx, `document.querySelector('input[name=until]:checked').id`); got != "mute-until-30d" {
		t.Errorf("after the arrow key %q is chosen, want 30 days", got)
	}

	browser.Focus(t, ctx, "#mute-reason")
	browser.Press(t, ctx, "Promised to pay on Friday")
	browser.Press(t, ctx, kb.Tab)
	if got := browser.Eval[string](t, ctx, focused); got != "mute-submit" {
		t.Fatalf("Tab from the reason focuses %q, want the submit button", got)
	}
	if status := browser.PressToSubmit(t, ctx, kb.Enter); status != http.StatusOK {
		t.Fatalf("Enter on the submit button: status %d", status)
	}
	if got := browser.Text(t, ctx, "[data-testid=acknowledged-channels]"); got != "SMS, Voice call" {
		t.Errorf("acknowledged channels %q, want SMS, Voice call", got)
	}

	mutes := in.mutes(t, li.ID)
	wantUntil := in.clock.Now().Add(30 * 24 * time.Hour)
	if len(mutes) != 1 || !slices.Equal(mutes[0].Channels, []domain.Channel{domain.SMS, domain.Voice}) ||
		mutes[0].Reason != "Promised to pay on Friday" || mutes[0].Until == nil || mutes[0].Until.Sub(wantUntil).Abs() > time.Minute {
		t.Errorf("the API lists mutes %+v, want SMS and voice until %s for the reason typed", mutes, wantUntil)
	}
}
