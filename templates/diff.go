package templates

import (
	"slices"

	"github.com/forbear/forbear/internal/domain"
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
