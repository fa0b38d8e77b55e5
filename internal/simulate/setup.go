package simulate

import (
	"fmt"
	"maps"
	"time"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/tz"
	"github.com/forbear/forbear/scheduler"
	"github.com/forbear/forbear/templates"
)

// Renderer renders the live version of a template, as the channel workers
// do: *templates.Store (the live store) and *templates.Set (templates in
// memory) both are.
type Renderer interface {
	Render(id string, ch domain.Channel, locale string, data templates.Context) (templates.Rendered, error)
}

// Setup is what a run simulates with: the real planner, contact rules and
// templates, built from a configuration as forbear serve builds them.
type Setup struct {
	// Name names the variant in results ("live", "B").
	Name string
	// Planner plans every due loan and agreement (scheduler.PlannerFor).
	Planner scheduler.Planner
	// Rules decide every reminder (compliance.Compile).
	Rules compliance.Rules
	// Zone is scheduler.timezone: the zone of borrowers without one, and
	// the zone the results' days and hours are counted in.
	Zone *time.Location
	// MaxDefer is dispatcher.max_defer: the longest wait of a deferred
	// reminder before it is decided again.
	MaxDefer time.Duration
	// Rates are providers.<channel>.rate_per_second (0: no limit).
	Rates map[domain.Channel]float64
	// Templates render every reminder, for its segments and for what a
	// text that fails to render does (the reminder fails).
	Templates Renderer
}

// NewSetup builds the setup forbear serve would run with cfg, rendering
// with tmpl. Errors name the configuration key at fault.
func NewSetup(name string, cfg config.Config, tmpl Renderer) (Setup, error) {
	if tmpl == nil {
		return Setup{}, fmt.Errorf("simulate: no templates")
	}
	zone, err := tz.Load(cfg.Scheduler.Timezone)
	if err != nil {
		return Setup{}, fmt.Errorf("scheduler.timezone: %w", err)
	}
	planner, err := scheduler.PlannerFor(cfg)
	if err != nil {
		return Setup{}, err
	}
	rules, err := compliance.Compile(cfg.Compliance, zone)
	if err != nil {
		return Setup{}, err
	}
	maxDefer := cfg.Dispatcher.MaxDefer.D()
	if maxDefer <= 0 {
		maxDefer = time.Hour
	}
	rates := map[domain.Channel]float64{
		domain.SMS: cfg.Providers.SMS.RatePerSecond, domain.Voice: cfg.Providers.Voice.RatePerSecond,
		domain.Email: cfg.Providers.Email.RatePerSecond, domain.InApp: cfg.Providers.InApp.RatePerSecond,
	}
	for ch, r := range rates {
		if r < 0 {
			return Setup{}, fmt.Errorf("providers.%s.rate_per_second: must not be negative, got %v", ch, r)
		}
	}
	return Setup{Name: name, Planner: planner, Rules: rules, Zone: zone, MaxDefer: maxDefer, Rates: rates, Templates: tmpl}, nil
}

// Variant is a change to try against the configuration: another set of
// policies, other contact rules (a preset), other agreement policy, or
// template drafts in place of live versions. Keys left out keep the
// configuration's. Its YAML (or JSON) form:
//
//	name: stricter
//	compliance: {preset: us-regf}
//	policies: [...]            # as in the configuration file
//	agreements: {policy: plan}
//	templates:                 # drafts, as template files
//	  overdue: {category: collection, channels: {sms: {en-US: "..."}}}
type Variant struct {
	Name       string                          `yaml:"name" json:"name"`
	Policies   []config.Policy                 `yaml:"policies" json:"-"`
	Compliance *config.Compliance              `yaml:"compliance" json:"-"`
	Agreements *config.Agreements              `yaml:"agreements" json:"-"`
	Templates  map[string]templates.Definition `yaml:"templates" json:"-"`
}

// MaxDrafts bounds the template drafts of one variant.
const MaxDrafts = 64

// Apply returns the setup of cfg changed by v, rendering with base and
// the drafts on top. Errors name the key at fault ("templates.overdue:
// ...", "compliance.preset: ...").
func (v Variant) Apply(cfg config.Config, base Renderer) (Setup, error) {
	if v.Policies != nil {
		cfg.Policies = v.Policies
	}
	if v.Compliance != nil {
		cfg.Compliance = *v.Compliance
	}
	if v.Agreements != nil {
		cfg.Agreements = *v.Agreements
	}
	r := base
	if len(v.Templates) > MaxDrafts {
		return Setup{}, fmt.Errorf("templates: %d drafts, more than the %d one variant takes", len(v.Templates), MaxDrafts)
	}
	if len(v.Templates) > 0 {
		opts := []templates.Option{templates.WithMaxSMSSegments(cfg.Templates.MaxSMSSegments)}
		if cfg.Templates.OptOutPhrases != nil {
			opts = append(opts, templates.WithOptOutPhrases(cfg.Templates.OptOutPhrases...))
		}
		for id, def := range v.Templates {
			if _, err := templates.NewSet(map[string]templates.Definition{id: def}, opts...); err != nil {
				return Setup{}, fmt.Errorf("templates.%s: %w", id, err)
			}
		}
		drafts, err := templates.NewSet(maps.Clone(v.Templates), opts...)
		if err != nil {
			return Setup{}, fmt.Errorf("templates: %w", err)
		}
		r = overlay{base: base, drafts: drafts}
	}
	name := v.Name
	if name == "" {
		name = "B"
	}
	return NewSetup(name, cfg, r)
}

// overlay renders drafts in place of the live versions they replace.
type overlay struct {
	base   Renderer
	drafts *templates.Set
}

func (o overlay) Render(id string, ch domain.Channel, locale string, data templates.Context) (templates.Rendered, error) {
	if o.drafts.Has(id) {
		return o.drafts.Render(id, ch, locale, data)
	}
	return o.base.Render(id, ch, locale, data)
}
