package console

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/templates"
)

// defaultLocales are offered in every editor, so a text in the other
// language is one textarea away.
var defaultLocales = []string{"en-US", "zh-CN"}

// maxLocales bounds the locales of one editor form.
const maxLocales = 20

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
