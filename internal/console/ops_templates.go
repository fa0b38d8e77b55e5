package console

import (
	"cmp"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/templates"
)

// defaultLocales are offered in every editor, so a text in the other
// language is one textarea away.
var defaultLocales = []string{"en-US", "zh-CN"}

// maxLocales bounds the locales of one editor form.
const maxLocales = 20

// templateRow is one line of the templates list.
type templateRow struct {
	ID       string
	Href     string
	Category string
	Live     int
	Uses     []templates.Use
	Author   string
	At       time.Time
	// Missing: a policy sends the template, but the store has no version.
	Missing bool
}

type templatesView struct {
	Rows     []templateRow
	NewID    string
	NewError string
}

// getTemplates lists the templates; ?new=<id> opens the editor of a new
// one.
func (c *Console) getTemplates(w http.ResponseWriter, r *http.Request, rq *request) {
	store := c.o.Ops.Templates
	if store == nil {
		c.fail(w, rq, http.StatusNotFound)
		return
	}
	view := templatesView{}
	status := http.StatusOK
	if r.URL.Query().Has("new") {
		id := strings.TrimSpace(r.URL.Query().Get("new"))
		if err := templates.ValidateID(id); err != nil {
			view.NewID, view.NewError, status = id, err.Error(), http.StatusBadRequest
		} else {
			http.Redirect(w, r, templatePath(id), http.StatusSeeOther)
			return
		}
	}
	ctx := r.Context()
	list, err := store.List(ctx)
	if err != nil {
		c.opsInternal(w, rq, err)
		return
	}
	seen := map[string]bool{}
	for _, info := range list {
		seen[info.ID] = true
		row := templateRow{ID: info.ID, Href: templatePath(info.ID), Live: info.Live, Uses: c.o.Ops.Uses[info.ID]}
		if n := len(info.Versions); n > 0 {
			row.Author, row.At = info.Versions[n-1].Author, info.Versions[n-1].At
		}
		if info.Live > 0 {
			rec, err := store.Version(ctx, info.ID, info.Live)
			if err != nil && !errors.Is(err, templates.ErrNotFound) {
				c.opsInternal(w, rq, err)
				return
			}
			row.Category = rec.Definition.Category
		}
		view.Rows = append(view.Rows, row)
	}
	for _, id := range slices.Sorted(maps.Keys(c.o.Ops.Uses)) {
		if !seen[id] {
			view.Rows = append(view.Rows, templateRow{ID: id, Href: templatePath(id), Uses: c.o.Ops.Uses[id], Missing: true})
		}
	}
	c.render(w, rq, status, "templates", rq.Lang.T("templates.title"), view)
}

// templatePath is the editor's path for id.
func templatePath(id string) string { return Prefix + "templates/" + url.PathEscape(id) }

// draftForm is the editor's form: what a Definition holds, the note of the
// version and the borrower to preview for.
type draftForm struct {
	Category    string
	Description string
	Note        string
	Borrower    string
	Locales     []string
	Texts       map[textKey]templates.Text
}

// formOf fills the form from a saved definition.
func formOf(def templates.Definition) draftForm {
	f := draftForm{Category: def.Category, Description: def.Note, Texts: map[textKey]templates.Text{}}
	locales := map[string]bool{}
	for ch, texts := range def.Channels {
		for loc, t := range texts {
			f.Texts[textKey{ch, loc}] = t
			locales[loc] = true
		}
	}
	f.Locales = mergeLocales(slices.Collect(maps.Keys(locales)))
	return f
}

// mergeLocales is locales with the default ones, sorted, without
// duplicates.
func mergeLocales(locales []string) []string {
	all := slices.Concat(defaultLocales, locales)
	slices.Sort(all)
	return slices.Compact(all)
}

// textField names the form field of one part of a text:
// "text.<channel>.<locale>.subject" or ".body".
func textField(k textKey, part string) string {
	return "text." + string(k.ch) + "." + k.loc + "." + part
}

// parseDraftForm reads a posted editor form, with texts in at most
// maxLocales locales. Browsers send line breaks as CRLF; the texts keep
// LF, as files and the API hold them.
func parseDraftForm(r *http.Request) draftForm {
	f := draftForm{
		Category:    r.PostFormValue("category"),
		Description: lf(r.PostFormValue("description")),
		Note:        lf(r.PostFormValue("note")),
		Borrower:    strings.TrimSpace(r.PostFormValue("borrower")),
		Texts:       map[textKey]templates.Text{},
	}
	locales := map[string]bool{}
	// In name order, so that which locales pass the bound does not depend
	// on map order.
	for _, name := range slices.Sorted(maps.Keys(r.PostForm)) {
		values := r.PostForm[name]
		rest, ok := strings.CutPrefix(name, "text.")
		if !ok || len(values) == 0 {
			continue
		}
		ch, rest, ok1 := strings.Cut(rest, ".")
		i := strings.LastIndex(rest, ".")
		if !ok1 || i <= 0 || !domain.Channel(ch).Valid() {
			continue
		}
		loc, part := rest[:i], rest[i+1:]
		if part != "subject" && part != "body" || len(locales) >= maxLocales && !locales[loc] {
			continue
		}
		locales[loc] = true
		k := textKey{domain.Channel(ch), loc}
		t := f.Texts[k]
		if part == "subject" {
			t.Subject = lf(values[0])
		} else {
			t.Body = lf(values[0])
		}
		f.Texts[k] = t
	}
	f.Locales = mergeLocales(slices.Collect(maps.Keys(locales)))
	return f
}

func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// definition is the template the form describes. A text left blank is left
// out; a channel with no text is not in the template.
func (f draftForm) definition() templates.Definition {
	def := templates.Definition{Category: f.Category, Note: f.Description, Channels: map[domain.Channel]map[string]templates.Text{}}
	for k, t := range f.Texts {
		if strings.TrimSpace(t.Subject) == "" && strings.TrimSpace(t.Body) == "" {
			continue
		}
		if def.Channels[k.ch] == nil {
			def.Channels[k.ch] = map[string]templates.Text{}
		}
		def.Channels[k.ch][k.loc] = t
	}
	return def
}

// editorView is the editor page.
type editorView struct {
	ID      string
	Exists  bool
	Live    int
	Shown   int // the saved version the form shows; 0 when it shows what was typed
	Notice  string
	Refused bool
	// Problems lists every reason a save was refused, for the summary at
	// the top; each is also shown next to its field.
	Problems      []string
	FormError     string // problems of the whole template (category, id)
	NoteError     string
	LocaleError   string
	AddLocale     string
	BorrowerError string
	Form          draftForm
	Channels      []channelView
	Versions      []versionRow
	Uses          []templates.Use
	UsedBy        string // Uses in words
	Path          string // the editor's path
	DiffFrom      int
	DiffTo        int
	Categories    []string
}

// channelView is one channel's texts in the editor.
type channelView struct {
	Channel string
	// Subject: email texts have a subject, in-app texts a title.
	Subject      bool
	SubjectLabel string
	Error        string // a problem of the channel as a whole
	Texts        []textView
}

// textView is one channel × locale of the editor.
type textView struct {
	ID          string // "sms-en-US", the stem of the element ids
	Field       string // "channels.sms.en-US", as the API names it
	Channel     string
	Locale      string
	SubjectName string
	BodyName    string
	Subject     string
	Body        string
	Error       string
	Preview     textPreview
	HasPreview  bool
}

// versionRow is one line of the version list, newest first.
type versionRow struct {
	templates.VersionMeta
	Live bool
}

// editorState is what the editor page is built from besides the form.
type editorState struct {
	info    templates.Info
	exists  bool
	shown   int
	notice  string
	refused bool
	// problems are the store's reasons for refusing the form.
	problems    []*templates.ValidationError
	noteError   string
	localeError string
	addLocale   string
}

// getTemplate is the editor: the live version (or ?version=n) in the form,
// its previews, the versions.
func (c *Console) getTemplate(w http.ResponseWriter, r *http.Request, rq *request) {
	store := c.o.Ops.Templates
	if store == nil {
		c.fail(w, rq, http.StatusNotFound)
		return
	}
	id := r.PathValue("id")
	if err := templates.ValidateID(id); err != nil {
		c.failWith(w, rq, http.StatusNotFound, err.Error())
		return
	}
	st, ok := c.templateState(w, r, rq, id)
	if !ok {
		return
	}
	q := r.URL.Query()
	form := draftForm{Locales: mergeLocales(nil), Texts: map[textKey]templates.Text{}}
	if st.exists {
		st.shown = st.info.Live
		if v := q.Get("version"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				c.failWith(w, rq, http.StatusBadRequest, rq.Lang.T("versions.bad", "version"))
				return
			}
			st.shown = n
		}
		rec, err := store.Version(r.Context(), id, st.shown)
		if errors.Is(err, templates.ErrNotFound) {
			c.failWith(w, rq, http.StatusNotFound, rq.Lang.T("versions.unknown", st.shown))
			return
		}
		if err != nil {
			c.opsInternal(w, rq, err)
			return
		}
		form = formOf(rec.Definition)
	}
	if n, err := strconv.Atoi(q.Get("saved")); err == nil && n > 0 {
		st.notice = rq.Lang.T("editor.saved", n)
	} else if n, err := strconv.Atoi(q.Get("live")); err == nil && n > 0 {
		st.notice = rq.Lang.T("editor.rolled_back", n)
	}
	c.renderEditor(w, r, rq, http.StatusOK, id, form, st)
}

// templateState reads the template's versions; a template with none yet is
// a new one.
func (c *Console) templateState(w http.ResponseWriter, r *http.Request, rq *request, id string) (editorState, bool) {
	info, err := c.o.Ops.Templates.Get(r.Context(), id)
	switch {
	case errors.Is(err, templates.ErrNotFound):
		return editorState{info: templates.Info{ID: id}}, true
	case err != nil:
		c.opsInternal(w, rq, err)
		return editorState{}, false
	}
	return editorState{info: info, exists: true}, true
}

// postTemplate saves the form as a new version (and answers with a
// redirect to the editor), or re-renders it: to show why the store refused
// it, to preview without JavaScript (action=preview), or with another
// locale (action=add_locale).
func (c *Console) postTemplate(w http.ResponseWriter, r *http.Request, rq *request) {
	store := c.o.Ops.Templates
	if store == nil {
		c.fail(w, rq, http.StatusNotFound)
		return
	}
	id := r.PathValue("id")
	form := parseDraftForm(r)
	st, ok := c.templateState(w, r, rq, id)
	if !ok {
		return
	}
	switch r.PostFormValue("action") {
	case "preview":
		c.renderEditor(w, r, rq, http.StatusOK, id, form, st)
		return
	case "add_locale":
		loc := strings.TrimSpace(r.PostFormValue("add_locale"))
		switch {
		case !looksLikeLocale(loc):
			st.localeError, st.addLocale = rq.Lang.T("editor.add_locale_bad", loc), loc
		case len(form.Locales) >= maxLocales && !slices.Contains(form.Locales, loc):
			st.localeError, st.addLocale = rq.Lang.T("editor.add_locale_full", maxLocales), loc
		default:
			form.Locales = mergeLocales(append(form.Locales, loc))
		}
		c.renderEditor(w, r, rq, http.StatusOK, id, form, st)
		return
	}
	// The version's note, as PUT /v1/templates/{id} takes it: the note
	// given for this save, else the template's description.
	note := cmp.Or(form.Note, form.Description)
	if len(note) > dispatcher.MaxReasonBytes {
		st.refused = true
		st.noteError = rq.Lang.T("editor.note_too_long", len(note), dispatcher.MaxReasonBytes)
		c.renderEditor(w, r, rq, http.StatusBadRequest, id, form, st)
		return
	}
	n, err := store.Put(r.Context(), id, form.definition(), rq.Principal.Name, note)
	if err != nil {
		problems := validationProblems(err)
		if len(problems) == 0 {
			c.opsInternal(w, rq, err)
			return
		}
		st.refused, st.problems = true, problems
		c.renderEditor(w, r, rq, http.StatusBadRequest, id, form, st)
		return
	}
	c.o.Log.WithField("template", id).WithField("version", n).WithField("author", rq.Principal.Name).Info("template saved in the console")
	http.Redirect(w, r, templatePath(id)+"?saved="+strconv.Itoa(n), http.StatusSeeOther)
}

// looksLikeLocale accepts what could be a language tag; the store checks
// the tag itself when a text in it is saved.
func looksLikeLocale(s string) bool {
	if s == "" || len(s) > 35 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// renderEditor renders the editor with form, its previews and the
// problems of st placed next to the fields they name.
func (c *Console) renderEditor(w http.ResponseWriter, r *http.Request, rq *request, status int, id string, form draftForm, st editorState) {
	def := form.definition()
	previews, unknown, err := c.previewDraft(r.Context(), rq, id, def, form.Borrower)
	if err != nil {
		c.opsInternal(w, rq, err)
		return
	}
	v := editorView{
		ID: id, Exists: st.exists, Live: st.info.Live, Shown: st.shown, Notice: st.notice, Refused: st.refused,
		NoteError: st.noteError, LocaleError: st.localeError, AddLocale: st.addLocale, Form: form,
		Uses: c.o.Ops.Uses[id], Categories: []string{"", templates.CategoryCollection, templates.CategoryAgreement},
	}
	v.Path = templatePath(id)
	for i, u := range v.Uses {
		if i > 0 {
			v.UsedBy += rq.Lang.T("list.sep")
		}
		v.UsedBy += rq.Lang.T("templates.use", u.Policy, rq.Lang.T("category."+u.Category))
	}
	if unknown {
		v.BorrowerError = rq.Lang.T("editor.unknown_borrower", form.Borrower)
	}
	textErrors, channelErrors := map[textKey][]string{}, map[domain.Channel][]string{}
	var formErrors []string
	for _, ve := range st.problems {
		v.Problems = append(v.Problems, ve.Error())
		switch {
		case ve.Channel != "" && ve.Locale != "":
			k := textKey{domain.Channel(ve.Channel), ve.Locale}
			textErrors[k] = append(textErrors[k], ve.Error())
		case ve.Channel != "":
			channelErrors[domain.Channel(ve.Channel)] = append(channelErrors[domain.Channel(ve.Channel)], ve.Error())
		default:
			formErrors = append(formErrors, ve.Error())
		}
	}
	v.FormError = strings.Join(formErrors, "; ")
	if v.NoteError != "" {
		v.Problems = append(v.Problems, v.NoteError)
	}
	for _, ch := range domain.Channels {
		cv := channelView{Channel: string(ch), Error: strings.Join(channelErrors[ch], "; ")}
		switch ch {
		case domain.Email:
			cv.Subject, cv.SubjectLabel = true, "editor.subject"
		case domain.InApp:
			cv.Subject, cv.SubjectLabel = true, "editor.title_field"
		}
		for _, loc := range form.Locales {
			k := textKey{ch, loc}
			t := form.Texts[k]
			p, has := previews[k]
			cv.Texts = append(cv.Texts, textView{
				ID: k.id(), Field: k.field(), Channel: string(ch), Locale: loc,
				SubjectName: textField(k, "subject"), BodyName: textField(k, "body"),
				Subject: t.Subject, Body: t.Body, Error: strings.Join(textErrors[k], "; "),
				Preview: p, HasPreview: has,
			})
		}
		v.Channels = append(v.Channels, cv)
	}
	for i := len(st.info.Versions) - 1; i >= 0; i-- {
		m := st.info.Versions[i]
		v.Versions = append(v.Versions, versionRow{VersionMeta: m, Live: m.Version == st.info.Live})
	}
	v.DiffTo = st.info.Live
	v.DiffFrom = max(st.info.Live-1, 1)
	c.render(w, rq, status, "templates_edit", rq.Lang.T("editor.title", id), v)
}

// postRollback makes a saved version live again, then shows the editor.
func (c *Console) postRollback(w http.ResponseWriter, r *http.Request, rq *request) {
	store := c.o.Ops.Templates
	if store == nil {
		c.fail(w, rq, http.StatusNotFound)
		return
	}
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil || n < 1 {
		c.failWith(w, rq, http.StatusBadRequest, rq.Lang.T("versions.bad", "version"))
		return
	}
	err = store.Rollback(r.Context(), id, n, rq.Principal.Name)
	if errors.Is(err, templates.ErrNotFound) {
		c.failWith(w, rq, http.StatusNotFound, rq.Lang.T("versions.unknown", n))
		return
	}
	if err != nil {
		c.opsInternal(w, rq, err)
		return
	}
	c.o.Log.WithField("template", id).WithField("version", n).WithField("author", rq.Principal.Name).Info("template rolled back in the console")
	http.Redirect(w, r, templatePath(id)+"?live="+strconv.Itoa(n), http.StatusSeeOther)
}

// opsInternal logs err and answers with the 500 page.
func (c *Console) opsInternal(w http.ResponseWriter, rq *request, err error) {
	c.o.Log.WithError(err).WithField("path", rq.Path).Error("console: ops page")
	c.fail(w, rq, http.StatusInternalServerError)
}
