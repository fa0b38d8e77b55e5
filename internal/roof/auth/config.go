package auth

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/forbear/forbear/internal/ground/config"
)

// roles are the roles a token may grant.
var roles = []string{RolePublisher, RoleOps, RoleSupport, RoleAdmin}

// CheckConfig checks the auth section; each fault names its key. It lives
// here because this package gives the tokens their meaning (the roles,
// open mode), so a token that would mean nothing is refused by the same
// package that reads it. listen is http.listen: no tokens are allowed
// only on a loopback listener. internal/roof/app.CheckConfig runs it with
// every other section's.
func CheckConfig(c config.Auth, listen string) error {
	var f config.Faults
	names, tokens := map[string]bool{}, map[string]bool{}
	for i, t := range c.Tokens {
		key := fmt.Sprintf("auth.tokens[%d]", i)
		if t.Name == "" {
			f.Add(key+".name", "is required")
		} else if names[t.Name] {
			f.Add(key+".name", "%q is used twice", t.Name)
		}
		names[t.Name] = true
		// No minimum length beyond "not empty": the spec's own example
		// (§2) uses tokens such as "t-ops" and must start as shown.
		if strings.TrimSpace(t.Token) == "" {
			f.Add(key+".token", "is required")
		} else if tokens[t.Token] {
			f.Add(key+".token", "is used twice")
		}
		tokens[t.Token] = true
		if len(t.Roles) == 0 {
			f.Add(key+".roles", "must list at least one of %s", strings.Join(roles, ", "))
		}
		for j, r := range t.Roles {
			if !slices.Contains(roles, r) {
				f.Add(fmt.Sprintf("%s.roles[%d]", key, j), "unknown role %q (want one of %s)", r, strings.Join(roles, ", "))
			}
		}
	}
	if len(c.Tokens) == 0 && !IsLoopback(listen) {
		f.Add("auth.tokens", "no tokens configured and http.listen %q is not loopback: refusing to serve an open API on the network", listen)
	}
	return f.Err()
}

// IsLoopback reports whether a host:port listens on loopback only.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
