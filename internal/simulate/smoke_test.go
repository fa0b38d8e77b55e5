package simulate

import (
	"context"
	"os"
	"testing"
)

func TestSmokeWrite(t *testing.T) {
	dir := os.Getenv("SIM_SMOKE_DIR")
	if dir == "" {
		t.Skip()
	}
	s, cfg := bundledSetup(t)
	start := date(t, "2026-12-01")
	v := Variant{Name: "us-regf"}
	v.Compliance = &cfg.Compliance
	v.Compliance.Preset = "us-regf"
	defs, _ := bundledDefs()
	vs, err := v.Apply(cfg, defs)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Simulate(context.Background(), s, &vs, Generated{N: 300, Seed: 1, Start: start}, Options{Start: start, Days: 60})
	if err != nil {
		t.Fatal(err)
	}
	files, err := rep.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(files, rep.Run.Totals, rep.Variant.Totals)
}
