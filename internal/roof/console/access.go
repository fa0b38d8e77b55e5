package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/roof/auth"
)

// anyStaff lets every staff role see a page (the dashboard).
const anyStaff = ""

// request is what a page handler gets besides the HTTP request: who asks,
// in which language and zone, and the CSRF token its forms must carry.
type request struct {
	Principal auth.Principal
	Lang      Lang
	// Zone is the viewer's time zone (from their browser, else the
	// default zone).
	Zone *time.Location
	// CSRF goes into every form (field csrf) and every fetch (header
	// X-CSRF-Token) of the page.
	CSRF string
	// Path is the page's own path (forms come back to it, the language
	// switch returns to it).
	Path string
}

// pageHandler is a console page.
type pageHandler func(w http.ResponseWriter, r *http.Request, rq *request)

// page wraps h with what every console request goes through: open mode's
// refusals, the session (a signed-in staff token, or open mode), the CSRF
// check of every POST, and the role the page needs (anyStaff: any).
func (c *Console) page(role string, h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq := &request{Lang: negotiate(r), Zone: c.viewerZone(r), Path: r.URL.Path}
		if c.o.Auth.Open() {
			if why, refused := auth.RefuseInOpenMode(r); refused {
				c.failWith(w, rq, http.StatusForbidden, why.Message)
				return
			}
		}
		sess, ok := c.readSession(r)
		switch {
		case c.o.Auth.Open():
			rq.Principal = auth.OpenPrincipal()
			if !ok {
				// Open mode has no sign-in, but its forms still need a CSRF
				// token: an anonymous session carries it.
				sess = c.newSession(auth.Digest{})
				c.setSession(w, r, sess)
			}
		case !ok || sess.anonymous():
			c.toSignIn(w, r)
			return
		default:
			p, known := c.o.Auth.Staff(sess.digest)
			if !known {
				// The token left the configuration: its sessions end.
				c.clearSession(w, r)
				c.toSignIn(w, r)
				return
			}
			rq.Principal = p
		}
		rq.CSRF = c.csrfToken(sess)
		if r.Method == http.MethodPost && !c.validCSRF(r, sess) {
			c.failWith(w, rq, http.StatusForbidden, rq.Lang.T("error.csrf"))
			return
		}
		if !rq.Principal.Staff() || role != anyStaff && !rq.Principal.Has(role) {
			c.failWith(w, rq, http.StatusForbidden, rq.Lang.T("error.role", role))
			return
		}
		h(w, r.WithContext(auth.With(r.Context(), rq.Principal)), rq)
	}
}

// toSignIn sends the browser to the sign-in page, to come back here.
func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Path
	if r.Method != http.MethodGet {
		next = Prefix
	}
	http.Redirect(w, r, Prefix+"signin?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// safeNext keeps a redirect target inside the console: a path of ours,
// never another site ("//evil.example" or "https://...").
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}
