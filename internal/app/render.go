package app

import (
	"time"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/clock"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/templates"
)

// renderer adapts the template store to the dispatcher: it builds the
// template context (spec §6) from the borrower, case and agreement.
type renderer struct {
	store     *templates.Store
	clock     clock.Clock
	defaultTZ *time.Location
}

func (r renderer) Render(rem domain.Reminder, b domain.Borrower, c domain.Case, a *domain.Agreement) (dispatcher.Rendered, error) {
	data := templates.Context{
		Borrower: templates.Borrower{ID: b.ID, Name: b.Name, Locale: b.Locale},
		Loan:     templates.Loan{ID: c.LoanID, AmountDue: c.AmountDue, Currency: c.Currency, DueDate: c.DueDate},
		Case:     templates.Case{DaysPastDue: r.daysPastDue(c.DueDate, b.Timezone)},
		Step:     rem.Step,
	}
	if a != nil {
		data.Agreement = templates.Agreement{ID: a.ID, Kind: a.Kind}
		if i := rem.Installment - 1; i >= 0 && i < len(a.Installments) {
			data.Agreement.NextDueDate = a.Installments[i].DueDate
			data.Agreement.NextAmount = a.Installments[i].Amount
		} else if len(a.Installments) > 0 {
			data.Agreement.NextDueDate = a.Installments[0].DueDate
			data.Agreement.NextAmount = a.Installments[0].Amount
		}
	}
	out, err := r.store.Render(rem.Template, rem.Channel, b.Locale, data)
	if err != nil {
		return dispatcher.Rendered{}, err
	}
	return dispatcher.Rendered{Subject: out.Subject, Text: out.Text, HTML: out.HTML, Locale: out.Locale, Version: out.Version}, nil
}

// daysPastDue counts calendar days since the due date in the borrower's
// zone; 0 before and on the due date.
func (r renderer) daysPastDue(due, tz string) int {
	loc := r.defaultTZ
	if tz != "" {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	d, err := time.ParseInLocation(time.DateOnly, due, loc)
	if err != nil {
		return 0
	}
	now := r.clock.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	days := int(today.Sub(d).Hours()/24 + 0.5)
	return max(days, 0)
}
