package templates

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"text/template"

	"github.com/forbear/forbear/internal/ground/domain"
)

// ErrNotFound is returned for a template id, channel or version the store
// does not have.
var ErrNotFound = errors.New("templates: not found")

// ErrNoText is returned when a template has no text for the channel asked
// for. It wraps ErrNotFound.
var ErrNoText = fmt.Errorf("%w: no text for that channel", ErrNotFound)

// Context is the data a template renders: the fields of spec §6. Every value
// is data and is printed as it is; text/template never executes it.
type Context struct {
	Borrower  Borrower
	Loan      Loan
	Case      Case
	Agreement Agreement
	// Step is the policy step the reminder belongs to ("pre-due").
	Step string
}

// Borrower is the person a reminder is for.
type Borrower struct {
	ID     string
	Name   string
	Locale string
}

// Loan is the loan a reminder is about. Amounts are decimal strings
// ("1200.00"), dates YYYY-MM-DD, as the platform sends them.
type Loan struct {
	ID        string
	AmountDue string
	Currency  string
	DueDate   string
}

// Case is forbear's view of the loan's collection.
type Case struct {
	DaysPastDue int
}

// Agreement is the active agreement of an agreement-category reminder: its
// next instalment's date and amount (in the loan's currency).
type Agreement struct {
	ID          string
	Kind        string
	NextDueDate string
	NextAmount  string
}

// Sample is a complete context with plausible values. Validation renders
// every text against it, so a template that refers to a field or helper
// that does not exist is refused on save.
func Sample(locale string) Context {
	return Context{
		Borrower:  Borrower{ID: "b-sample", Name: "Alex Chen", Locale: locale},
		Loan:      Loan{ID: "loan-sample", AmountDue: "1200.00", Currency: "CNY", DueDate: "2026-03-05"},
		Case:      Case{DaysPastDue: 3},
		Agreement: Agreement{ID: "agr-sample", Kind: "installment", NextDueDate: "2026-04-05", NextAmount: "400.00"},
		Step:      "sample",
	}
}

// LongSample is Sample with realistically long values: a long name, loan
// id, amounts in the millions, a three-digit day count. An SMS must fit the
// segment limit with these, so that a borrower with a long name does not
// get a message cut short or billed as several more parts.
func LongSample(locale string) Context {
	return Context{
		Borrower:  Borrower{ID: "b-0000000000000001", Name: "Maximiliana Fitzgerald-Montgomery", Locale: locale},
		Loan:      Loan{ID: "LN-20260305-00012345", AmountDue: "1234567.89", Currency: "CNY", DueDate: "2026-12-25"},
		Case:      Case{DaysPastDue: 120},
		Agreement: Agreement{ID: "AGR-20260305-00012345", Kind: "installment", NextDueDate: "2026-12-28", NextAmount: "123456.78"},
		Step:      "overdue-reminder",
	}
}

// Rendered is a template rendered for one borrower on one channel.
type Rendered struct {
	ID      string
	Version int
	Channel domain.Channel
	// Locale is the locale of the text used, which may differ from the
	// borrower's when that locale has no text.
	Locale string
	// Subject is the email subject or the in-app title, on one line.
	Subject string
	// Text is the SMS text, voice script, email plain-text body or in-app
	// body.
	Text string
	// HTML is the email body as HTML (escaped text, <br> for newlines); empty
	// for other channels.
	HTML string
	// Voicemail is what a call leaves on an answering machine, in
	// VoicemailLocale (voice channel of a template with voicemail texts
	// only; empty otherwise).
	Voicemail       string
	VoicemailLocale string
}

// maxOutput bounds what one text may render to. An SMS is at most a few
// hundred bytes; the bound stops a runaway template (say {{range 100000000}})
// from eating a worker.
const maxOutput = 64 << 10

// compiled is one version of a template, parsed once and shared by every
// render (a parsed text/template is safe for concurrent Execute).
type compiled struct {
	id       string
	version  int
	channels map[domain.Channel]*compiledChannel
	// voicemail holds the voicemail texts by locale; nil without any.
	voicemail *compiledChannel
}

type compiledChannel struct {
	texts    map[string]*compiledText
	fallback *compiledText // en-US, else the first locale in sorted order
}

func (cc *compiledChannel) finish() {
	if t, ok := cc.texts["en-US"]; ok {
		cc.fallback = t
		return
	}
	if keys := sortedKeys(cc.texts); len(keys) > 0 {
		cc.fallback = cc.texts[keys[0]]
	}
}

// pick chooses the borrower's locale, then en-US, then the first locale.
func (cc *compiledChannel) pick(locale string) *compiledText {
	if t, ok := cc.texts[locale]; ok {
		return t
	}
	if canon, ok := canonicalLocale(locale); ok && canon != locale {
		if t, ok := cc.texts[canon]; ok {
			return t
		}
	}
	return cc.fallback
}

type compiledText struct {
	locale   string
	subject  *template.Template // nil when the text has none
	body     *template.Template
	sizeHint int
}

// execute renders the subject (flattened to one line) and the body.
func (t *compiledText) execute(data Context) (subject, body string, err error) {
	if body, err = run(t.body, &data, t.sizeHint); err != nil {
		return "", "", err
	}
	if t.subject != nil {
		if subject, err = run(t.subject, &data, 128); err != nil {
			return "", "", err
		}
		// A borrower name with a line break must not become an email header.
		subject = oneLine(subject)
	}
	return subject, body, nil
}

func run(t *template.Template, data *Context, hint int) (string, error) {
	w := limitWriter{}
	w.b.Grow(hint)
	if err := t.Execute(&w, data); err != nil {
		return "", fmt.Errorf("render %s: %w", t.Name(), err)
	}
	return w.b.String(), nil
}

// limitWriter is a strings.Builder that refuses to grow past maxOutput;
// text/template stops at the first write error.
type limitWriter struct{ b strings.Builder }

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > maxOutput {
		return 0, fmt.Errorf("rendered text exceeds %d bytes", maxOutput)
	}
	return w.b.Write(p)
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return strings.TrimSpace(s)
	}
	return strings.Join(strings.Fields(s), " ")
}

// render renders one channel of a compiled version.
func (c *compiled) render(ch domain.Channel, locale string, data Context) (Rendered, error) {
	cc := c.channels[ch]
	if cc == nil || cc.fallback == nil {
		return Rendered{}, fmt.Errorf("templates: %s has no %s text: %w", c.id, ch, ErrNoText)
	}
	t := cc.pick(locale)
	subject, text, err := t.execute(data)
	if err != nil {
		return Rendered{}, fmt.Errorf("templates: %s v%d %s/%s: %w", c.id, c.version, ch, t.locale, err)
	}
	r := Rendered{ID: c.id, Version: c.version, Channel: ch, Locale: t.locale, Subject: subject, Text: text}
	if ch == domain.Email {
		r.HTML = TextToHTML(text)
	}
	if ch == domain.Voice && c.voicemail != nil && c.voicemail.fallback != nil {
		vt := c.voicemail.pick(locale)
		if _, r.Voicemail, err = vt.execute(data); err != nil {
			return Rendered{}, fmt.Errorf("templates: %s v%d voicemail/%s: %w", c.id, c.version, vt.locale, err)
		}
		r.VoicemailLocale = vt.locale
	}
	return r, nil
}

// TextToHTML turns a plain-text email body into an HTML body: every
// character escaped, line breaks as <br>. Rendered text is never trusted as
// markup, since borrower names and amounts come from events.
func TextToHTML(text string) string {
	s := html.EscapeString(strings.ReplaceAll(text, "\r\n", "\n"))
	return strings.ReplaceAll(s, "\n", "<br>\n")
}

// RenderDefinition renders an unsaved definition (a draft being previewed).
// It validates the draft first with the default rules, since a preview of
// something that could not be saved would mislead; [Store.RenderDraft]
// applies a store's own rules.
func RenderDefinition(id string, def Definition, ch domain.Channel, locale string, data Context) (Rendered, error) {
	return renderDraft(id, def, defaultRules(), ch, locale, data)
}

func renderDraft(id string, def Definition, r rules, ch domain.Channel, locale string, data Context) (Rendered, error) {
	c, err := compileChecked(id, def, r)
	if err != nil {
		return Rendered{}, err
	}
	c.id = id
	return c.render(ch, locale, data)
}

// RenderDraft renders an unsaved definition of template id, validated with
// the store's rules first (opt-out phrases, SMS segment limit): a preview
// of something Put would refuse would mislead. Problems are
// *ValidationError values.
func (s *Store) RenderDraft(id string, def Definition, ch domain.Channel, locale string, data Context) (Rendered, error) {
	return renderDraft(id, def, s.rules, ch, locale, data)
}

// RenderVersion renders a saved version of a template, live or not. The
// version was validated when it was saved and is only parsed again, as the
// cache does. An unknown version is ErrNotFound, a channel it has no text
// for ErrNoText.
func (s *Store) RenderVersion(ctx context.Context, id string, version int, ch domain.Channel, locale string, data Context) (Rendered, error) {
	rec, err := s.Version(ctx, id, version)
	if err != nil {
		return Rendered{}, err
	}
	c, err := compileStored(rec.Definition)
	if err != nil {
		return Rendered{}, fmt.Errorf("templates: %s v%d: %w", id, version, err)
	}
	c.id, c.version = id, version
	return c.render(ch, locale, data)
}
