package templates

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/forbear/forbear/internal/ground/domain"
)

// Kinds of Change.
const (
	ChangeAdded   = "added"
	ChangeRemoved = "removed"
	ChangeChanged = "changed"
)

// Change is one text (or template field) that differs between two versions
// of a template.
type Change struct {
	// Channel and Locale name the text; both are empty for a change of the
	// whole template (Field "category" or "note").
	Channel string `json:"channel,omitempty"`
	Locale  string `json:"locale,omitempty"`
	// Field is "body" or "subject" ("title" for in-app texts), "voicemail"
	// (channel voice: the text a call leaves on a machine), or
	// "category" or "note".
	Field string `json:"field"`
	// Kind is "added", "removed" or "changed".
	Kind   string `json:"kind"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Diff lists what changed from before to after: the template's category
// and note, then every channel in the usual order (sms, voice, email,
// inapp), its locales sorted, subject before body. Equal texts are left
// out; two equal definitions give an empty, non-nil list.
func Diff(before, after Definition) []Change {
	changes := []Change{}
	field := func(ch domain.Channel, loc, name, b, a string) {
		switch {
		case b == a:
			return
		case b == "":
			changes = append(changes, Change{Channel: string(ch), Locale: loc, Field: name, Kind: ChangeAdded, After: a})
		case a == "":
			changes = append(changes, Change{Channel: string(ch), Locale: loc, Field: name, Kind: ChangeRemoved, Before: b})
		default:
			changes = append(changes, Change{Channel: string(ch), Locale: loc, Field: name, Kind: ChangeChanged, Before: b, After: a})
		}
	}
	field("", "", "category", before.Category, after.Category)
	field("", "", "note", before.Note, after.Note)
	for _, ch := range diffChannels(before, after) {
		subject := "subject"
		if ch == domain.InApp {
			subject = "title"
		}
		b, a := before.Channels[ch], after.Channels[ch]
		locales := sortedKeys(b)
		for loc := range a {
			if _, ok := b[loc]; !ok {
				locales = append(locales, loc)
			}
		}
		slices.Sort(locales)
		for _, loc := range locales {
			field(ch, loc, subject, b[loc].Subject, a[loc].Subject)
			field(ch, loc, "body", b[loc].Body, a[loc].Body)
		}
	}
	locales := sortedKeys(before.Voicemail)
	for loc := range after.Voicemail {
		if _, ok := before.Voicemail[loc]; !ok {
			locales = append(locales, loc)
		}
	}
	slices.Sort(locales)
	for _, loc := range locales {
		field(domain.Voice, loc, "voicemail", before.Voicemail[loc], after.Voicemail[loc])
	}
	return changes
}

// diffChannels is every channel of either definition, in domain.Channels
// order (saved versions hold no other channel).
func diffChannels(before, after Definition) []domain.Channel {
	var out []domain.Channel
	for _, ch := range domain.Channels {
		_, inBefore := before.Channels[ch]
		_, inAfter := after.Channels[ch]
		if inBefore || inAfter {
			out = append(out, ch)
		}
	}
	return out
}

// UnknownVersionError is a version a template does not have. It is
// ErrNotFound.
type UnknownVersionError struct {
	ID      string
	Version int
}

func (e *UnknownVersionError) Error() string {
	return fmt.Sprintf("templates: %s v%d: %v", e.ID, e.Version, ErrNotFound)
}

func (e *UnknownVersionError) Unwrap() error { return ErrNotFound }

// ParseVersion reads a version number given as a query parameter: "" is 0
// (the parameter's default), anything but a whole number >= 1 is refused.
func ParseVersion(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("templates: version %q is not a whole number >= 1", s)
	}
	return n, nil
}

// Comparison is what changed from one saved version of a template to
// another.
type Comparison struct {
	From, To int
	Changes  []Change
}

// CompareVersions compares saved versions from and to of template id, as
// GET /v1/templates/{id}/diff and the console's diff page take them: to 0
// is the live version, from 0 the one before to (to itself when to is the
// first). An unknown template is ErrNotFound, an unknown version an
// *UnknownVersionError.
func (s *Store) CompareVersions(ctx context.Context, id string, from, to int) (Comparison, error) {
	if to == 0 {
		info, err := s.Get(ctx, id)
		if err != nil {
			return Comparison{}, err
		}
		to = info.Live
	}
	if from == 0 {
		from = max(to-1, 1)
	}
	before, err := s.Version(ctx, id, from)
	if err != nil {
		return Comparison{}, err
	}
	after, err := s.Version(ctx, id, to)
	if err != nil {
		return Comparison{}, err
	}
	return Comparison{From: from, To: to, Changes: Diff(before.Definition, after.Definition)}, nil
}
