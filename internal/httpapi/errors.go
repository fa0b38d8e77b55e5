package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/forbear/forbear/dispatcher"
)

// apiError is the body of every error response:
// {"error":{"code","message","field"}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Stable error codes.
var (
	errUnauthorized = apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "missing or unknown bearer token"}
	errForbidden    = apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "this token's roles do not allow that"}
	errNotFound     = apiError{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	errTooLarge     = apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "request body is too large"}
	errInternal     = apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log"}
	errUnavailable  = apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "not ready"}
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e apiError) {
	writeJSON(w, e.Status, map[string]apiError{"error": e})
}

// fail maps an error from below to a response; unexpected errors are logged
// by the caller and hidden behind "internal".
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var fe *dispatcher.FieldError
	switch {
	case errors.As(err, &fe):
		status := http.StatusBadRequest
		if fe.Code == "not_found" {
			status = http.StatusNotFound
		}
		writeError(w, apiError{Status: status, Code: fe.Code, Message: fe.Message, Field: fe.Field})
	case errors.Is(err, dispatcher.ErrNotFound):
		writeError(w, errNotFound)
	default:
		s.log.WithError(err).WithField("path", r.URL.Path).Error("request failed")
		writeError(w, errInternal)
	}
}
