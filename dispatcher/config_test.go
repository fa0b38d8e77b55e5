package dispatcher_test

import (
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/ground/config"
)

// TestCheckConfig: the dispatcher section is checked here, each fault
// naming its key (the cases config's central check had).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		modify  func(c *config.Config)
		wantErr []string // substrings; nil means valid
	}{
		{name: "defaults", modify: func(*config.Config) {}},
		{
			name:    "fence lease too short",
			modify:  func(c *config.Config) { c.Dispatcher.FenceLease = config.Duration(time.Millisecond) },
			wantErr: []string{"dispatcher.fence_lease"},
		},
		{
			name:    "ack wait too short",
			modify:  func(c *config.Config) { c.Dispatcher.AckWait = config.Duration(time.Second) },
			wantErr: []string{"dispatcher.ack_wait"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			tt.modify(&c)
			err := dispatcher.CheckConfig(c.Dispatcher)
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
