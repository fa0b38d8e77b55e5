package browsertest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/testkit/browser"
)

// The SMS text the editor test types: 127 characters with the sample
// data, one GSM-7 segment, two once a UCS-2 character is in it.
const (
	smsDraft = "Hi {{.Borrower.Name}}, loan {{.Loan.ID}} is overdue. Please pay in the app today, or call us if you need any help. Reply STOP to opt out."
	// smsBroken does not parse: the first action is not closed.
	smsBroken = "Hi {{.Borrower.Name, loan {{.Loan.ID}} is overdue. Reply STOP to opt out."
	smsSaved  = "Hi {{.Borrower.Name}}, loan {{.Loan.ID}} is overdue. Please pay in the app today. Reply STOP to opt out."
)

// The ids of the editor's elements for the en-US SMS text.
const (
	smsBody     = "#tx-sms-en-US-body"
	smsPreview  = "#pv-sms-en-US"
	smsEncoding = "#pv-sms-en-US-encoding"
	smsSegments = "#pv-sms-en-US-segments"
	smsError    = "#err-sms-en-US"
)

// templateLive is what GET /v1/templates/{id} says of a template.
type templateLive struct {
	Live       int `json:"live"`
	Versions   []struct{ Version int }
	Definition struct {
		Channels map[string]map[string]any `json:"channels"`
	} `json:"definition"`
}

func (in *instance) template(t *testing.T, id string) templateLive {
	t.Helper()
	var v templateLive
	if status := in.api(t, http.MethodGet, "/v1/templates/"+id, opsToken, nil, &v); status != http.StatusOK {
		t.Fatalf("GET /v1/templates/%s: %d", id, status)
	}
	return v
}

// TestTemplateEditor is ops changing the overdue SMS: the live preview
// follows the typing (a ’ turns the text to UCS-2, highlighted, and two
// segments); a version that does not parse is refused with the reason
// beside the text, and the live version stays; a good one becomes live
// (the API agrees), the diff shows the change, and a rollback makes the
// first version live again.
func TestTemplateEditor(t *testing.T) {
	t.Parallel()
	in := start(t, options{})
	ctx := in.signIn(t, opsToken)

	browser.Submit(t, ctx, `nav a[href="/console/templates"]`)
	if status := browser.Submit(t, ctx, "[data-testid=template-link-overdue]"); status != http.StatusOK {
		t.Fatalf("editor: status %d", status)
	}

	browser.Fill(t, ctx, smsBody, smsDraft)
	browser.WaitUntil(t, ctx, "the preview of the draft: one GSM-7 segment",
		textIs(smsEncoding, "GSM-7")+" && "+textIs(smsSegments, "1"))
	if got := browser.Text(t, ctx, smsPreview+" [data-role=text]"); !strings.HasPrefix(got, "Hi Alex Chen, loan loan-sample is overdue.") {
		t.Errorf("preview text = %q, want the draft with the sample data", got)
	}
	if n := browser.Eval[int](t, ctx, `document.querySelectorAll('`+smsPreview+` mark.ucs2').length`); n != 0 {
		t.Errorf("%d characters highlighted in a GSM-7 text", n)
	}

	typeAtEnd(t, ctx, smsBody, "’")
	browser.WaitUntil(t, ctx, "the preview after the ’: two UCS-2 segments",
		textIs(smsEncoding, "UCS-2")+" && "+textIs(smsSegments, "2"))
	if got := browser.Text(t, ctx, smsPreview+" [data-role=text] mark.ucs2"); got != "’" {
		t.Errorf("highlighted in the text: %q, want the ’", got)
	}
	if got := browser.Text(t, ctx, "#pv-sms-en-US-forcing"); !strings.Contains(got, "’") || !strings.Contains(got, "U+2019") {
		t.Errorf("characters that force UCS-2: %q, want the ’ (U+2019)", got)
	}

	// A broken version: refused, the reason next to the text it names.
	// The refused form comes back as a 400 page, which Chromium logs.
	browser.ExpectConsoleError(t, ctx, "the server responded with a status of 400 (Bad Request) ["+in.base+"/console/templates/overdue]")
	browser.Fill(t, ctx, smsBody, smsBroken)
	browser.Fill(t, ctx, "#version-note", "broken on purpose")
	if status := browser.Submit(t, ctx, "#save"); status != http.StatusBadRequest {
		t.Errorf("saving a text that does not parse: status %d, want 400", status)
	}
	browser.Text(t, ctx, "#form-errors")
	reason := browser.Text(t, ctx, smsError)
	if reason == "" || !browser.Eval[bool](t, ctx, `!document.querySelector('`+smsError+`').hidden`) {
		t.Fatalf("no reason shown beside the SMS text")
	}
	if !strings.Contains(reason, "sms") || !strings.Contains(reason, "en-US") {
		t.Errorf("the reason %q does not name the text it is about", reason)
	}
	// Beside the field: in the same text box, after the textarea, and the
	// textarea says it is invalid and described by it.
	if !browser.Eval[bool](t, ctx, `(function () {
		var f = document.querySelector('`+smsBody+`'), e = document.querySelector('`+smsError+`');
		return f.parentElement === e.parentElement && !!(f.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING) &&
			f.getAttribute('aria-invalid') === 'true' && f.getAttribute('aria-describedby').split(' ').indexOf(e.id) >= 0;
	})()`) {
		t.Errorf("the reason is not beside the SMS text it names (same box, after it, aria-describedby)")
	}
	if got := browser.Eval[string](t, ctx, `document.querySelector('`+smsBody+`').value`); got != smsBroken {
		t.Errorf("the refused form lost what was typed: %q", got)
	}
	if v := in.template(t, "overdue"); v.Live != 1 || len(v.Versions) != 1 {
		t.Fatalf("after the refused save the API says live v%d of %d versions, want v1 of 1", v.Live, len(v.Versions))
	}

	// A good version becomes live.
	browser.Fill(t, ctx, smsBody, smsSaved)
	browser.Fill(t, ctx, "#version-note", "shorter overdue SMS")
	if status := browser.Submit(t, ctx, "#save"); status != http.StatusOK {
		t.Fatalf("save: status %d", status)
	}
	if got := browser.Text(t, ctx, "#notice"); got != "Version 2 saved; it is live." {
		t.Errorf("notice = %q", got)
	}
	v := in.template(t, "overdue")
	if v.Live != 2 || v.Definition.Channels["sms"]["en-US"] != smsSaved {
		t.Fatalf("the API says live v%d with SMS %q, want v2 with the text saved", v.Live, v.Definition.Channels["sms"]["en-US"])
	}

	// The diff of v1 and v2 (the form's default pair) shows the change.
	if status := browser.Submit(t, ctx, "#diff-button"); status != http.StatusOK {
		t.Fatalf("diff: status %d", status)
	}
	row := "[data-testid=diff-sms-en-US-body]"
	if got := browser.Eval[string](t, ctx, `document.querySelector('`+row+`').dataset.kind`); got != "changed" {
		t.Errorf("the diff's SMS row is %q, want changed", got)
	}
	if got := browser.Text(t, ctx, row+" [data-role=after]"); !strings.Contains(got, "Please pay in the app today.") {
		t.Errorf("the diff's new text = %q", got)
	}
	if got := browser.Text(t, ctx, row+" [data-role=after] ins"); got == "" {
		t.Errorf("the diff marks nothing as added")
	}
	if got := browser.Text(t, ctx, row+" [data-role=before] del"); got == "" {
		t.Errorf("the diff marks nothing as removed")
	}

	// Rollback to v1, confirmed in the browser.
	dialogs := browser.AnswerDialogs(t, ctx, true)
	browser.Submit(t, ctx, "#diff-back")
	if status := browser.Submit(t, ctx, "#rollback-button-1"); status != http.StatusOK {
		t.Fatalf("rollback: status %d", status)
	}
	if got := dialogs.Messages(); len(got) != 1 {
		t.Errorf("dialogs %q, want one confirmation", got)
	}
	if got := browser.Text(t, ctx, "#notice"); got != "Version 1 is live again." {
		t.Errorf("notice = %q", got)
	}
	browser.Text(t, ctx, "#version-1 [data-testid=live-marker]")
	if v := in.template(t, "overdue"); v.Live != 1 || v.Definition.Channels["sms"]["en-US"] == smsSaved {
		t.Errorf("after the rollback the API says live v%d, want v1 with its own text", v.Live)
	}
}

// textIs is a JavaScript test that the element's text is want.
func textIs(sel, want string) string {
	return `(document.querySelector('` + sel + `') || {}).textContent === '` + want + `'`
}
