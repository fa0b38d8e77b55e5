package auth_test

import (
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/config"
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
	tests := []struct {
		name    string
		modify  func(c *config.Config)
		wantErr []string // substrings; nil means valid
	}{
		{name: "defaults", modify: func(*config.Config) {}},
		{
			name: "tokens on a public listener",
			modify: func(c *config.Config) {
				c.HTTP.Listen = "0.0.0.0:8080"
				c.Auth.Tokens = []config.Token{tok("backend", "t-backend-123", "publisher"), tok("root", "t-root-1234", "admin", "ops")}
			},
		},
		{name: "open on localhost", modify: func(c *config.Config) { c.HTTP.Listen = "localhost:8080" }},
		{name: "open on IPv6 loopback", modify: func(c *config.Config) { c.HTTP.Listen = "[::1]:0" }},
		{
			name: "unknown role",
			modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("backend", "t-backend-123", "publisher", "superuser")}
			},
			wantErr: []string{"auth.tokens[0].roles[1]", "superuser"},
		},
		{
			name:    "no roles",
			modify:  func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("backend", "t-backend-123")} },
			wantErr: []string{"auth.tokens[0].roles"},
		},
		{
			name: "duplicate token",
			modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("a", "same-token-1", "ops"), tok("b", "same-token-1", "support")}
			},
			wantErr: []string{"auth.tokens[1].token", "twice"},
		},
		{
			name: "duplicate name",
			modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("a", "token-one-1", "ops"), tok("a", "token-two-2", "support")}
			},
			wantErr: []string{"auth.tokens[1].name", `"a"`},
		},
		{
			name:    "missing name",
			modify:  func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("", "token-one-1", "ops")} },
			wantErr: []string{"auth.tokens[0].name"},
		},
		{
			name:    "empty token",
			modify:  func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("a", "", "ops")} },
			wantErr: []string{"auth.tokens[0].token", "required"},
		},
		{
			name: "blank token",
			modify: func(c *config.Config) {
				c.Auth.Tokens = []config.Token{tok("a", "t-ok", "ops"), tok("b", "   ", "ops")}
			},
			wantErr: []string{"auth.tokens[1].token", "required"},
		},
		{
			name:   "short tokens as in the spec example",
			modify: func(c *config.Config) { c.Auth.Tokens = []config.Token{tok("ops", "t-ops", "ops")} },
		},
		{
			name:    "no tokens on a public listener refuses",
			modify:  func(c *config.Config) { c.HTTP.Listen = "0.0.0.0:8080" },
			wantErr: []string{"auth.tokens", "0.0.0.0:8080", "loopback"},
		},
		{
			name:    "no tokens on all interfaces refuses",
			modify:  func(c *config.Config) { c.HTTP.Listen = ":8080" },
			wantErr: []string{"auth.tokens"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			tt.modify(&c)
			err := auth.CheckConfig(c.Auth, c.HTTP.Listen)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckConfig() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckConfig() = nil, want an error naming %q", tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("CheckConfig() = %q, want it to name %q", err, s)
				}
			}
		})
	}
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
