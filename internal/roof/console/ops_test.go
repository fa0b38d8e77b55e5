package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

func TestOpsPagesNeedTheOpsRole(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	pages := []string{"/console/templates", "/console/templates/overdue", "/console/templates/overdue/diff?from=1&to=1", "/console/policies"}

	desk := b.browser(t, "t-desk")
	for _, path := range pages {
		if res := desk.get(t, path); res.status != http.StatusForbidden || !strings.Contains(res.body, "Not allowed") {
			t.Errorf("support GET %s: %d, want the 403 page", path, res.status)
		}
	}
	dash := desk.get(t, "/console/")
	if strings.Contains(dash.body, `href="/console/templates"`) || strings.Contains(dash.body, `href="/console/policies"`) {
		t.Errorf("support's menu links the ops pages")
	}
	form := url.Values{"csrf": {dash.csrf(t)}, "category": {"collection"}, "text.sms.en-US.body": {"changed. Reply STOP"}}
	if res := desk.post(t, "/console/templates/overdue", form); res.status != http.StatusForbidden {
		t.Errorf("support saving a template: %d, want 403", res.status)
	}
	if res := desk.post(t, "/console/templates/overdue/rollback", url.Values{"csrf": {dash.csrf(t)}, "version": {"1"}}); res.status != http.StatusForbidden {
		t.Errorf("support rolling back: %d, want 403", res.status)
	}
	if res := previewFetch(t, desk, "overdue", dash.csrf(t), `{"channels":{"sms":{"en-US":"x"}}}`); res.status != http.StatusForbidden {
		t.Errorf("support previewing: %d, want 403", res.status)
	}
	// What the API says to the same token.
	if status, _ := b.api(t, http.MethodGet, "/v1/templates", "t-desk", ""); status != http.StatusForbidden {
		t.Errorf("API GET /v1/templates for support: %d, want 403", status)
	}
	if info, _ := b.apiTemplate(t, "overdue"); info.Live != 1 || len(info.Versions) != 1 {
		t.Errorf("support's posts changed the template: live %d, %d versions", info.Live, len(info.Versions))
	}

	for _, token := range []string{"t-ops", "t-admin"} {
		s := b.browser(t, token)
		for _, path := range pages {
			if res := s.get(t, path); res.status != http.StatusOK {
				t.Errorf("%s GET %s: %d, want 200", token, path, res.status)
			}
		}
		dash := s.get(t, "/console/")
		if !strings.Contains(dash.body, `href="/console/templates"`) || !strings.Contains(dash.body, `href="/console/policies"`) {
			t.Errorf("%s's menu lacks the ops pages", token)
		}
	}
}

func TestPostsWithoutCSRFAreRefused(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	s := b.browser(t, "t-ops")
	ed := s.get(t, "/console/templates/overdue")
	form := editorForm(t, ed)
	form.Del("csrf")
	if res := s.post(t, "/console/templates/overdue", form); res.status != http.StatusForbidden {
		t.Errorf("save without csrf: %d, want 403", res.status)
	}
	form.Set("csrf", "forged")
	if res := s.post(t, "/console/templates/overdue", form); res.status != http.StatusForbidden {
		t.Errorf("save with a forged csrf: %d, want 403", res.status)
	}
	if res := s.post(t, "/console/templates/overdue/rollback", url.Values{"version": {"1"}}); res.status != http.StatusForbidden {
		t.Errorf("rollback without csrf: %d, want 403", res.status)
	}
	if res := previewFetch(t, s, "overdue", "", `{"channels":{"sms":{"en-US":"x"}}}`); res.status != http.StatusForbidden {
		t.Errorf("preview without X-CSRF-Token: %d, want 403", res.status)
	}
	if info, _ := b.apiTemplate(t, "overdue"); info.Live != 1 || len(info.Versions) != 1 {
		t.Errorf("refused posts changed the template: live %d, %d versions", info.Live, len(info.Versions))
	}
}

func TestOpsPagesEscapeEveryValue(t *testing.T) {
	t.Parallel()
	b := newOps(t, func(c *config.Config) {
		c.Policies[0].Steps[0].ID = "<script>step</script>"
	})
	b.put(t, "overdue", `{"category":"collection","note":"<script>note</script>","channels":{"sms":{"en-US":"<script>alert(1)</script> {{.Borrower.Name}} Reply STOP"}}}`,
		"<img src=x onerror=alert(2)>", "<script>vnote</script>")
	if err := b.state.PutBorrower(b.ctx, domain.Borrower{ID: "b-x", Name: "<script>alert(3)</script>"}); err != nil {
		t.Fatal(err)
	}
	s := b.browser(t, "t-ops")
	ed := s.get(t, "/console/templates/overdue")
	form := editorForm(t, ed)
	form.Set("borrower", "b-x")
	form.Set("action", "preview")
	for _, res := range []page{
		s.get(t, "/console/templates"), ed, s.post(t, "/console/templates/overdue", form), s.get(t, "/console/policies"),
	} {
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		for _, raw := range []string{"<script>alert", "<script>note", "<script>vnote", "<img src=x", "<script>step"} {
			if strings.Contains(res.body, raw) {
				t.Errorf("%q reached the page unescaped", raw)
			}
		}
	}
	pv := s.post(t, "/console/templates/overdue", form)
	if _, box := elementByID(t, pv.body, "pv-sms-en-US"); !strings.Contains(box, "&lt;script&gt;alert(3)&lt;/script&gt;") {
		t.Errorf("the borrower's name is not in the preview as text:\n%s", box)
	}
}

func TestOpsPagesInChinese(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	s := b.browser(t, "t-ops")
	for path, want := range map[string][]string{
		"/console/templates":         {"使用该模板的策略", "standard（催收）"},
		"/console/templates/overdue": {"保存为新版本", "本版本备注", "按借款人预览", "版本"},
		"/console/policies":          {"当前生效的联系规则", "借款人当地时间 08:00 至 21:00", "3天前，仅一次", "1天后，之后每3天一次，最后一次在29天后", "内置默认值"},
	} {
		res := s.get(t, path, "Accept-Language", "zh-CN")
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.status)
		}
		for _, w := range want {
			if !strings.Contains(res.body, w) {
				t.Errorf("%s in Chinese lacks %q", path, w)
			}
		}
	}
}

func TestOpsPagesWithoutTheirDependenciesAre404(t *testing.T) {
	t.Parallel()
	s := newSite(t, tokens)
	s.signIn(t, "t-ops")
	for _, path := range []string{"/console/templates", "/console/templates/x", "/console/policies"} {
		if res := s.get(t, path); res.status != http.StatusNotFound {
			t.Errorf("GET %s without ops dependencies: %d, want 404", path, res.status)
		}
	}
}
