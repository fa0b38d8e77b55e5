package httpapi

import (
	"context"
	"net/http"
	"slices"
)

// staffRoles may read the dashboard: every role but a borrower's own token.
var staffRoles = []string{RolePublisher, RoleOps, RoleSupport, RoleAdmin}

// requireStaff wraps h so that callers with any staff role get through.
func (s *Server) requireStaff(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.auth.authenticate(w, r)
		if !ok {
			return
		}
		if !slices.ContainsFunc(staffRoles, p.has) {
			writeError(w, errForbidden)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

// getStats serves GET /v1/stats: the dashboard's numbers
// (stats.Reader.Read, which the console calls too).
func (s *Server) getStats(w http.ResponseWriter, r *http.Request) {
	if s.o.Stats == nil {
		writeError(w, errNotFound)
		return
	}
	snap, err := s.o.Stats.Read(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, snap)
}
