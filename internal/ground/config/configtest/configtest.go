// Package configtest runs the table tests of configuration checks: each
// package that checks a section of the configuration (CheckConfig) tests
// it with the same table shape, so the runner is written once.
package configtest

import (
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/config"
)

// Case is one configuration to check: the defaults as Modify leaves them,
// and the keys the check's error must name (nil: the check passes).
type Case struct {
	Name    string
	Modify  func(c *config.Config)
	WantErr []string // substrings; nil means valid
}

// Run runs each case as a parallel subtest of t against check.
func Run(t *testing.T, cases []Case, check func(c *config.Config) error) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			tt.Modify(&c)
			err := check(&c)
			if tt.WantErr == nil {
				if err != nil {
					t.Fatalf("check = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("check = nil, want an error naming %q", tt.WantErr)
			}
			for _, s := range tt.WantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("check = %q, want it to name %q", err, s)
				}
			}
		})
	}
}
