package httpapi

import (
	"context"
	"crypto/sha256"
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
	tokens []knownToken
	// borrower verifies a borrower's own token; nil disables them.
	borrower func(token string) (borrowerID string, err error)
}

// knownToken is a configured token by its SHA-256 digest: digests all have
// one length, so comparing them takes the same time whatever the length of
// the token presented.
type knownToken struct {
	digest    [sha256.Size]byte
	principal Principal
}

func newAuthenticator(tokens []config.Token) authenticator {
	a := authenticator{tokens: make([]knownToken, len(tokens))}
	for i, t := range tokens {
		a.tokens[i] = knownToken{digest: sha256.Sum256([]byte(t.Token)), principal: Principal{Name: t.Name, Roles: t.Roles, TokenID: tokenID(t.Token)}}
	}
	return a
}

func (a authenticator) open() bool { return len(a.tokens) == 0 }

// authenticate finds the caller of r, or answers r itself (401, or 403 for
// open mode's refusals) and returns false.
func (a authenticator) authenticate(w http.ResponseWriter, r *http.Request) (Principal, bool) {
	if a.open() {
		if e, refused := refuseInOpenMode(r); refused {
			writeError(w, e)
			return Principal{}, false
		}
		return Principal{Name: "open", Roles: []string{RoleAdmin}, TokenID: "open"}, true
	}
	p, ok := a.lookup(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="forbear"`)
		writeError(w, errUnauthorized)
	}
	return p, ok
}

func (a authenticator) lookup(r *http.Request) (Principal, bool) {
	// The scheme is case-insensitive (RFC 7235 §2.1): "bearer x" is fine.
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return Principal{}, false
	}
	// Every configured token is compared, and the match is picked without a
	// branch: the time taken says nothing about the token's length, how much
	// of a prefix matched, or where the match stands in the list.
	digest := sha256.Sum256([]byte(tok))
	match := -1
	for i := range a.tokens {
		eq := subtle.ConstantTimeCompare(a.tokens[i].digest[:], digest[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match >= 0 {
		return a.tokens[match].principal, true
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
		p, ok := a.authenticate(w, r)
		if !ok {
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
		p, ok := a.authenticate(w, r)
		if !ok {
			return
		}
		if !p.has(RoleSupport) && (p.Borrower == "" || p.Borrower != r.PathValue("id")) {
			writeError(w, errForbidden)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}
