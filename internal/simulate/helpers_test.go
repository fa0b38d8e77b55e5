package simulate

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/templates"
)

// bundledSetup is the setup of the default configuration with the
// bundled templates, changed by mod.
func bundledSetup(t testing.TB, mod ...func(*config.Config)) (Setup, config.Config) {
	t.Helper()
	defs, err := templates.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	set, err := templates.NewSet(defs)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	for _, m := range mod {
		m(&cfg)
	}
	s, err := NewSetup("live", cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

func date(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func bundledDefs() (*templates.Set, error) {
	defs, err := templates.Bundled()
	if err != nil {
		return nil, err
	}
	return templates.NewSet(defs)
}
