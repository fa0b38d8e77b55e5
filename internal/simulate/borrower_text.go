package simulate

import (
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/templates"
)

// renderKey names what a text's rendering depends on besides the day.
type renderKey struct {
	template    string
	channel     domain.Channel
	loan, agr   string
	installment int
}

// text is what the rendering of a reminder's text gave: whether it
// failed, and, for the context it was last rendered with, its SMS
// segments.
type text struct {
	err      error
	data     templates.Context
	segments int
}

// renders renders the reminder's text as the worker does before the
// contact rules, to find out whether it fails: once per template,
// channel and record, since only the day counts change from one reminder
// of a loan to the next and they never make a text fail. The pending
// reminder keeps what it returns for its next decisions.
func (m *sim) renders(now time.Time, rem domain.Reminder, c domain.Case, agr *domain.Agreement) *text {
	key := renderKey{template: rem.Template, channel: rem.Channel, loan: rem.LoanID, agr: rem.AgreementID, installment: rem.Installment}
	if t, ok := m.rendered[key]; ok {
		return t
	}
	t := &text{data: m.context(now, rem, c, agr)}
	t.segments, t.err = m.render(rem, t.data)
	m.rendered[key] = t
	return t
}

// segments counts the SMS segments of the reminder's text as sent at now;
// t is its text's rendering (see renders). The text is rendered again
// only when its context differs from the last rendering's: the same
// template, channel, locale and context give the same text.
func (m *sim) segments(now time.Time, rem domain.Reminder, c domain.Case, agr *domain.Agreement, t *text) int {
	data := m.context(now, rem, c, agr)
	if t.data == data {
		return t.segments
	}
	t.data = data
	t.segments, _ = m.render(rem, data)
	return t.segments
}

// context is the reminder's template context at now, as the worker
// builds it.
func (m *sim) context(now time.Time, rem domain.Reminder, c domain.Case, agr *domain.Agreement) templates.Context {
	return templates.ContextFor(m.b, c, agr, rem.Step, rem.Installment, now, m.s.Zone)
}

// render renders the reminder's text with data, as the worker does, and
// counts its SMS segments.
func (m *sim) render(rem domain.Reminder, data templates.Context) (int, error) {
	out, err := m.s.Templates.Render(rem.Template, rem.Channel, m.b.Locale, data)
	if err != nil || rem.Channel != domain.SMS {
		return 0, err
	}
	_, segments := templates.Segments(out.Text)
	return segments, nil
}
