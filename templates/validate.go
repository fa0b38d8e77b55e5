package templates

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/forbear/forbear/internal/ground/domain"
)

// ValidationError is why a template was refused. Channel and Locale name the
// text at fault; both are empty for a problem of the whole template. A
// problem of a voicemail text has Voicemail set, its Locale, and Channel
// "voice".
type ValidationError struct {
	Channel   string
	Locale    string
	Voicemail bool
	Problem   string
}

// Error names the channel, the locale and the problem, so that an operator
// reading a 400 knows which text to fix.
func (e *ValidationError) Error() string {
	switch {
	case e.Voicemail && e.Locale == "":
		return "voicemail: " + e.Problem
	case e.Voicemail:
		return "voicemail, locale " + e.Locale + ": " + e.Problem
	case e.Channel == "" && e.Locale == "":
		return "template: " + e.Problem
	case e.Locale == "":
		return "channel " + e.Channel + ": " + e.Problem
	default:
		return "channel " + e.Channel + ", locale " + e.Locale + ": " + e.Problem
	}
}

// DefaultOptOutPhrases are the words of which a collection SMS or email
// must contain at least one: how a borrower tells us to stop (spec §7
// accepts STOP and 退订 on inbound SMS).
func DefaultOptOutPhrases() []string { return []string{"STOP", "退订"} }

// maxIDLen bounds template ids: they end up in KV keys and file names.
const maxIDLen = 128

// ValidateID checks a template id: 1 to 128 letters, digits, '_', '-' or
// '.', so that it also works as a file name.
func ValidateID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return &ValidationError{Problem: fmt.Sprintf("id must be 1 to %d characters", maxIDLen)}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return &ValidationError{Problem: fmt.Sprintf("id %q may only hold letters, digits, '_', '-' and '.'", id)}
		}
	}
	if id[0] == '.' {
		return &ValidationError{Problem: fmt.Sprintf("id %q must not start with '.'", id)}
	}
	return nil
}

// DefaultMaxSMSSegments is how many SMS segments a text may take by default
// (config templates.max_sms_segments), measured against LongSample.
const DefaultMaxSMSSegments = 3

// rules are the store-wide settings validation applies.
type rules struct {
	optOut      []string         // a collection SMS or email must contain one
	maxSegments int              // an SMS may take at most this many segments
	uses        map[string][]Use // template id -> the policies that send it
}

func defaultRules() rules {
	return rules{optOut: DefaultOptOutPhrases(), maxSegments: DefaultMaxSMSSegments}
}

// Validate checks a definition with the default opt-out phrases and SMS
// segment limit; see [Store.Validate] for the rules.
func (d Definition) Validate() error {
	_, err := compileChecked("", d, defaultRules())
	return err
}

// collectionBecause reports whether template id is a collection template
// for validation: its own category says so, or a collection policy sends
// it (the policy decides which suppressions and rules apply to what it
// sends, so the wording rules follow the policy too). why names the policy
// when it alone makes the template collection.
func (r rules) collectionBecause(id, own string) (collection bool, why string) {
	if own == CategoryCollection {
		return true, ""
	}
	for _, u := range r.uses[id] {
		if u.Category == CategoryCollection {
			return true, fmt.Sprintf(" (policy %q sends this template as collection)", u.Policy)
		}
	}
	return false, ""
}

// compileChecked parses every text of template id and proves it renders:
// against a full sample context with missingkey=error, so a misspelt field
// fails on save and not on the send path at 3 a.m. SMS texts must also fit
// r.maxSegments when rendered with LongSample, and collection SMS and email
// (see rules.collectionBecause) must carry an opt-out phrase. It returns
// every problem found (joined), each a *ValidationError, in a stable order.
func compileChecked(id string, d Definition, r rules) (*compiled, error) {
	var errs []error
	add := func(ch, loc, format string, args ...any) {
		errs = append(errs, &ValidationError{Channel: ch, Locale: loc, Problem: fmt.Sprintf(format, args...)})
	}
	switch d.Category {
	case "", CategoryCollection, CategoryAgreement:
	default:
		add("", "", "category %q is not %q or %q", d.Category, CategoryCollection, CategoryAgreement)
	}
	if len(d.Channels) == 0 {
		add("", "", "no channels: a template needs at least one of sms, voice, email, inapp")
	}
	var unknown []string
	for ch := range d.Channels {
		if !ch.Valid() {
			unknown = append(unknown, string(ch))
		}
	}
	sort.Strings(unknown)
	for _, ch := range unknown {
		add(ch, "", "unknown channel (want sms, voice, email or inapp)")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	collection, why := r.collectionBecause(id, d.Category)
	c := &compiled{channels: make(map[domain.Channel]*compiledChannel, len(d.Channels))}
	for _, ch := range domain.Channels {
		texts, ok := d.Channels[ch]
		if !ok {
			continue
		}
		if len(texts) == 0 {
			add(string(ch), "", "no locales")
			continue
		}
		cc := &compiledChannel{texts: make(map[string]*compiledText, len(texts))}
		for _, loc := range sortedKeys(texts) {
			t := texts[loc]
			if canon, ok := canonicalLocale(loc); !ok {
				add(string(ch), loc, "locale is not a language tag like en-US or zh-CN")
				continue
			} else if canon != loc {
				add(string(ch), loc, "locale should be written %s", canon)
				continue
			}
			if p := shapeProblem(ch, t); p != "" {
				add(string(ch), loc, "%s", p)
				continue
			}
			ct, err := compileText(string(ch), loc, t)
			if err != nil {
				add(string(ch), loc, "%v", err)
				continue
			}
			subject, text, err := ct.execute(Sample(loc))
			if err != nil {
				add(string(ch), loc, "%v", err)
				continue
			}
			if strings.TrimSpace(text) == "" {
				add(string(ch), loc, "body renders empty")
				continue
			}
			if ch == domain.Email && strings.TrimSpace(subject) == "" {
				add(string(ch), loc, "subject renders empty")
				continue
			}
			if collection && (ch == domain.SMS || ch == domain.Email) && !containsAny(text, r.optOut) {
				add(string(ch), loc, "collection %s%s must tell the borrower how to opt out (contain one of %s)", ch, why, strings.Join(quoteAll(r.optOut), ", "))
				continue
			}
			if ch == domain.SMS && r.maxSegments > 0 {
				if p := segmentProblem(ct, text, loc, r.maxSegments); p != "" {
					add(string(ch), loc, "%s", p)
					continue
				}
			}
			cc.texts[loc] = ct
		}
		cc.finish()
		c.channels[ch] = cc
	}
	vm, vmErrs := compileVoicemail(id, d)
	errs = append(errs, vmErrs...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.voicemail = vm
	return c, nil
}

// segmentProblem checks that an SMS fits max segments both as rendered
// with Sample (text) and with the long values of LongSample, and describes
// the excess when it does not.
func segmentProblem(ct *compiledText, text, loc string, max int) string {
	_, long, err := ct.execute(LongSample(loc))
	if err != nil {
		return "with long sample values: " + err.Error()
	}
	enc, n := Segments(text)
	if le, ln := Segments(long); ln > n {
		enc, n = le, ln
	}
	if n <= max {
		return ""
	}
	return fmt.Sprintf("renders to %d SMS segments (%s) with realistically long values, more than the %d allowed (templates.max_sms_segments); shorten the text", n, enc, max)
}

// shapeProblem checks which parts a channel's text must and may have.
func shapeProblem(ch domain.Channel, t Text) string {
	switch {
	case strings.TrimSpace(t.Body) == "":
		return "body is empty"
	case ch == domain.Email && strings.TrimSpace(t.Subject) == "":
		return "email needs a subject and a body"
	case (ch == domain.SMS || ch == domain.Voice) && t.Subject != "":
		return string(ch) + " has no subject: give the text as a plain string"
	}
	return ""
}

// compileText parses one text with the helpers of its locale.
func compileText(kind, loc string, t Text) (*compiledText, error) {
	fm := newFormatter(loc).funcs()
	parse := func(part, src string) (*template.Template, error) {
		tpl, err := template.New(kind + "/" + loc + "/" + part).Option("missingkey=error").Funcs(fm).Parse(src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", part, err)
		}
		return tpl, nil
	}
	ct := &compiledText{locale: loc, sizeHint: len(t.Body) + len(t.Body)/2 + 64}
	var err error
	if ct.body, err = parse("body", t.Body); err != nil {
		return nil, err
	}
	if t.Subject != "" {
		if ct.subject, err = parse("subject", t.Subject); err != nil {
			return nil, err
		}
	}
	return ct, nil
}

// canonicalLocale returns the usual spelling of a language tag ("zh_cn" ->
// "zh-CN") and whether it looks like one at all.
func canonicalLocale(s string) (string, bool) {
	if s == "" || len(s) > 35 {
		return "", false
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' })
	if len(parts) == 0 || strings.Count(s, "-")+strings.Count(s, "_") != len(parts)-1 {
		return "", false
	}
	for i, p := range parts {
		if !isAlnum(p) {
			return "", false
		}
		switch {
		case i == 0:
			if len(p) < 2 || len(p) > 3 || !isAlpha(p) {
				return "", false
			}
			parts[i] = strings.ToLower(p)
		case len(p) == 2 && isAlpha(p):
			parts[i] = strings.ToUpper(p)
		case len(p) == 4 && isAlpha(p):
			parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		default:
			parts[i] = strings.ToLower(p)
		}
	}
	return strings.Join(parts, "-"), true
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9') && !isAlpha(s[i:i+1]) {
			return false
		}
	}
	return s != ""
}

func containsAny(s string, phrases []string) bool {
	for _, p := range phrases {
		if p != "" && strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
