package httpapi

import (
	"context"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"github.com/forbear/forbear/internal/config"
)

// Roles.
const (
	RolePublisher = "publisher"
	RoleOps       = "ops"
	RoleSupport   = "support"
	RoleAdmin     = "admin"
)

type principalKey struct{}

// Principal is who made a request.
type Principal struct {
	Name  string
	Roles []string
	// Borrower is set for a borrower's own token: it may read that
	// borrower's inbox and nothing else.
	Borrower string
	// TokenID stands for the bearer token (a hash of it, never the token
	// itself), stable across requests: per-token limits count by it.
	TokenID string
}

func (p Principal) has(role string) bool {
	return slices.Contains(p.Roles, role) || slices.Contains(p.Roles, RoleAdmin)
}

// PrincipalFrom returns the authenticated caller of a request.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// authenticator checks bearer tokens. With no tokens configured it runs in
// open mode (config.Validate only allows that on a loopback listener).
type authenticator struct {
	tokens []config.Token
	// borrower verifies a borrower's own token; nil disables them.
	borrower func(token string) (borrowerID string, err error)
}

func (a authenticator) open() bool { return len(a.tokens) == 0 }

func (a authenticator) lookup(r *http.Request) (Principal, bool) {
	if a.open() {
		return Principal{Name: "open", Roles: []string{RoleAdmin}, TokenID: "open"}, true
	}
	// The scheme is case-insensitive (RFC 7235 §2.1): "bearer x" is fine.
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return Principal{}, false
	}
	for _, t := range a.tokens {
		// Constant time: token comparison must not leak prefixes.
		if subtle.ConstantTimeCompare([]byte(t.Token), []byte(tok)) == 1 {
			return Principal{Name: t.Name, Roles: t.Roles, TokenID: tokenID(tok)}, true
		}
	}
	if a.borrower != nil && strings.HasPrefix(tok, "brw_") {
		if id, err := a.borrower(tok); err == nil {
			return Principal{Name: "borrower", Borrower: id, TokenID: tokenID(tok)}, true
		}
	}
	return Principal{}, false
}

// require wraps h so only callers with role (or admin) get through.
func (a authenticator) require(role string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := a.lookup(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="forbear"`)
			writeError(w, errUnauthorized)
			return
		}
		if !p.has(role) {
			writeError(w, errForbidden)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

// requireOwnInbox lets support staff, or the borrower named in the path
// with their own token, through.
func (a authenticator) requireOwnInbox(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := a.lookup(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="forbear"`)
			writeError(w, errUnauthorized)
			return
		}
		if !p.has(RoleSupport) && (p.Borrower == "" || p.Borrower != r.PathValue("id")) {
			writeError(w, errForbidden)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}
