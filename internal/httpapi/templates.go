package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/forbear/forbear/templates"
)

// Template routes (role ops, spec §6). The preview with SMS encoding and
// segments is built with the template workflow issue.
func (s *Server) templateRoutes(t *templates.Store) {
	req := s.auth.require
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
	s.mux.HandleFunc("GET /v1/templates", req(RoleOps, func(w http.ResponseWriter, r *http.Request) {
		list, err := t.List(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if list == nil {
			list = []templates.Info{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"templates": list})
	}))
	s.mux.HandleFunc("GET /v1/templates/{id}", req(RoleOps, get))
	s.mux.HandleFunc("PUT /v1/templates/{id}", req(RoleOps, func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		def, err := templates.ParseJSON(body)
		if err != nil {
			writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_template", Message: err.Error()})
			return
		}
		n, err := t.Put(r.Context(), r.PathValue("id"), def, PrincipalFrom(r.Context()).Name, r.URL.Query().Get("note"))
		if err != nil {
			s.templateError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "version": n})
	}))
	s.mux.HandleFunc("GET /v1/templates/{id}/versions/{n}", req(RoleOps, func(w http.ResponseWriter, r *http.Request) {
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
	}))
	s.mux.HandleFunc("POST /v1/templates/{id}/rollback", req(RoleOps, func(w http.ResponseWriter, r *http.Request) {
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
		if err := t.Rollback(r.Context(), r.PathValue("id"), in.Version, PrincipalFrom(r.Context()).Name); err != nil {
			s.templateError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "live": in.Version})
	}))
}

// templateError maps template store errors: a validation error names the
// channel and locale (field "channels.<channel>.<locale>").
func (s *Server) templateError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *templates.ValidationError
	switch {
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
	default:
		s.fail(w, r, err)
	}
}
