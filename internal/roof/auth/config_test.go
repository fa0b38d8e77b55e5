package auth_test

import (
	"testing"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/config/configtest"
	"github.com/forbear/forbear/internal/roof/auth"
)

// TestCheckConfig: the auth section is checked here, with http.listen for
// open mode, each fault naming its key (the cases config's central check
// had).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tok := func(name, token string, roles ...string) config.Token {
		return config.Token{Name: name, Token: token, Roles: roles}
	}
	tests := []configtest.Case{
		{Name: "defaults", Modify: func(*config.Config) {}},
		{
			Name: "tokens on a public listener",
			Modify: func(c *config.Config) {
				c.HTTP.Listen = "0.0.0.0:8080"
				c.Auth.Tokens = []config.Token{tok("backend", "t-backend-123", "publisher"), tok("root", "t-root-1234", "admin", "ops")}
			},
		},
		{Name: "open on localhost", Modify: func(c *config.Config) { c.HTTP.Listen = "localhost:8080" }},
		{Name: "open on IPv6 loopback", Modify: func(c *config.Config) { c.HTTP.Listen = "[::1]:0" }},
		{
			Name: "unknown role",
			Modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("backend", "t-backend-123", "publisher", "superuser")}
			},
			WantErr: []string{"auth.tokens[0].roles[1]", "superuser"},
		},
		{
			Name:    "no roles",
			Modify:  func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("backend", "t-backend-123")} },
			WantErr: []string{"auth.tokens[0].roles"},
		},
		{
			Name: "duplicate token",
			Modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("a", "same-token-1", "ops"), tok("b", "same-token-1", "support")}
			},
			WantErr: []string{"auth.tokens[1].token", "twice"},
		},
		{
			Name: "duplicate name",
			Modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("a", "token-one-1", "ops"), tok("a", "token-two-2", "support")}
			},
			WantErr: []string{"auth.tokens[1].name", `"a"`},
		},
		{
			Name:    "missing name",
			Modify:  func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("", "token-one-1", "ops")} },
			WantErr: []string{"auth.tokens[0].name"},
		},
		{
			Name:    "empty token",
			Modify:  func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("a", "", "ops")} },
			WantErr: []string{"auth.tokens[0].token", "required"},
		},
		{
			Name: "blank token",
			Modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("a", "t-ok", "ops"), tok("b", "   ", "ops")}
			},
			WantErr: []string{"auth.tokens[1].token", "required"},
		},
		{
			Name:   "short tokens as in the spec example",
			Modify: func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("ops", "t-ops", "ops")} },
		},
		{
			Name:    "no tokens on a public listener refuses",
			Modify:  func(c *config.Config) { c.HTTP.Listen = "0.0.0.0:8080" },
			WantErr: []string{"auth.tokens", "0.0.0.0:8080", "loopback"},
		},
		{
			Name:    "no tokens on all interfaces refuses",
			Modify:  func(c *config.Config) { c.HTTP.Listen = ":8080" },
			WantErr: []string{"auth.tokens"},
		},
	}
	configtest.Run(t, tests, func(c *config.Config) error { return auth.CheckConfig(c.Auth, c.HTTP.Listen) })
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen string
		want   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.2:0", true},
		{"localhost:8080", true},
		{"[::1]:8080", true},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"10.0.0.1:8080", false},
		{"example.com:80", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		if got := auth.IsLoopback(tt.listen); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.listen, got, tt.want)
		}
	}
}
