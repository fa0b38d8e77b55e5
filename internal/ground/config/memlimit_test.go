package config_test

import (
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/config"
)

func TestMemoryLimitMiB(t *testing.T) {
	if d := config.Default().MemoryLimitMiB; d != config.DefaultMemoryLimitMiB {
		t.Errorf("default memory_limit_mib = %d, want %d", d, config.DefaultMemoryLimitMiB)
	}
	for _, tt := range []struct {
		mib int
		ok  bool
	}{{0, true}, {config.MinMemoryLimitMiB, true}, {4096, true}, {config.MinMemoryLimitMiB - 1, false}, {-1, false}, {1<<24 + 1, false}} {
		c := config.Default()
		c.MemoryLimitMiB = tt.mib
		err := config.CheckOwnKeys(&c)
		if tt.ok && err != nil {
			t.Errorf("memory_limit_mib %d: %v", tt.mib, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "memory_limit_mib")) {
			t.Errorf("memory_limit_mib %d: error %v, want one naming memory_limit_mib", tt.mib, err)
		}
	}
	env, err := config.LoadUnchecked("", []string{"FORBEAR_MEMORY_LIMIT_MIB=2048"})
	if err != nil || env.MemoryLimitMiB != 2048 {
		t.Errorf("FORBEAR_MEMORY_LIMIT_MIB: %d, %v; want 2048", env.MemoryLimitMiB, err)
	}
}
