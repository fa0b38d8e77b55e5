package templates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/forbear/forbear/internal/ground/domain"
)

// Template categories. They mirror domain.Category: a collection template
// is held back by an active agreement, an agreement template is part of
// that agreement's plan.
const (
	CategoryCollection = string(domain.Collection)
	CategoryAgreement  = string(domain.AgreementCategory)
)

// Definition is one template: the text of every channel in every locale. It
// is what a `<id>.yaml` file and the body of PUT /v1/templates/{id} hold.
type Definition struct {
	// Category is "collection", "agreement" or empty (undeclared).
	// Collection SMS and email must carry opt-out wording.
	Category string `json:"category,omitempty" yaml:"category,omitempty"`
	// Note describes the template for the people who edit it.
	Note string `json:"note,omitempty" yaml:"note,omitempty"`
	// Channels maps a channel to its texts by locale ("zh-CN", "en-US").
	Channels map[domain.Channel]map[string]Text `json:"channels" yaml:"channels"`
	// Voicemail maps a locale to what a call leaves on an answering
	// machine instead of the voice script (answering-machine detection
	// tells which answered). It is a limited-content message (12 CFR
	// 1006.2(j)): see limitedContentProblem for what it may use.
	Voicemail map[string]string `json:"voicemail,omitempty" yaml:"voicemail,omitempty"`
}

// Text is the source of one channel in one locale. SMS and voice texts are
// plain strings; email texts have a subject and a body, in-app texts a title
// (kept in Subject) and a body.
type Text struct {
	Subject string
	Body    string
}

// textObject is the object form of a Text; Title is the in-app spelling of
// Subject.
type textObject struct {
	Subject string `json:"subject,omitempty" yaml:"subject,omitempty"`
	Title   string `json:"title,omitempty" yaml:"title,omitempty"`
	Body    string `json:"body" yaml:"body"`
}

func (o textObject) text() (Text, error) {
	if o.Subject != "" && o.Title != "" {
		return Text{}, errors.New("give either subject or title, not both")
	}
	return Text{Subject: o.Subject + o.Title, Body: o.Body}, nil
}

// UnmarshalYAML accepts a plain string or a {subject|title, body} mapping.
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*t = Text{Body: n.Value}
		return nil
	case yaml.MappingNode:
		// Node.Decode ignores the decoder's KnownFields, so unknown keys
		// (a typo like "bdy") are caught here by hand.
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k := n.Content[i].Value; k {
			case "subject", "title", "body":
			default:
				return fmt.Errorf("line %d: unknown text field %q (want subject, title or body)", n.Content[i].Line, k)
			}
		}
		var o textObject
		if err := n.Decode(&o); err != nil {
			return err
		}
		v, err := o.text()
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		*t = v
		return nil
	}
	return fmt.Errorf("line %d: a text is a string or a {subject, body} mapping", n.Line)
}

// UnmarshalJSON accepts a string or a {subject|title, body} object.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text{Body: s}
		return nil
	}
	if len(b) == 0 || b[0] != '{' {
		return errors.New("a text is a string or a {subject, body} object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var o textObject
	if err := dec.Decode(&o); err != nil {
		return err
	}
	v, err := o.text()
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// MarshalJSON writes the string form when there is no subject.
func (t Text) MarshalJSON() ([]byte, error) {
	if t.Subject == "" {
		return json.Marshal(t.Body)
	}
	return json.Marshal(textObject{Subject: t.Subject, Body: t.Body})
}

// MarshalYAML writes the string form when there is no subject.
func (t Text) MarshalYAML() (any, error) {
	if t.Subject == "" {
		return t.Body, nil
	}
	return textObject{Subject: t.Subject, Body: t.Body}, nil
}

// encoded is the wire form of a Definition with in-app subjects spelled
// "title", so that what GET shows is what PUT and the files take.
type encoded struct {
	Category  string                            `json:"category,omitempty" yaml:"category,omitempty"`
	Note      string                            `json:"note,omitempty" yaml:"note,omitempty"`
	Channels  map[domain.Channel]map[string]any `json:"channels" yaml:"channels"`
	Voicemail map[string]string                 `json:"voicemail,omitempty" yaml:"voicemail,omitempty"`
}

func (d Definition) encode() encoded {
	e := encoded{Category: d.Category, Note: d.Note, Channels: make(map[domain.Channel]map[string]any, len(d.Channels)),
		Voicemail: d.Voicemail}
	for ch, texts := range d.Channels {
		m := make(map[string]any, len(texts))
		for loc, t := range texts {
			if ch == domain.InApp && t.Subject != "" {
				m[loc] = textObject{Title: t.Subject, Body: t.Body}
			} else {
				m[loc] = t
			}
		}
		e.Channels[ch] = m
	}
	return e
}

// MarshalJSON writes the same shape PUT /v1/templates/{id} takes.
func (d Definition) MarshalJSON() ([]byte, error) { return json.Marshal(d.encode()) }

// MarshalYAML writes the same shape a template file holds.
func (d Definition) MarshalYAML() (any, error) { return d.encode(), nil }

// ParseYAML reads a template file. Unknown keys are errors: a misspelt
// "chanels" must not save an empty template.
func ParseYAML(data []byte) (Definition, error) {
	var d Definition
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return Definition{}, fmt.Errorf("templates: parse yaml: %w", err)
	}
	return d, nil
}

// ParseJSON reads a template in the JSON shape of PUT /v1/templates/{id}.
// Unknown keys are errors.
func ParseJSON(data []byte) (Definition, error) {
	var d Definition
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Definition{}, fmt.Errorf("templates: parse json: %w", err)
	}
	if dec.More() {
		return Definition{}, errors.New("templates: parse json: trailing data after the template")
	}
	return d, nil
}

// Bundled returns the example templates compiled into the binary, by id.
func Bundled() (map[string]Definition, error) {
	return loadFS(bundledFS, "bundled")
}

// LoadDir reads every `<id>.yaml` file of dir, by id. A directory without
// such files gives an empty map.
func LoadDir(dir string) (map[string]Definition, error) {
	return loadFS(os.DirFS(dir), ".")
}

func loadFS(fsys fs.FS, dir string) (map[string]Definition, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("templates: read %s: %w", dir, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	out := make(map[string]Definition, len(names))
	for _, name := range names {
		data, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("templates: read %s: %w", name, err)
		}
		def, err := ParseYAML(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[strings.TrimSuffix(name, ".yaml")] = def
	}
	return out, nil
}
