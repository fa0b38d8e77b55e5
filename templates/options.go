package templates

import (
	"github.com/forbear/forbear/internal/ground/clock"
)

// Option tunes a Store.
type Option func(*options)

type options struct {
	rules rules
	clock clock.Clock
}

// WithOptOutPhrases replaces DefaultOptOutPhrases: a collection SMS or
// email must contain at least one of phrases to be saved. No phrases keeps
// the default.
func WithOptOutPhrases(phrases ...string) Option {
	return func(o *options) {
		if len(phrases) > 0 {
			o.rules.optOut = append([]string(nil), phrases...)
		}
	}
}

// WithMaxSMSSegments replaces DefaultMaxSMSSegments: an SMS text that
// renders to more segments than n with LongSample is refused. n < 1 keeps
// the default.
func WithMaxSMSSegments(n int) Option {
	return func(o *options) {
		if n >= 1 {
			o.rules.maxSegments = n
		}
	}
}

// Use is a policy whose steps send a template. A template's category is
// also what the policies that send it make it: a template a collection
// policy sends is validated as collection whatever its own category says.
type Use struct {
	Policy   string `json:"policy"`   // policy id, named in validation errors
	Category string `json:"category"` // CategoryCollection or CategoryAgreement
}

// WithUses tells the store which policies send which templates (template
// id to its uses). Validation at Put, at Seed and of drafts in RenderDraft
// applies the rules of every category a template has: its own and those of
// the policies that send it.
func WithUses(uses map[string][]Use) Option {
	return func(o *options) {
		o.rules.uses = make(map[string][]Use, len(uses))
		for id, u := range uses {
			o.rules.uses[id] = append([]Use(nil), u...)
		}
	}
}

// WithClock sets the clock that stamps versions (tests).
func WithClock(c clock.Clock) Option { return func(o *options) { o.clock = c } }
