package httpapi

import (
	"errors"
	"net/http"

	"github.com/forbear/forbear/internal/support"
)

// getSearch serves GET /v1/search?q=: borrowers by id, loan id, email or
// phone number (support.Service.Search).
func (s *Server) getSearch(w http.ResponseWriter, r *http.Request) {
	matches, err := s.o.Support.Search(r.Context(), r.URL.Query().Get("q"))
	if errors.Is(err, support.ErrQuery) {
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "q", Message: err.Error()})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"matches": matches})
}
