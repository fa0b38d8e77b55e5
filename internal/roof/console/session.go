package console

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/ground/tz"
	"github.com/forbear/forbear/internal/roof/auth"
)

// Cookie names. The session cookie is HttpOnly; the language and zone
// cookies hold preferences only.
const (
	sessionCookie = "forbear_console"
	langCookie    = "forbear_lang"
	zoneCookie    = "forbear_tz"
)

// Signing purposes, so that a signature made for one can never pass for
// the other.
const (
	sessionPurpose = "console-session"
	csrfPurpose    = "console-csrf"
)

// session is a signed cookie: the digest of the staff token it was signed
// in with (zero in an anonymous session: open mode, or before sign-in), an
// expiry, and a random nonce the CSRF token is bound to.
type session struct {
	digest  auth.Digest
	expires time.Time
	nonce   string
}

func (s session) anonymous() bool { return s.digest == auth.Digest{} }

func (c *Console) newSession(d auth.Digest) session {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return session{digest: d, expires: c.o.Now().Add(c.o.SessionTTL), nonce: hex.EncodeToString(b[:])}
}

// encode is "<digest hex>.<expiry unix>.<nonce>.<signature>".
func (c *Console) encode(s session) string {
	parts := []string{hex.EncodeToString(s.digest[:]), strconv.FormatInt(s.expires.Unix(), 10), s.nonce}
	return strings.Join(append(parts, c.o.Signer.Sign(sessionPurpose, parts...)), ".")
}

// readSession returns the request's session if its cookie is there, signed
// by us, and not expired.
func (c *Console) readSession(r *http.Request) (session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 4 || c.o.Signer.Verify(parts[3], sessionPurpose, parts[:3]...) != nil {
		return session{}, false
	}
	var s session
	digest, err := hex.DecodeString(parts[0])
	if err != nil || len(digest) != len(s.digest) {
		return session{}, false
	}
	copy(s.digest[:], digest)
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return session{}, false
	}
	s.expires, s.nonce = time.Unix(exp, 0), parts[2]
	if !c.o.Now().Before(s.expires) {
		return session{}, false
	}
	return s, true
}

func (c *Console) setSession(w http.ResponseWriter, r *http.Request, s session) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: c.encode(s), Path: Prefix, Expires: s.expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

func (c *Console) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: Prefix, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

// csrfToken is the token a session's forms carry.
func (c *Console) csrfToken(s session) string { return c.o.Signer.Sign(csrfPurpose, s.nonce) }

// validCSRF checks a POST's token (form field csrf, or header X-CSRF-Token
// for a fetch) against the session's.
func (c *Console) validCSRF(r *http.Request, s session) bool {
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
		tok = r.PostFormValue("csrf")
	}
	return tok != "" && c.o.Signer.Verify(tok, csrfPurpose, s.nonce) == nil
}

// maxForm bounds a form post (a template edited in the console included).
const maxForm = 1 << 20

func (c *Console) getSignIn(w http.ResponseWriter, r *http.Request) {
	rq := &request{Lang: negotiate(r), Zone: c.viewerZone(r), Path: r.URL.Path}
	if c.o.Auth.Open() {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	// The sign-in form is a form like any other: an anonymous session
	// carries its CSRF token.
	sess, ok := c.readSession(r)
	if !ok {
		sess = c.newSession(auth.Digest{})
		c.setSession(w, r, sess)
	}
	rq.CSRF = c.csrfToken(sess)
	c.render(w, rq, http.StatusOK, "signin", rq.Lang.T("signin.title"), signInView{Next: safeNext(r.URL.Query().Get("next"))})
}

type signInView struct {
	Next  string
	Error string
}

func (c *Console) postSignIn(w http.ResponseWriter, r *http.Request) {
	rq := &request{Lang: negotiate(r), Zone: c.viewerZone(r), Path: r.URL.Path}
	if c.o.Auth.Open() {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	sess, ok := c.readSession(r)
	if !ok || !c.validCSRF(r, sess) {
		c.failWith(w, rq, http.StatusForbidden, rq.Lang.T("error.csrf"))
		return
	}
	rq.CSRF = c.csrfToken(sess)
	next := safeNext(r.PostFormValue("next"))
	d := auth.DigestOf(strings.TrimSpace(r.PostFormValue("token")))
	if _, known := c.o.Auth.Staff(d); !known {
		c.render(w, rq, http.StatusUnauthorized, "signin", rq.Lang.T("signin.title"),
			signInView{Next: next, Error: rq.Lang.T("signin.unknown")})
		return
	}
	// A new session (and nonce) at sign-in: a CSRF token seen before
	// signing in is worth nothing after.
	c.setSession(w, r, c.newSession(d))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) postSignOut(w http.ResponseWriter, r *http.Request, rq *request) {
	c.clearSession(w, r)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

// viewerZone is the zone the viewer's browser reported (console.js sets a
// cookie, URL-encoded: "Asia%2FShanghai"), else the default.
func (c *Console) viewerZone(r *http.Request) *time.Location {
	if ck, err := r.Cookie(zoneCookie); err == nil && len(ck.Value) <= 64 {
		name, err := url.PathUnescape(ck.Value)
		if err != nil {
			return c.o.DefaultZone
		}
		if loc, err := tz.Load(name); err == nil {
			return loc
		}
	}
	return c.o.DefaultZone
}
