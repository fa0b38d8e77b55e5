package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

// Anchor says which date a policy's offsets count from.
type Anchor string

// Anchors.
const (
	// AnchorDueDate counts from the loan's due date (config "" or
	// "due_date").
	AnchorDueDate Anchor = "due_date"
	// AnchorInstallment counts from each instalment's due date of an
	// agreement's plan.
	AnchorInstallment Anchor = "installment"
)

// Policies are compiled policies by id.
type Policies map[string]*Policy

// Policy is a compiled, validated policy.
type Policy struct {
	ID       string
	Category domain.Category
	Anchor   Anchor
	Steps    []Step
}

// Step is one compiled step of a policy. The zero Every means the step
// fires once; Until is meaningful only when Bounded is set.
type Step struct {
	ID string
	// At is the offset of the first occurrence from the anchor.
	At time.Duration
	// Every is the period of a repeating step; 0 for a one-shot step.
	Every time.Duration
	// Until is the offset of the last possible occurrence (inclusive)
	// when Bounded; an unbounded repeating step repeats while the case is
	// open.
	Until    time.Duration
	Bounded  bool
	Channels []domain.Channel
	Template string
}

// Limits on a step's offsets, checked by Compile.
const (
	// MinEvery is the shortest period of a repeating step: the due index
	// has minute resolution.
	MinEvery = time.Minute
	// MaxOffset bounds at, until and every (about ten years): no reminder
	// policy reaches further, and the bound keeps every occurrence a
	// policy can produce far from the limits of time arithmetic.
	MaxOffset = 10 * 366 * day
)

func withinOffsetLimit(d time.Duration) bool { return d >= -MaxOffset && d <= MaxOffset }

// PolicyError is a configuration error in a policy; Field is the path of
// the offending key, e.g. "policies[0].steps[1].channels[0]".
type PolicyError struct {
	Field   string
	Message string
}

// Error implements error.
func (e *PolicyError) Error() string { return e.Field + ": " + e.Message }

// Compile validates cfg and compiles it. The error joins one *PolicyError
// per problem, so a user sees every mistake at once, each naming its key.
func Compile(cfg []config.Policy) (Policies, error) {
	out := make(Policies, len(cfg))
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, &PolicyError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	firstIndex := map[string]int{}
	for pi, pc := range cfg {
		path := fmt.Sprintf("policies[%d]", pi)
		p := &Policy{ID: pc.ID, Category: domain.Category(pc.Category)}
		switch {
		case pc.ID == "":
			fail(path+".id", "required")
		default:
			if prev, dup := firstIndex[pc.ID]; dup {
				fail(path+".id", "duplicate policy id %q (also policies[%d])", pc.ID, prev)
			} else {
				firstIndex[pc.ID] = pi
			}
		}
		switch p.Category {
		case domain.Collection, domain.AgreementCategory:
		case "":
			fail(path+".category", "required (collection or agreement)")
		default:
			fail(path+".category", "unknown category %q (want collection or agreement)", pc.Category)
		}
		switch pc.Anchor {
		case "", string(AnchorDueDate):
			p.Anchor = AnchorDueDate
		case string(AnchorInstallment):
			p.Anchor = AnchorInstallment
		default:
			fail(path+".anchor", "unknown anchor %q (want due_date or installment)", pc.Anchor)
		}
		if len(pc.Steps) == 0 {
			fail(path+".steps", "at least one step is required")
		}
		stepIDs := map[string]int{}
		for si, sc := range pc.Steps {
			spath := fmt.Sprintf("%s.steps[%d]", path, si)
			st := Step{ID: sc.ID, At: sc.At.D(), Template: sc.Template}
			switch {
			case sc.ID == "":
				fail(spath+".id", "required")
			case strings.ContainsAny(sc.ID, "/ \t\n"):
				// '/' separates the parts of an occurrence id.
				fail(spath+".id", "step id %q must not contain '/' or spaces", sc.ID)
			default:
				if prev, dup := stepIDs[sc.ID]; dup {
					fail(spath+".id", "duplicate step id %q (also steps[%d])", sc.ID, prev)
				} else {
					stepIDs[sc.ID] = si
				}
			}
			if !withinOffsetLimit(st.At) {
				fail(spath+".at", "must be within ±%dd (about ten years) of the anchor, got %s", MaxOffset/day, st.At)
			}
			if sc.Every != nil {
				st.Every = sc.Every.D()
				switch {
				case st.Every <= 0:
					fail(spath+".every", "must be > 0, got %s", st.Every)
				case st.Every < MinEvery:
					// The due index has minute resolution: a shorter period
					// would quietly fire once a minute.
					fail(spath+".every", "must be at least %s (the due index's resolution), got %s", MinEvery, st.Every)
				case st.Every > MaxOffset:
					fail(spath+".every", "must be at most %dd (about ten years), got %s", MaxOffset/day, st.Every)
				}
			}
			if sc.Until != nil {
				st.Until, st.Bounded = sc.Until.D(), true
				switch {
				case sc.Every == nil:
					fail(spath+".until", "needs every (a one-shot step has no until)")
				case !withinOffsetLimit(st.Until):
					fail(spath+".until", "must be within ±%dd (about ten years) of the anchor, got %s", MaxOffset/day, st.Until)
				case st.Until < st.At:
					fail(spath+".until", "must be >= at (%s), got %s", st.At, st.Until)
				}
			}
			if len(sc.Channels) == 0 {
				fail(spath+".channels", "at least one channel is required")
			}
			seen := map[domain.Channel]bool{}
			for ci, ch := range sc.Channels {
				c := domain.Channel(ch)
				switch {
				case !c.Valid():
					fail(fmt.Sprintf("%s.channels[%d]", spath, ci), "unknown channel %q", ch)
				case seen[c]:
					fail(fmt.Sprintf("%s.channels[%d]", spath, ci), "duplicate channel %q", ch)
				default:
					seen[c] = true
					st.Channels = append(st.Channels, c)
				}
			}
			if sc.Template == "" {
				fail(spath+".template", "required")
			}
			p.Steps = append(p.Steps, st)
		}
		if _, dup := out[p.ID]; !dup {
			out[p.ID] = p
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Get returns the policy with id.
func (ps Policies) Get(id string) (*Policy, bool) {
	p, ok := ps[id]
	return p, ok
}
