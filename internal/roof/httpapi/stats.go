package httpapi

import (
	"net/http"
)

// getStats serves GET /v1/stats: the dashboard's numbers
// (stats.Reader.Read, which the console calls too).
func (s *Server) getStats(w http.ResponseWriter, r *http.Request) {
	snap, err := s.o.Stats.Read(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, snap)
}
