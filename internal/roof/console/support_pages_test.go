package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/domain"
)

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
