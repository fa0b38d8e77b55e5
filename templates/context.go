package templates

import (
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/tz"
)

// ContextFor builds the Context of a reminder (spec §6) from forbear's
// records: the borrower, the case of the loan and, for an agreement
// reminder, the agreement (nil for none). installment is the 1-based
// instalment the reminder is about; 0 or out of range picks the first one.
// Days past due are counted in calendar days at now, in the borrower's time
// zone, else defaultZone (UTC when nil).
func ContextFor(b domain.Borrower, c domain.Case, a *domain.Agreement, step string, installment int, now time.Time, defaultZone *time.Location) Context {
	data := Context{
		Borrower: Borrower{ID: b.ID, Name: b.Name, Locale: b.Locale},
		Loan:     Loan{ID: c.LoanID, AmountDue: c.AmountDue, Currency: c.Currency, DueDate: c.DueDate},
		Case:     Case{DaysPastDue: DaysPastDue(c.DueDate, BorrowerZone(b, defaultZone), now)},
		Step:     step,
	}
	if a != nil {
		data.Agreement = Agreement{ID: a.ID, Kind: a.Kind}
		if i := installment - 1; i >= 0 && i < len(a.Installments) {
			data.Agreement.NextDueDate = a.Installments[i].DueDate
			data.Agreement.NextAmount = a.Installments[i].Amount
		} else if len(a.Installments) > 0 {
			data.Agreement.NextDueDate = a.Installments[0].DueDate
			data.Agreement.NextAmount = a.Installments[0].Amount
		}
	}
	return data
}

// BorrowerZone is the borrower's time zone, else defaultZone, else UTC.
func BorrowerZone(b domain.Borrower, defaultZone *time.Location) *time.Location {
	if b.Timezone != "" {
		if l, err := tz.Load(b.Timezone); err == nil {
			return l
		}
	}
	if defaultZone != nil {
		return defaultZone
	}
	return time.UTC
}

// DaysPastDue counts calendar days from a YYYY-MM-DD due date to now in
// loc: 0 before and on the due date, and for a date that does not parse.
func DaysPastDue(due string, loc *time.Location, now time.Time) int {
	d, err := time.ParseInLocation(time.DateOnly, due, loc)
	if err != nil {
		return 0
	}
	now = now.In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	days := int(today.Sub(d).Hours()/24 + 0.5)
	return max(days, 0)
}
