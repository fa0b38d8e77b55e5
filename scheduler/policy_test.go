package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

func durp(d time.Duration) *config.Duration {
	v := config.Duration(d)
	return &v
}

func TestCompileExamplePolicies(t *testing.T) {
	t.Parallel()
	ps, err := Compile(config.ExamplePolicies())
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	std, ok := ps.Get("standard")
	if !ok || std.Category != domain.Collection || std.Anchor != AnchorDueDate || len(std.Steps) != 3 {
		t.Fatalf("standard = %+v", std)
	}
	over := std.Steps[1]
	if over.At != 24*time.Hour || over.Every != 72*time.Hour || !over.Bounded || over.Until != 29*24*time.Hour {
		t.Errorf("overdue step = %+v", over)
	}
	if call := std.Steps[2]; call.Bounded || call.Every != 48*time.Hour {
		t.Errorf("call step = %+v", call)
	}
	plan, ok := ps.Get("plan")
	if !ok || plan.Anchor != AnchorInstallment || plan.Category != domain.AgreementCategory {
		t.Fatalf("plan = %+v", plan)
	}
}

// TestCompileBounds: the limits themselves are accepted.
func TestCompileBounds(t *testing.T) {
	t.Parallel()
	tenYears := 10 * 366 * 24 * time.Hour
	cfg := []config.Policy{{ID: "p", Category: "collection", Steps: []config.Step{
		{ID: "minute", Every: durp(time.Minute), Channels: []string{"sms"}, Template: "t"},
		{ID: "far", At: config.Duration(-tenYears), Every: durp(tenYears), Until: durp(tenYears), Channels: []string{"sms"}, Template: "t"},
	}}}
	if _, err := Compile(cfg); err != nil {
		t.Fatalf("Compile: %v", err)
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	step := func(mod func(*config.Step)) config.Step {
		s := config.Step{ID: "s", At: config.Duration(time.Hour), Channels: []string{"sms"}, Template: "tpl"}
		mod(&s)
		return s
	}
	pol := func(mod func(*config.Policy)) []config.Policy {
		p := config.Policy{ID: "p", Category: "collection", Steps: []config.Step{step(func(*config.Step) {})}}
		mod(&p)
		return []config.Policy{p}
	}
	tests := []struct {
		name    string
		cfg     []config.Policy
		wantErr []string
	}{
		{
			name: "unknown channel",
			cfg: pol(func(p *config.Policy) {
				p.Steps = append(p.Steps, step(func(s *config.Step) { s.ID = "t"; s.Channels = []string{"fax"} }))
			}),
			wantErr: []string{`policies[0].steps[1].channels[0]: unknown channel "fax"`},
		},
		{
			name:    "duplicate channel",
			cfg:     pol(func(p *config.Policy) { p.Steps[0].Channels = []string{"sms", "sms"} }),
			wantErr: []string{`policies[0].steps[0].channels[1]: duplicate channel "sms"`},
		},
		{
			name: "duplicate policy id",
			cfg: append(pol(func(*config.Policy) {}),
				config.Policy{ID: "p", Category: "agreement", Anchor: "installment", Steps: []config.Step{step(func(*config.Step) {})}}),
			wantErr: []string{`policies[1].id: duplicate policy id "p" (also policies[0])`},
		},
		{
			name:    "missing id",
			cfg:     pol(func(p *config.Policy) { p.ID = "" }),
			wantErr: []string{`policies[0].id: required`},
		},
		{
			name:    "bad category",
			cfg:     pol(func(p *config.Policy) { p.Category = "marketing" }),
			wantErr: []string{`policies[0].category: unknown category "marketing"`},
		},
		{
			name:    "missing category",
			cfg:     pol(func(p *config.Policy) { p.Category = "" }),
			wantErr: []string{`policies[0].category: required`},
		},
		{
			name:    "bad anchor",
			cfg:     pol(func(p *config.Policy) { p.Anchor = "birthday" }),
			wantErr: []string{`policies[0].anchor: unknown anchor "birthday"`},
		},
		{
			name:    "no steps",
			cfg:     pol(func(p *config.Policy) { p.Steps = nil }),
			wantErr: []string{`policies[0].steps: at least one step is required`},
		},
		{
			name:    "every zero",
			cfg:     pol(func(p *config.Policy) { p.Steps[0].Every = durp(0) }),
			wantErr: []string{`policies[0].steps[0].every: must be > 0`},
		},
		{
			name:    "every negative",
			cfg:     pol(func(p *config.Policy) { p.Steps[0].Every = durp(-time.Hour) }),
			wantErr: []string{`policies[0].steps[0].every: must be > 0`},
		},
		{
			// The due index has minute resolution: a shorter period would
			// silently fire once a minute.
			name:    "every under a minute",
			cfg:     pol(func(p *config.Policy) { p.Steps[0].Every = durp(30 * time.Second) }),
			wantErr: []string{`policies[0].steps[0].every: must be at least 1m0s`},
		},
		{
			name:    "every over ten years",
			cfg:     pol(func(p *config.Policy) { p.Steps[0].Every = durp(11 * 365 * 24 * time.Hour) }),
			wantErr: []string{`policies[0].steps[0].every: must be at most`},
		},
		{
			name:    "at too far before",
			cfg:     pol(func(p *config.Policy) { p.Steps[0].At = config.Duration(-11 * 365 * 24 * time.Hour) }),
			wantErr: []string{`policies[0].steps[0].at: must be within`},
		},
		{
			name:    "at too far after",
			cfg:     pol(func(p *config.Policy) { p.Steps[0].At = config.Duration(11 * 365 * 24 * time.Hour) }),
			wantErr: []string{`policies[0].steps[0].at: must be within`},
		},
		{
			name: "until too far after",
			cfg: pol(func(p *config.Policy) {
				p.Steps[0].Every, p.Steps[0].Until = durp(24*time.Hour), durp(11*365*24*time.Hour)
			}),
			wantErr: []string{`policies[0].steps[0].until: must be within`},
		},
		{
			name: "until before at",
			cfg: pol(func(p *config.Policy) {
				p.Steps[0].Every, p.Steps[0].Until = durp(time.Hour), durp(time.Minute)
			}),
			wantErr: []string{`policies[0].steps[0].until: must be >= at`},
		},
		{
			name:    "until without every",
			cfg:     pol(func(p *config.Policy) { p.Steps[0].Until = durp(48 * time.Hour) }),
			wantErr: []string{`policies[0].steps[0].until: needs every`},
		},
		{
			name:    "missing template",
			cfg:     pol(func(p *config.Policy) { p.Steps[0].Template = "" }),
			wantErr: []string{`policies[0].steps[0].template: required`},
		},
		{
			name:    "no channels",
			cfg:     pol(func(p *config.Policy) { p.Steps[0].Channels = nil }),
			wantErr: []string{`policies[0].steps[0].channels: at least one channel is required`},
		},
		{
			name: "duplicate step and slash",
			cfg: pol(func(p *config.Policy) {
				p.Steps = append(p.Steps, step(func(*config.Step) {}), step(func(s *config.Step) { s.ID = "a/b" }))
			}),
			wantErr: []string{
				`policies[0].steps[1].id: duplicate step id "s" (also steps[0])`,
				`policies[0].steps[2].id: step id "a/b" must not contain '/'`,
			},
		},
		{
			name: "several at once",
			cfg: pol(func(p *config.Policy) {
				p.Category = "x"
				p.Steps[0].Template = ""
			}),
			wantErr: []string{`policies[0].category:`, `policies[0].steps[0].template: required`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tt.cfg)
			if err == nil {
				t.Fatalf("Compile: no error, want %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Field == "" {
				t.Errorf("error %v is not a *PolicyError with a field", err)
			}
		})
	}
}
