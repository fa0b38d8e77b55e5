package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Lang is a console language.
type Lang string

// The console's languages.
const (
	English Lang = "en"
	Chinese Lang = "zh-CN"
)

// Langs lists the console's languages, for the switch.
var Langs = []Lang{English, Chinese}

// Name is the language's own name, as the switch shows it.
func (l Lang) Name() string {
	if l == Chinese {
		return "简体中文"
	}
	return "English"
}

// T returns the text of key in l, formatted with args (fmt verbs). A key
// missing from the catalog shows as itself, so it is seen and fixed.
func (l Lang) T(key string, args ...any) string {
	texts, ok := catalog[key]
	if !ok {
		return key
	}
	s := texts[0]
	if l == Chinese {
		s = texts[1]
	}
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

// negotiate picks the viewer's language: the switch's cookie, else the
// best of Accept-Language, else English.
func negotiate(r *http.Request) Lang {
	if ck, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(ck.Value); ok {
			return l
		}
	}
	return negotiateHeader(r.Header.Get("Accept-Language"))
}

// negotiateHeader picks the best console language of an Accept-Language
// header, English when none fits.
func negotiateHeader(header string) Lang {
	best, bestQ := English, 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l, ok := parseLang(tag); ok && q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// parseLang maps a language tag to a console language: any Chinese tag
// but the traditional-script ones to Simplified Chinese, any English one
// to English.
func parseLang(tag string) (Lang, bool) {
	t := strings.ToLower(strings.TrimSpace(tag))
	switch {
	case t == "en" || strings.HasPrefix(t, "en-"):
		return English, true
	case t == "zh" || strings.HasPrefix(t, "zh-") && !strings.Contains(t, "hant") && t != "zh-tw" && t != "zh-hk" && t != "zh-mo":
		return Chinese, true
	}
	return "", false
}

// postLang is the language switch: it remembers the choice and goes back
// to the page it was made on.
func (c *Console) postLang(w http.ResponseWriter, r *http.Request, rq *request) {
	if l, ok := parseLang(r.PostFormValue("lang")); ok {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: Prefix, MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("back")), http.StatusSeeOther)
}

// catalog holds every text of the console: English, then Simplified
// Chinese, by key. Each part of the console keeps its own texts beside its
// pages.
var catalog = mergeTexts(coreTexts, dashboardTexts, supportTexts, opsTexts)

func mergeTexts(parts ...map[string][2]string) map[string][2]string {
	out := map[string][2]string{}
	for _, p := range parts {
		for k, v := range p {
			if _, dup := out[k]; dup {
				panic("console: text " + k + " defined twice") // caught by every test of the package
			}
			out[k] = v
		}
	}
	return out
}

// coreTexts are the layout's, sign-in's and the error pages' texts.
var coreTexts = map[string][2]string{
	"app.name":         {"forbear console", "forbear 控制台"},
	"nav.dashboard":    {"Dashboard", "概览"},
	"nav.search":       {"Borrowers", "借款人"},
	"nav.templates":    {"Templates", "模板"},
	"nav.policies":     {"Policies", "策略"},
	"nav.signout":      {"Sign out", "退出"},
	"nav.signed_in_as": {"Signed in as %s", "当前用户：%s"},
	"nav.open_mode":    {"Open mode (no sign-in, this machine only)", "开放模式（无需登录，仅限本机）"},
	"nav.language":     {"Language", "语言"},
	"nav.switch":       {"Switch", "切换"},
	"nav.skip":         {"Skip to content", "跳到正文"},

	"signin.title":   {"Sign in", "登录"},
	"signin.token":   {"Access token", "访问令牌"},
	"signin.help":    {"Use a token from auth.tokens in forbear's configuration.", "请使用 forbear 配置中 auth.tokens 里的令牌。"},
	"signin.submit":  {"Sign in", "登录"},
	"signin.unknown": {"That token is not known.", "该令牌无效。"},

	"error.title":     {"Something went wrong", "出错了"},
	"error.forbidden": {"Not allowed", "无权访问"},
	"error.notfound":  {"Not found", "未找到"},
	"error.csrf":      {"This form has expired or did not come from this console. Go back, reload the page and try again.", "表单已过期或并非来自本控制台。请返回、刷新页面后重试。"},
	"error.role":      {"Your token's roles do not include %s, which this page needs.", "您的令牌角色不包含本页面所需的 %s。"},
	"error.page":      {"There is no such page.", "没有这个页面。"},
	"error.internal":  {"The server could not show this page; the server log says why.", "服务器无法显示此页面，原因见服务器日志。"},
	"error.back":      {"Back to the dashboard", "返回概览"},
}
