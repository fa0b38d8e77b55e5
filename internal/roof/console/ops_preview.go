package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/template"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/templates"
)

// textKey names one text of a template: a channel in a locale.
type textKey struct {
	ch  domain.Channel
	loc string
}

// id is the key's part of element ids ("sms-en-US").
func (k textKey) id() string { return string(k.ch) + "-" + k.loc }

// field is the key as the API names it in errors ("channels.sms.en-US").
func (k textKey) field() string { return "channels." + string(k.ch) + "." + k.loc }

// textPreview is one text of a draft rendered as the editor shows it: what
// POST /v1/templates/{id}/preview answers for it, plus the room left in
// the last SMS segment and the characters that forced UCS-2.
type textPreview struct {
	Field    string `json:"field"`
	Channel  string `json:"channel"`
	Locale   string `json:"locale"`
	Subject  string `json:"subject,omitempty"`
	Text     string `json:"text"`
	Encoding string `json:"encoding"`
	Segments int    `json:"segments"`
	// Left is the room left in the last segment (GSM-7 septets or UCS-2
	// code units, as templates.Measure counts).
	Left int `json:"left"`
	// Runs are Text cut where characters outside GSM-7 begin and end (an
	// SMS's; other channels are not sent as SMS, so their text is one
	// run), so the editor can mark them without parsing any markup.
	Runs []textRun `json:"runs"`
	// Forcing lists the distinct characters of an SMS that forced UCS-2,
	// the first maxForcing of them; ForcingMore counts the others.
	Forcing     []forcedChar `json:"forcing"`
	ForcingMore int          `json:"forcing_more,omitempty"`
	// Error is why the text cannot be saved or rendered; the rest is then
	// empty.
	Error string `json:"error,omitempty"`
}

// textRun is a piece of a rendered text; UCS2 marks characters outside
// GSM-7.
type textRun struct {
	Text string `json:"text"`
	UCS2 bool   `json:"ucs2,omitempty"`
}

// forcedChar is a character that forced UCS-2, with its code point (a
// curly quote or a no-break space looks like its GSM-7 twin).
type forcedChar struct {
	Char string `json:"char"`
	Code string `json:"code"`
}

// maxForcing bounds the list of distinct characters that forced UCS-2 (a
// Chinese text has dozens; the marks in the text show them all).
const maxForcing = 12

// previewDraft renders every text of def for the editor, each on its own:
// a draft of that one text goes through the store's RenderDraft, which
// validates it with the store's rules first (as the API's preview of a
// draft does), so one broken text does not hide the preview of the others,
// and each error is the one saving would give for that text. The context is
// templates.PreviewContext's, as in the API: sample data, or a real
// borrower's. unknownBorrower is set (and nothing rendered) when there is
// no such borrower.
func (c *Console) previewDraft(ctx context.Context, rq *request, id string, def templates.Definition, borrowerID string) (out map[textKey]textPreview, unknownBorrower bool, err error) {
	store := c.o.Ops.Templates
	contexts := map[string]templates.Context{}
	out = map[textKey]textPreview{}
	for _, ch := range domain.Channels {
		for _, loc := range slices.Sorted(maps.Keys(def.Channels[ch])) {
			data, ok := contexts[loc]
			if !ok {
				data, _, err = templates.PreviewContext(ctx, c.o.Ops.Records, borrowerID, loc, c.o.Now(), c.o.DefaultZone)
				if errors.Is(err, templates.ErrUnknownBorrower) {
					return nil, true, nil
				}
				if err != nil {
					return nil, false, err
				}
				contexts[loc] = data
			}
			key := textKey{ch, loc}
			one := templates.Definition{Category: def.Category,
				Channels: map[domain.Channel]map[string]templates.Text{ch: {loc: def.Channels[ch][loc]}}}
			r, err := store.RenderDraft(id, one, ch, loc, data)
			out[key] = newTextPreview(rq, key, r, err)
		}
	}
	return out, false, nil
}

// newTextPreview measures a rendered text, or says why it did not render.
func newTextPreview(rq *request, key textKey, r templates.Rendered, err error) textPreview {
	p := textPreview{Field: key.field(), Channel: string(key.ch), Locale: key.loc, Runs: []textRun{}, Forcing: []forcedChar{}}
	if err != nil {
		var ee template.ExecError
		if problems := validationProblems(err); len(problems) > 0 {
			msgs := make([]string, len(problems))
			for i, ve := range problems {
				msgs[i] = ve.Error()
			}
			p.Error = strings.Join(msgs, "; ")
		} else if errors.As(err, &ee) {
			// Valid, but fails on this borrower's data: what the send
			// would hit.
			p.Error = rq.Lang.T("editor.render_failed", err.Error())
		} else {
			p.Error = err.Error()
		}
		return p
	}
	m := templates.Measure(r.Text)
	p.Subject, p.Text, p.Encoding, p.Segments, p.Left = r.Subject, r.Text, m.Encoding, m.Segments, m.Left
	if key.ch == domain.SMS {
		p.Runs, p.Forcing, p.ForcingMore = gsmRuns(r.Text)
	} else if r.Text != "" {
		p.Runs = []textRun{{Text: r.Text}}
	}
	return p
}

// gsmRuns cuts text where characters outside GSM-7 begin and end, and
// lists those characters once each (up to maxForcing, then counts them).
func gsmRuns(text string) (runs []textRun, forcing []forcedChar, more int) {
	runs, forcing = []textRun{}, []forcedChar{}
	seen := map[rune]bool{}
	var cur strings.Builder
	curUCS2 := false
	for _, r := range text {
		ucs2 := !templates.IsGSM7(r)
		if ucs2 != curUCS2 && cur.Len() > 0 {
			runs = append(runs, textRun{Text: cur.String(), UCS2: curUCS2})
			cur.Reset()
		}
		curUCS2 = ucs2
		cur.WriteRune(r)
		if ucs2 && !seen[r] {
			seen[r] = true
			if len(forcing) < maxForcing {
				forcing = append(forcing, forcedChar{Char: string(r), Code: fmt.Sprintf("U+%04X", r)})
			} else {
				more++
			}
		}
	}
	if cur.Len() > 0 {
		runs = append(runs, textRun{Text: cur.String(), UCS2: curUCS2})
	}
	return runs, forcing, more
}

// validationProblems lists every *templates.ValidationError in err's tree
// (the store joins one per problem).
func validationProblems(err error) []*templates.ValidationError {
	var out []*templates.ValidationError
	var walk func(error)
	walk = func(e error) {
		if ve, ok := e.(*templates.ValidationError); ok {
			out = append(out, ve)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			if inner := u.Unwrap(); inner != nil {
				walk(inner)
			}
		}
	}
	walk(err)
	return out
}

// maxPreviewTexts bounds the texts of one preview request: every channel
// in as many locales as the editor's form holds.
const maxPreviewTexts = 4 * maxLocales

// previewRequest is what editor.js posts: the draft in the shape of PUT
// /v1/templates/{id} (category and channels) and the borrower to preview
// for.
type previewRequest struct {
	Category   string          `json:"category"`
	BorrowerID string          `json:"borrower_id"`
	Channels   json.RawMessage `json:"channels"`
}

// previewResponse lists a preview per text of the draft, in the editor's
// order; UnknownBorrower says why there is none.
type previewResponse struct {
	Previews        []textPreview `json:"previews"`
	UnknownBorrower string        `json:"unknown_borrower,omitempty"`
}

// postPreview is the live preview editor.js asks for as one types (a
// same-origin fetch carrying X-CSRF-Token).
func (c *Console) postPreview(w http.ResponseWriter, r *http.Request, rq *request) {
	if c.o.Ops.Templates == nil {
		opsJSONError(w, http.StatusNotFound, rq.Lang.T("error.page"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	var in previewRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		opsJSONError(w, http.StatusBadRequest, "body is not a preview request: "+err.Error())
		return
	}
	wire := map[string]any{"category": in.Category}
	if len(in.Channels) > 0 {
		wire["channels"] = in.Channels
	}
	raw, _ := json.Marshal(wire)
	def, err := templates.ParseJSON(raw)
	if err != nil {
		opsJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	texts := 0
	for _, locs := range def.Channels {
		texts += len(locs)
	}
	if texts > maxPreviewTexts {
		opsJSONError(w, http.StatusBadRequest, fmt.Sprintf("a preview takes at most %d texts, got %d", maxPreviewTexts, texts))
		return
	}
	previews, unknown, err := c.previewDraft(r.Context(), rq, r.PathValue("id"), def, strings.TrimSpace(in.BorrowerID))
	if err != nil {
		c.o.Log.WithError(err).Error("console: template preview")
		opsJSONError(w, http.StatusInternalServerError, rq.Lang.T("error.internal"))
		return
	}
	resp := previewResponse{Previews: []textPreview{}}
	if unknown {
		resp.UnknownBorrower = rq.Lang.T("editor.unknown_borrower", strings.TrimSpace(in.BorrowerID))
	}
	for _, ch := range domain.Channels {
		for _, loc := range slices.Sorted(maps.Keys(def.Channels[ch])) {
			if p, ok := previews[textKey{ch, loc}]; ok {
				resp.Previews = append(resp.Previews, p)
			}
		}
	}
	opsJSON(w, http.StatusOK, resp)
}

// opsJSON answers a fetch of an ops page with JSON.
func opsJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func opsJSONError(w http.ResponseWriter, status int, message string) {
	opsJSON(w, status, map[string]string{"error": message})
}
