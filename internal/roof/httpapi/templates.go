package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"text/template"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/templates"
)

// templateRoutes are the template routes (role ops, spec §6): list, read,
// publish, versions, rollback, preview (with SMS encoding and segments) and
// diff.
func (s *Server) templateRoutes(t *templates.Store) []Route {
	get := func(w http.ResponseWriter, r *http.Request) {
		info, err := t.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			s.templateError(w, r, err)
			return
		}
		rec, err := t.Version(r.Context(), info.ID, info.Live)
		if err != nil {
			s.templateError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": info.ID, "live": info.Live, "versions": info.Versions, "definition": rec.Definition})
	}
	listAll := func(w http.ResponseWriter, r *http.Request) {
		list, err := t.List(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if list == nil {
			list = []templates.Info{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"templates": list})
	}
	put := func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		def, err := templates.ParseJSON(body)
		if err != nil {
			writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_template", Message: err.Error()})
			return
		}
		// The version's note: ?note= for this publish, else the body's note.
		note := cmp.Or(r.URL.Query().Get("note"), def.Note)
		if e, bad := checkNote(note); bad {
			writeError(w, e)
			return
		}
		n, err := t.Put(r.Context(), r.PathValue("id"), def, PrincipalFrom(r).Name, note)
		if err != nil {
			s.templateError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "version": n})
	}
	version := func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 1 {
			writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "n", Message: "version must be a positive number"})
			return
		}
		rec, err := t.Version(r.Context(), r.PathValue("id"), n)
		if err != nil {
			s.templateError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rec)
	}
	rollback := func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		var in struct {
			Version int `json:"version"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.Version < 1 {
			writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "version", Message: "body must be {\"version\": n} with n >= 1"})
			return
		}
		if err := t.Rollback(r.Context(), r.PathValue("id"), in.Version, PrincipalFrom(r).Name); err != nil {
			s.templateError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "live": in.Version})
	}
	preview := func(w http.ResponseWriter, r *http.Request) { s.previewTemplate(w, r, t) }
	diff := func(w http.ResponseWriter, r *http.Request) { s.diffTemplate(w, r, t) }
	return []Route{
		{"GET", "/v1/templates", AccessOps, listAll},
		{"GET", "/v1/templates/{id}", AccessOps, get},
		{"PUT", "/v1/templates/{id}", AccessOps, put},
		{"GET", "/v1/templates/{id}/versions/{n}", AccessOps, version},
		{"POST", "/v1/templates/{id}/rollback", AccessOps, rollback},
		{"POST", "/v1/templates/{id}/preview", AccessOps, preview},
		{"GET", "/v1/templates/{id}/diff", AccessOps, diff},
	}
}

// previewRequest is the body of POST /v1/templates/{id}/preview.
type previewRequest struct {
	// BorrowerID renders for that borrower's first open case; empty uses
	// templates.Sample.
	BorrowerID string         `json:"borrower_id"`
	Channel    domain.Channel `json:"channel"`
	// Locale overrides the borrower's locale (default en-US without one).
	Locale string `json:"locale"`
	// Channels is an unsaved draft, shaped like the channels of PUT;
	// Category goes with it (default: the live version's).
	Channels json.RawMessage `json:"channels"`
	Category *string         `json:"category"`
	// Voicemail goes with a draft: its voicemail texts by locale.
	Voicemail json.RawMessage `json:"voicemail"`
	// Version previews a saved version instead of the live one.
	Version int `json:"version"`
}

// previewTemplate renders the live version, a saved version or a draft for
// a borrower (or the sample context) and counts its SMS segments.
func (s *Server) previewTemplate(w http.ResponseWriter, r *http.Request, t *templates.Store) {
	id := r.PathValue("id")
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var in previewRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_json", Message: "body is not a preview request: " + err.Error()})
		return
	}
	switch {
	case in.Channel == "":
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "channel", Message: "channel is required (sms, voice, email or inapp)"})
		return
	case !in.Channel.Valid():
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "channel", Message: "channel must be sms, voice, email or inapp"})
		return
	case in.Version < 0:
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "version", Message: "version must be a positive number"})
		return
	case in.Version > 0 && len(in.Channels) > 0:
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "version", Message: "give either a draft (channels) or a saved version, not both"})
		return
	case in.Category != nil && len(in.Channels) == 0:
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "category", Message: "category only goes with a draft (channels)"})
		return
	case len(in.Voicemail) > 0 && len(in.Channels) == 0:
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "voicemail", Message: "voicemail only goes with a draft (channels)"})
		return
	}
	data, locale, ok := s.previewContext(w, r, in)
	if !ok {
		return
	}
	var out templates.Rendered
	var err error
	switch {
	case len(in.Channels) > 0:
		def, ok := s.previewDraft(w, r, t, id, in)
		if !ok {
			return
		}
		out, err = t.RenderDraft(id, def, in.Channel, locale, data)
	case in.Version > 0:
		out, err = t.RenderVersion(r.Context(), id, in.Version, in.Channel, locale, data)
	default:
		out, err = t.Render(id, in.Channel, locale, data)
	}
	if err != nil {
		var ee template.ExecError
		switch {
		case errors.Is(err, templates.ErrNoText):
			writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "channel", Message: "the template has no " + string(in.Channel) + " text"})
		case errors.As(err, &ee):
			// The text is valid but fails on this borrower's data (an
			// amount that is not a number, say): what the send would hit.
			writeError(w, apiError{Status: http.StatusUnprocessableEntity, Code: "render_failed", Message: err.Error()})
		default:
			s.templateError(w, r, err)
		}
		return
	}
	encoding, segments := templates.Segments(out.Text)
	resp := map[string]any{"text": out.Text, "encoding": encoding, "segments": segments, "locale": out.Locale, "channel": in.Channel}
	if out.Subject != "" {
		resp["subject"] = out.Subject
	}
	if out.HTML != "" {
		resp["html"] = out.HTML
	}
	if out.Version > 0 {
		resp["version"] = out.Version
	}
	if out.Voicemail != "" {
		resp["voicemail"], resp["voicemail_locale"] = out.Voicemail, out.VoicemailLocale
	}
	writeJSON(w, http.StatusOK, resp)
}

// previewContext builds the template context and settles the locale (see
// templates.PreviewContext, which the console's editor uses too).
func (s *Server) previewContext(w http.ResponseWriter, r *http.Request, in previewRequest) (templates.Context, string, bool) {
	var recs templates.Records
	if s.o.State != nil {
		recs = s.o.State
	}
	data, locale, err := templates.PreviewContext(r.Context(), recs, in.BorrowerID, in.Locale, time.Now(), s.o.DefaultZone)
	switch {
	case errors.Is(err, templates.ErrUnknownBorrower):
		writeError(w, apiError{Status: http.StatusNotFound, Code: "not_found", Field: "borrower_id", Message: "unknown borrower"})
		return templates.Context{}, "", false
	case err != nil:
		s.fail(w, r, err)
		return templates.Context{}, "", false
	}
	return data, locale, true
}

// previewDraft reads the draft of a preview request, taking the live
// version's category when the request gives none.
func (s *Server) previewDraft(w http.ResponseWriter, r *http.Request, t *templates.Store, id string, in previewRequest) (templates.Definition, bool) {
	wire := map[string]json.RawMessage{"channels": in.Channels}
	if len(in.Voicemail) > 0 {
		wire["voicemail"] = in.Voicemail
	}
	if in.Category != nil {
		wire["category"], _ = json.Marshal(*in.Category)
	} else if live := t.Live(id); live > 0 {
		rec, err := t.Version(r.Context(), id, live)
		if err != nil && !errors.Is(err, templates.ErrNotFound) {
			s.fail(w, r, err)
			return templates.Definition{}, false
		}
		wire["category"], _ = json.Marshal(rec.Definition.Category)
	}
	raw, err := json.Marshal(wire)
	if err != nil {
		s.fail(w, r, err)
		return templates.Definition{}, false
	}
	def, err := templates.ParseJSON(raw)
	if err != nil {
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_template", Field: "channels", Message: err.Error()})
		return templates.Definition{}, false
	}
	return def, true
}

// diffTemplate compares two saved versions: ?from=&to=, to defaulting to
// the live version and from to the one before to.
func (s *Server) diffTemplate(w http.ResponseWriter, r *http.Request, t *templates.Store) {
	id := r.PathValue("id")
	var versions [2]int
	for i, key := range []string{"from", "to"} {
		n, err := templates.ParseVersion(r.URL.Query().Get(key))
		if err != nil {
			writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: key, Message: key + " must be a version number >= 1"})
			return
		}
		versions[i] = n
	}
	cmp, err := t.CompareVersions(r.Context(), id, versions[0], versions[1])
	if err != nil {
		s.templateError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "from": cmp.From, "to": cmp.To, "changes": cmp.Changes})
}

// templateError maps template store errors: a validation error names the
// channel and locale (field "channels.<channel>.<locale>", or
// "voicemail.<locale>" for a voicemail text).
func (s *Server) templateError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *templates.ValidationError
	switch {
	case errors.As(err, &ve) && ve.Voicemail:
		field := "voicemail"
		if ve.Locale != "" {
			field += "." + ve.Locale
		}
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_template", Message: ve.Error(), Field: field})
	case errors.As(err, &ve):
		field := "channels"
		if ve.Channel != "" {
			field += "." + ve.Channel
			if ve.Locale != "" {
				field += "." + ve.Locale
			}
		}
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_template", Message: ve.Error(), Field: field})
	case errors.Is(err, templates.ErrNotFound):
		writeError(w, apiError{Status: http.StatusNotFound, Code: "not_found", Message: "unknown template or version"})
	case errors.Is(err, store.ErrTooLarge):
		writeError(w, apiError{Status: http.StatusConflict, Code: "record_too_large",
			Message: "the template version is larger than forbear stores in one record (512 KiB at most)"})
	default:
		s.fail(w, r, err)
	}
}
