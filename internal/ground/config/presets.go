package config

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Presets names the contact-rule presets compliance.preset combines. The
// file may give one name (preset: us-regf) or a list (preset: [us-regf,
// us-ma]); the environment a comma-separated list
// (FORBEAR_COMPLIANCE_PRESET=us-regf,us-ma). The compliance package knows
// the names and how a combination is resolved.
type Presets []string

// errPresetShape is the error for anything but a name or a list of names.
var errPresetShape = errors.New("must be a preset name or a list of preset names")

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (p *Presets) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			*p = nil
			return nil
		}
		*p = splitPresets(n.Value)
		return nil
	case yaml.SequenceNode:
		out := make(Presets, 0, len(n.Content))
		for i, item := range n.Content {
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return fmt.Errorf("compliance.preset[%d] (line %d): %w", i, item.Line, errPresetShape)
			}
			out = append(out, strings.TrimSpace(item.Value))
		}
		*p = out
		return nil
	}
	return fmt.Errorf("compliance.preset (line %d): %w", n.Line, errPresetShape)
}

// UnmarshalText reads a comma-separated list (environment variables).
func (p *Presets) UnmarshalText(b []byte) error {
	*p = splitPresets(string(b))
	return nil
}

// MarshalText writes the comma-separated form.
func (p Presets) MarshalText() ([]byte, error) { return []byte(strings.Join(p, ",")), nil }

// splitPresets reads "a", "a,b" or "" (none). Blank entries are kept, so
// that "us-regf,,us-ma" is refused by name rather than silently read.
func splitPresets(s string) Presets {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make(Presets, len(parts))
	for i, part := range parts {
		out[i] = strings.TrimSpace(part)
	}
	return out
}
