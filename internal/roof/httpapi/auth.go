package httpapi

import (
	"net/http"

	"github.com/forbear/forbear/internal/roof/auth"
)

// Roles, as internal/roof/auth names them.
const (
	RolePublisher = auth.RolePublisher
	RoleOps       = auth.RoleOps
	RoleSupport   = auth.RoleSupport
	RoleAdmin     = auth.RoleAdmin
)

// Principal is who made a request.
type Principal = auth.Principal

// PrincipalFrom returns the authenticated caller of a request.
func PrincipalFrom(r *http.Request) Principal { return auth.From(r.Context()) }

// authenticate finds the caller of r, or answers r itself (401, or 403 for
// open mode's refusals) and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (Principal, bool) {
	if s.auth.Open() {
		if why, refused := auth.RefuseInOpenMode(r); refused {
			writeError(w, apiError{Status: http.StatusForbidden, Code: why.Code, Message: why.Message})
			return Principal{}, false
		}
		return auth.OpenPrincipal(), true
	}
	p, ok := s.auth.Bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="forbear"`)
		writeError(w, errUnauthorized)
	}
	return p, ok
}

// require wraps h so only callers with role (or admin) get through.
func (s *Server) require(role string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !p.Has(role) {
			writeError(w, errForbidden)
			return
		}
		h(w, r.WithContext(auth.With(r.Context(), p)))
	}
}

// requireOwnInbox lets support staff, or the borrower named in the path
// with their own token, through.
func (s *Server) requireOwnInbox(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !p.Has(RoleSupport) && (p.Borrower == "" || p.Borrower != r.PathValue("id")) {
			writeError(w, errForbidden)
			return
		}
		h(w, r.WithContext(auth.With(r.Context(), p)))
	}
}

// requireStaff wraps h so that a token of any staff role gets through (a
// borrower's own token does not).
func (s *Server) requireStaff(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !p.Staff() {
			writeError(w, errForbidden)
			return
		}
		h(w, r.WithContext(auth.With(r.Context(), p)))
	}
}
