package console

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/internal/signing"
)

// Prefix is where the console is served.
const Prefix = "/console/"

// Options are the console's dependencies. Auth and Signer are required.
type Options struct {
	// Auth checks staff tokens at sign-in and on every request (a removed
	// token ends its sessions); open mode needs no sign-in.
	Auth *auth.Authenticator
	// Signer signs session cookies and CSRF tokens with the secret every
	// instance shares, so a session works on any instance.
	Signer *signing.Signer
	// DefaultZone is the viewer's zone until their browser says otherwise
	// (scheduler.timezone).
	DefaultZone *time.Location
	// SessionTTL is how long a sign-in lasts; default 12h.
	SessionTTL time.Duration
	// Now is the clock for sessions; default time.Now. It is the wall
	// clock in every real use: browsers expire cookies by it.
	Now func() time.Time
	Log *logrus.Entry

	// What each part of the console reads and changes (see support.go,
	// ops.go, dashboard.go). A part whose dependencies are missing answers
	// 404.
	Support   SupportDeps
	Ops       OpsDeps
	Dashboard DashboardDeps
}

// Console is the web console, an http.Handler for Prefix.
type Console struct {
	o     Options
	pages pageSet
	mux   *http.ServeMux
}

// New builds the console.
func New(o Options) (*Console, error) {
	if o.Auth == nil || o.Signer == nil {
		return nil, fmt.Errorf("console: Options.Auth and Options.Signer are required")
	}
	if o.DefaultZone == nil {
		o.DefaultZone = time.UTC
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.Log = logrus.NewEntry(l)
	}
	pages, err := loadPages()
	if err != nil {
		return nil, err
	}
	c := &Console{o: o, pages: pages, mux: http.NewServeMux()}
	c.routes()
	return c, nil
}

// routes registers every page. Each page says which role may see it; see
// page for what every request goes through first.
func (c *Console) routes() {
	c.mux.Handle("GET "+Prefix+"assets/", assetHandler())
	c.mux.HandleFunc("GET "+Prefix+"signin", c.getSignIn)
	c.mux.HandleFunc("POST "+Prefix+"signin", c.postSignIn)
	c.mux.HandleFunc("POST "+Prefix+"signout", c.page(anyStaff, c.postSignOut))
	c.mux.HandleFunc("POST "+Prefix+"lang", c.page(anyStaff, c.postLang))
	c.dashboardRoutes()
	c.supportRoutes()
	c.opsRoutes()
	c.mux.HandleFunc(Prefix, c.page(anyStaff, func(w http.ResponseWriter, r *http.Request, rq *request) {
		c.fail(w, rq, http.StatusNotFound)
	}))
}

// ServeHTTP implements http.Handler. Every answer carries the security
// headers, and no panic reaches the browser as a dropped connection.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			c.o.Log.WithField("panic", v).WithField("path", r.URL.Path).Error("console page panic")
			http.Error(w, "internal error; see the server log", http.StatusInternalServerError)
		}
	}()
	c.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy allows only the console's own files: no inline
// script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
