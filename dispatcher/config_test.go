package dispatcher_test

import (
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/config/configtest"
)

// TestCheckConfig: the dispatcher section is checked here, each fault
// naming its key (the cases config's central check had).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []configtest.Case{
		{Name: "defaults", Modify: func(*config.Config) {}},
		{
			Name:    "fence lease too short",
			Modify:  func(c *config.Config) { c.Dispatcher.FenceLease = config.Duration(time.Millisecond) },
			WantErr: []string{"dispatcher.fence_lease"},
		},
		{
			Name:    "ack wait too short",
			Modify:  func(c *config.Config) { c.Dispatcher.AckWait = config.Duration(time.Second) },
			WantErr: []string{"dispatcher.ack_wait"},
		},
	}
	configtest.Run(t, tests, func(c *config.Config) error { return dispatcher.CheckConfig(c.Dispatcher) })
}
