package httpapi

import "net/http/httptest"

// Serves reports whether the server's mux has a route of its own for a
// request (the catch-all 404 is none), however that route was registered.
func (s *Server) Serves(method, path string) bool {
	_, pattern := s.mux.Handler(httptest.NewRequest(method, path, nil))
	return pattern != "" && pattern != "/"
}
