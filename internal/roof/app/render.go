package app

import (
	"time"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/templates"
)

// renderer adapts the template store to the dispatcher: it builds the
// template context (spec §6) from the borrower, case and agreement with
// templates.ContextFor.
type renderer struct {
	store     *templates.Store
	clock     clock.Clock
	defaultTZ *time.Location
}

func (r renderer) Render(rem domain.Reminder, b domain.Borrower, c domain.Case, a *domain.Agreement) (dispatcher.Rendered, error) {
	data := templates.ContextFor(b, c, a, rem.Step, rem.Installment, r.clock.Now(), r.defaultTZ)
	out, err := r.store.Render(rem.Template, rem.Channel, b.Locale, data)
	if err != nil {
		return dispatcher.Rendered{}, err
	}
	return dispatcher.Rendered{Subject: out.Subject, Text: out.Text, HTML: out.HTML, Locale: out.Locale, Version: out.Version,
		Voicemail: out.Voicemail, VoicemailLocale: out.VoicemailLocale}, nil
}
