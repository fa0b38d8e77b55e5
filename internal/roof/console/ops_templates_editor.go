package console

import (
	"net/http"
	"strings"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/templates"
)

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
