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

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/templates"
)

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
	if len(note) > intake.MaxReasonBytes {
		st.refused = true
		st.noteError = rq.Lang.T("editor.note_too_long", len(note), intake.MaxReasonBytes)
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
