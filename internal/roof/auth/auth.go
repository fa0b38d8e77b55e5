package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"

	"github.com/forbear/forbear/internal/ground/config"
)

// Roles.
const (
	RolePublisher = "publisher"
	RoleOps       = "ops"
	RoleSupport   = "support"
	RoleAdmin     = "admin"
)

// Principal is who made a request.
type Principal struct {
	Name  string
	Roles []string
	// Borrower is set for a borrower's own token: it may read that
	// borrower's inbox and nothing else.
	Borrower string
	// TokenID stands for the token (a hash of it, never the token itself),
	// stable across requests: per-token limits count by it.
	TokenID string
}

// Has reports whether p may act in role (admin may act in every role).
func (p Principal) Has(role string) bool {
	return slices.Contains(p.Roles, role) || slices.Contains(p.Roles, RoleAdmin)
}

// Staff reports whether p holds any staff role (a borrower's token holds
// none).
func (p Principal) Staff() bool { return len(p.Roles) > 0 }

type principalKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// From returns the principal ctx carries (the zero Principal if none).
func From(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// Digest is a token's SHA-256: how a token is compared and, in a console
// session, remembered (the token itself is never stored).
type Digest [sha256.Size]byte

// DigestOf returns token's digest.
func DigestOf(token string) Digest { return sha256.Sum256([]byte(token)) }

// ID is the digest's printable short form (Principal.TokenID).
func (d Digest) ID() string { return "sha256:" + hex.EncodeToString(d[:16]) }

// Authenticator checks tokens. With no tokens configured it runs in open
// mode (CheckConfig only allows that on a loopback listener).
type Authenticator struct {
	tokens []knownToken
	// borrower verifies a borrower's own token; nil disables them.
	borrower func(token string) (borrowerID string, err error)
}

// knownToken is a configured token by its digest: digests all have one
// length, so comparing them takes the same time whatever the length of the
// token presented.
type knownToken struct {
	digest    Digest
	principal Principal
}

// New returns an Authenticator for the configured tokens; borrower, when
// not nil, verifies a borrower's own token ("brw_...").
func New(tokens []config.Token, borrower func(token string) (string, error)) *Authenticator {
	a := &Authenticator{tokens: make([]knownToken, len(tokens)), borrower: borrower}
	for i, t := range tokens {
		d := DigestOf(t.Token)
		a.tokens[i] = knownToken{digest: d, principal: Principal{Name: t.Name, Roles: t.Roles, TokenID: d.ID()}}
	}
	return a
}

// Open reports open mode: no tokens, everyone on the machine is admin.
func (a *Authenticator) Open() bool { return len(a.tokens) == 0 }

// OpenPrincipal is who every caller is in open mode.
func OpenPrincipal() Principal {
	return Principal{Name: "open", Roles: []string{RoleAdmin}, TokenID: "open"}
}

// Bearer finds the caller of r by its Authorization header.
func (a *Authenticator) Bearer(r *http.Request) (Principal, bool) {
	// The scheme is case-insensitive (RFC 7235 §2.1): "bearer x" is fine.
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return Principal{}, false
	}
	return a.Token(tok)
}

// Token finds the holder of a staff token or a borrower's own token.
func (a *Authenticator) Token(tok string) (Principal, bool) {
	if p, ok := a.Staff(DigestOf(tok)); ok {
		return p, true
	}
	if a.borrower != nil && strings.HasPrefix(tok, "brw_") {
		if id, err := a.borrower(tok); err == nil {
			return Principal{Name: "borrower", Borrower: id, TokenID: DigestOf(tok).ID()}, true
		}
	}
	return Principal{}, false
}

// Staff finds the configured staff token with digest d. Every configured
// token is compared, and the match is picked without a branch: the time
// taken says nothing about which token matched or how much of it.
func (a *Authenticator) Staff(d Digest) (Principal, bool) {
	match := -1
	for i := range a.tokens {
		eq := subtle.ConstantTimeCompare(a.tokens[i].digest[:], d[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return Principal{}, false
	}
	return a.tokens[match].principal, true
}
