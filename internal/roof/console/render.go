package console

import (
	"bytes"
	"embed"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/roof/auth"
)

//go:embed web
var web embed.FS

// pageSet is every page template, each parsed together with the layout.
type pageSet map[string]*template.Template

// loadPages parses web/pages/layout.html with each other page file; a page
// file defines "content" (and may define "head" for its own scripts).
func loadPages() (pageSet, error) {
	names, err := fs.Glob(web, "web/pages/*.html")
	if err != nil {
		return nil, err
	}
	set := pageSet{}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(web, "web/pages/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("console: page %s: %w", base, err)
		}
		set[base] = t
	}
	return set, nil
}

// funcs are the helpers every page may use besides the view's methods.
var funcs = template.FuncMap{
	"join": strings.Join,
}

// view is what a page template sees: the request (language, zone, who),
// the page's title and its own data.
type view struct {
	Req   *request
	Title string
	Data  any
	Nav   []navItem
}

// navItem is one entry of the menu; it is shown only to the roles that
// may open it.
type navItem struct {
	Href    string
	Label   string
	Current bool
}

// T translates key into the viewer's language.
func (v view) T(key string, args ...any) string { return v.Req.Lang.T(key, args...) }

// Time shows t in the viewer's zone.
func (v view) Time(t time.Time) string { return showTime(t, v.Req.Zone) }

// TimeIn shows t in a given zone (a borrower's).
func (v view) TimeIn(t time.Time, loc *time.Location) string { return showTime(t, loc) }

// showTime is how every page shows a time: to the minute, in loc, with the
// zone's abbreviation; nothing for the zero time or no zone.
func showTime(t time.Time, loc *time.Location) string {
	if t.IsZero() || loc == nil {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// When shows t in the viewer's zone as Time does, its date and its clock
// each kept on one line: a narrow column wraps between the two, never
// inside a date.
func (v view) When(t time.Time) template.HTML { return whenHTML(t, v.Req.Zone) }

// WhenIn is When in a given zone (a borrower's).
func (v view) WhenIn(t time.Time, loc *time.Location) template.HTML { return whenHTML(t, loc) }

func whenHTML(t time.Time, loc *time.Location) template.HTML {
	s := showTime(t, loc)
	date, clock, ok := strings.Cut(s, " ")
	if !ok {
		return template.HTML(html.EscapeString(s))
	}
	return template.HTML(`<span class="when-part">` + html.EscapeString(date) + `</span> <span class="when-part">` +
		html.EscapeString(clock) + `</span>`)
}

// isoTime is t as a <time datetime> attribute holds it.
func isoTime(t time.Time) string { return t.Format(time.RFC3339) }

// Langs are the languages of the switch.
func (v view) Langs() []Lang { return Langs }

// menu is the console's navigation for a principal.
func menu(p auth.Principal, lang Lang, current string) []navItem {
	items := []struct {
		href, key, role string
		also            string // another path prefix the item stands for
	}{
		{Prefix, "nav.dashboard", anyStaff, ""},
		{Prefix + "search", "nav.search", auth.RoleSupport, Prefix + "borrowers/"},
		{Prefix + "templates", "nav.templates", auth.RoleOps, ""},
		{Prefix + "policies", "nav.policies", auth.RoleOps, ""},
	}
	var out []navItem
	for _, it := range items {
		if it.role != anyStaff && !p.Has(it.role) {
			continue
		}
		cur := current == it.href || it.href != Prefix && strings.HasPrefix(current, it.href) ||
			it.also != "" && strings.HasPrefix(current, it.also)
		out = append(out, navItem{Href: it.href, Label: lang.T(it.key), Current: cur})
	}
	return out
}

// render writes page name with data. The page is rendered into a buffer
// first, so a template error becomes a clean 500 rather than half a page.
func (c *Console) render(w http.ResponseWriter, rq *request, status int, name, title string, data any) {
	t, ok := c.pages[name]
	if !ok {
		c.o.Log.WithField("page", name).Error("console: no such page template")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	v := view{Req: rq, Title: title, Data: data, Nav: menu(rq.Principal, rq.Lang, rq.Path)}
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.o.Log.WithError(err).WithField("page", name).Error("console: render")
		http.Error(w, "internal error; see the server log", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorView is the data of the error page.
type errorView struct {
	Heading string
	Message string
}

// fail answers with the error page for status.
func (c *Console) fail(w http.ResponseWriter, rq *request, status int) {
	msg := rq.Lang.T("error.internal")
	switch status {
	case http.StatusNotFound:
		msg = rq.Lang.T("error.page")
	case http.StatusForbidden:
		msg = rq.Lang.T("error.role", "")
	}
	c.failWith(w, rq, status, msg)
}

// failWith answers with the error page for status, saying message.
func (c *Console) failWith(w http.ResponseWriter, rq *request, status int, message string) {
	heading := rq.Lang.T("error.title")
	switch status {
	case http.StatusForbidden:
		heading = rq.Lang.T("error.forbidden")
	case http.StatusNotFound:
		heading = rq.Lang.T("error.notfound")
	}
	c.render(w, rq, status, "error", heading, errorView{Heading: heading, Message: message})
}

// assetHandler serves web/assets under Prefix+"assets/". The files are
// part of the binary; a cache may keep them an hour.
func assetHandler() http.Handler {
	sub, err := fs.Sub(web, "web/assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(Prefix+"assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
