package httpapi

import (
	"fmt"
	"net/http"
	"slices"
)

// Access is who may call a route: the token roles it needs, or the
// signature it checks instead of a token.
type Access string

// The kinds of access a route has.
const (
	// AccessPublic routes need no credentials: health, readiness, metrics
	// and the API description.
	AccessPublic Access = "public"
	// AccessPublisher, AccessOps and AccessSupport routes need a staff
	// token with that role, or admin.
	AccessPublisher Access = RolePublisher
	AccessOps       Access = RoleOps
	AccessSupport   Access = RoleSupport
	// AccessOwnInbox routes take a support (or admin) token, or the
	// borrower's own token for the borrower named in the path.
	AccessOwnInbox Access = "own-inbox"
	// AccessSignedLink routes take the signature of an email's unsubscribe
	// link, which the handler checks against the link's values.
	AccessSignedLink Access = "signed-link"
	// AccessTwilio routes take only requests signed by Twilio
	// (X-Twilio-Signature).
	AccessTwilio Access = "twilio-signature"
	// AccessStaff routes take a token of any staff role (the dashboard's
	// figures): every caller but a borrower's own token.
	AccessStaff Access = "staff"
)

// BorrowerRole stands for a borrower's own token where the API description
// lists who may call a route (x-forbear-roles); it is no role of
// auth.tokens.
const BorrowerRole = "borrower"

// Roles are the callers a route lets through by token, as the API
// description's x-forbear-roles lists them: token roles (admin may act in
// every role) and BorrowerRole. Public and signed routes take no token:
// none.
func (a Access) Roles() []string {
	switch a {
	case AccessPublisher, AccessOps, AccessSupport:
		return []string{string(a), RoleAdmin}
	case AccessOwnInbox:
		return []string{RoleSupport, RoleAdmin, BorrowerRole}
	case AccessStaff:
		return []string{RolePublisher, RoleOps, RoleSupport, RoleAdmin}
	default:
		return []string{}
	}
}

// Route is one entry of the route table: a method and a path pattern
// (net/http syntax, which is also the API description's: "/v1/borrowers/{id}"),
// who may call it, and its handler.
type Route struct {
	Method  string
	Path    string
	Access  Access
	handler http.HandlerFunc
}

// Routes lists the API routes this server serves, in the order registered.
// The OpenAPI description (openapi.json) must describe exactly these.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// apiRoutes is the route table. Optional dependencies left nil leave
// their routes out.
func (s *Server) apiRoutes() []Route {
	o := s.o
	routes := []Route{
		{"POST", "/v1/events", AccessPublisher, s.postEvents},
		{"GET", "/v1/borrowers/{id}", AccessSupport, s.getBorrower},
		{"POST", "/v1/borrowers/{id}/mutes", AccessSupport, s.postMute},
		{"DELETE", "/v1/borrowers/{id}/mutes/{mute_id}", AccessSupport, s.deleteMute},
		{"GET", "/v1/borrowers/{id}/deliveries", AccessSupport, s.getDeliveries},
		{"GET", "/v1/borrowers/{id}/export", AccessSupport, s.getExport},
		{"GET", "/v1/borrowers/{id}/inbox", AccessOwnInbox, s.getInbox},
		{"GET", "/v1/borrowers/{id}/inbox/stream", AccessOwnInbox, s.getInboxStream},
		{"POST", "/v1/borrowers/{id}/inbox/{msg_id}/read", AccessOwnInbox, s.postRead},
		{"POST", "/v1/borrowers/{id}/token", AccessSupport, s.postBorrowerToken},
		{"GET", "/v1/unsubscribe", AccessSignedLink, s.getUnsubscribe},
		{"POST", "/v1/unsubscribe", AccessSignedLink, s.postUnsubscribe},
		{"GET", "/v1/outbox", AccessSupport, s.getOutbox},
		{"GET", "/v1/search", AccessSupport, s.getSearch},
		{"GET", "/healthz", AccessPublic, getHealth},
		{"GET", "/readyz", AccessPublic, s.getReady},
		{"GET", "/v1/openapi.json", AccessPublic, getOpenAPI},
	}
	if o.Metrics != nil {
		routes = append(routes, Route{"GET", "/metrics", AccessPublic, o.Metrics.ServeHTTP})
	}
	if o.Stats != nil {
		routes = append(routes, Route{"GET", "/v1/stats", AccessStaff, s.getStats})
	}
	if o.Templates != nil {
		routes = append(routes, s.templateRoutes(o.Templates)...)
	}
	if o.Twilio.Outcomes != nil {
		routes = append(routes, s.twilioRoutes(o.Twilio)...)
	}
	if o.Simulator != nil {
		routes = append(routes, Route{"POST", "/v1/simulate", AccessOps, s.postSimulate})
	}
	return routes
}

// handle registers rt behind the check its access names, and records it in
// the route table.
func (s *Server) handle(rt Route) {
	h := rt.handler
	switch rt.Access {
	case AccessPublisher, AccessOps, AccessSupport:
		h = s.require(string(rt.Access), h)
	case AccessOwnInbox:
		h = s.requireOwnInbox(h)
	case AccessStaff:
		h = s.requireStaff(h)
	case AccessTwilio:
		h = s.twilioSigned(s.o.Twilio, h)
	case AccessPublic, AccessSignedLink:
		// Nothing to check here: the unsubscribe handlers check the
		// link's signature against the link's own values.
	default:
		panic(fmt.Sprintf("httpapi: route %s %s has unknown access %q", rt.Method, rt.Path, rt.Access))
	}
	s.mux.HandleFunc(rt.Method+" "+rt.Path, h)
	s.routes = append(s.routes, rt)
}

func getHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
