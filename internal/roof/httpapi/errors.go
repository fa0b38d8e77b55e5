package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/store"
)

// apiError is the body of every error response:
// {"error":{"code","message","field"}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Index is the failing event of POST /v1/events (see batchError).
	Index *int `json:"index,omitempty"`
}

// Stable error codes.
var (
	errUnauthorized    = apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "missing or unknown bearer token"}
	errForbidden       = apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "this token's roles do not allow that"}
	errNotFound        = apiError{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	errTooLarge        = apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "request body is too large"}
	errInternal        = apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log"}
	errUnavailable     = apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "not ready"}
	errRecordFull      = apiError{Status: http.StatusConflict, Code: "record_too_large", Message: "the record would grow past what forbear stores for one borrower, loan or agreement"}
	errNATSUnavailable = apiError{Status: http.StatusServiceUnavailable, Code: "unavailable",
		Message: "NATS did not answer in time (a stream without a leader, say); nothing is lost: retry"}
	errContention = apiError{Status: http.StatusServiceUnavailable, Code: "contention", Message: "too many concurrent changes to one record; retry"}
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
// and hidden behind "internal".
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, s.apiErrorOf(r, err))
}

// failEvents is fail for POST /v1/events: an error at one event of the
// request also says which ("index" in the error) and how many events
// before it were applied ("accepted" beside the error).
func (s *Server) failEvents(w http.ResponseWriter, r *http.Request, err error) {
	e := s.apiErrorOf(r, err)
	var be *intake.BatchError
	if !errors.As(err, &be) {
		writeError(w, e)
		return
	}
	e.Index = &be.Index
	writeJSON(w, e.Status, map[string]any{"error": e, "accepted": be.Applied})
}

func (s *Server) apiErrorOf(r *http.Request, err error) apiError {
	var fe *intake.FieldError
	switch {
	case errors.As(err, &fe):
		status := http.StatusBadRequest
		switch fe.Code {
		case intake.CodeNotFound:
			status = http.StatusNotFound
		case intake.CodeLimitReached:
			status = http.StatusConflict
		}
		return apiError{Status: status, Code: fe.Code, Message: fe.Message, Field: fe.Field}
	case errors.Is(err, intake.ErrNotFound):
		return errNotFound
	case errors.Is(err, store.ErrTooLarge):
		s.log.WithError(err).WithField("path", r.URL.Path).Warn("record full")
		return errRecordFull
	case errors.Is(err, store.ErrContention):
		s.log.WithError(err).WithField("path", r.URL.Path).Warn("write contention")
		return errContention
	case store.IsTransient(err):
		s.log.WithError(err).WithField("path", r.URL.Path).Warn("NATS unavailable")
		return errNATSUnavailable
	default:
		s.log.WithError(err).WithField("path", r.URL.Path).Error("request failed")
		return errInternal
	}
}

// checkNote bounds a template version's note, which every later read of
// the template's history carries.
func checkNote(note string) (apiError, bool) {
	if len(note) <= intake.MaxReasonBytes {
		return apiError{}, false
	}
	return apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "note",
		Message: fmt.Sprintf("is %d bytes, more than the %d allowed", len(note), intake.MaxReasonBytes)}, true
}
