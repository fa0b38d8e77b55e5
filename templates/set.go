package templates

import (
	"fmt"
	"maps"
	"slices"

	"github.com/forbear/forbear/internal/ground/domain"
)

// Set is templates compiled in memory, with no store behind them: what a
// dry run renders with when it has no live store (the templates of
// templates_dir or the bundled ones), and how it tries a draft. It renders
// exactly as Store.Render does. A Set is read-only and safe for concurrent
// use.
type Set struct {
	live map[string]*compiled
}

// NewSet compiles defs, by id, validated as Store.Put validates (the
// rules the options give, as for Open; WithClock is ignored). Each
// template is version 1 of the set.
func NewSet(defs map[string]Definition, opts ...Option) (*Set, error) {
	o := options{rules: defaultRules()}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Set{live: make(map[string]*compiled, len(defs))}
	for _, id := range slices.Sorted(maps.Keys(defs)) {
		c, err := compileChecked(id, defs[id], o.rules)
		if err != nil {
			return nil, fmt.Errorf("templates: %s: %w", id, err)
		}
		c.id, c.version = id, 1
		s.live[id] = c
	}
	return s, nil
}

// Has reports whether the set has template id.
func (s *Set) Has(id string) bool { return s.live[id] != nil }

// Render renders template id for one channel, picking the text of locale,
// then en-US, then the first locale. An unknown id or a channel the
// template has no text for is ErrNotFound.
func (s *Set) Render(id string, ch domain.Channel, locale string, data Context) (Rendered, error) {
	c := s.live[id]
	if c == nil {
		return Rendered{}, fmt.Errorf("templates: %s: %w", id, ErrNotFound)
	}
	return c.render(ch, locale, data)
}
