package auth

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Refusal is why open mode turns a request away: a stable code and a
// message for the person who sees it. Both mean HTTP 403.
type Refusal struct {
	Code    string
	Message string
}

// Open mode's refusals.
var (
	ForeignHost = Refusal{Code: "forbidden_host",
		Message: "open mode (no auth tokens) answers only requests addressed to localhost or a loopback address; configure auth.tokens to serve other host names"}
	CrossOrigin = Refusal{Code: "cross_origin",
		Message: "open mode (no auth tokens) refuses requests from other web pages; configure auth.tokens to serve them"}
)

// RefuseInOpenMode keeps open mode to the machine's own users. The loopback
// listener alone does not: a web page in a local browser can reach it, by
// a cross-origin request (a form or fetch acts even when its answer is
// hidden) or through DNS rebinding (the page's own host name turned into
// 127.0.0.1, so the browser thinks the API is same-origin). Such a request
// carries a foreign Host header, or an Origin or Sec-Fetch-Site header
// naming another origin. Scripts (curl, backends) send neither and pass.
func RefuseInOpenMode(r *http.Request) (Refusal, bool) {
	if !loopbackHost(r.Host) {
		return ForeignHost, true
	}
	if origin := r.Header.Get("Origin"); origin != "" && !SameOrigin(origin, r.Host) {
		return CrossOrigin, true
	}
	// Browsers say where a request comes from; "none" is the user typing
	// the address or opening a bookmark.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return CrossOrigin, true
	}
	return Refusal{}, false
}

// loopbackHost reports whether a Host header names this machine: localhost
// or a loopback address, with or without a port. An empty Host (HTTP/1.0)
// names no one else and passes.
func loopbackHost(hostport string) bool {
	if hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SameOrigin reports whether origin (scheme://host[:port], or "null") is
// the origin the request was addressed to.
func SameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return false
	}
	return strings.EqualFold(withPort(u.Host, u.Scheme), withPort(host, u.Scheme))
}

// withPort adds the scheme's default port to a host that has none.
func withPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if scheme == "https" {
		return net.JoinHostPort(strings.Trim(host, "[]"), "443")
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "80")
}
