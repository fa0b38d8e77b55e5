package templates

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// ErrUnknownBorrower is returned by PreviewContext for a borrower forbear
// has no record of.
var ErrUnknownBorrower = errors.New("templates: unknown borrower")

// Records are the reads a preview for a real borrower needs; store.State
// has them.
type Records interface {
	Borrower(ctx context.Context, id string) (domain.Borrower, error)
	Case(ctx context.Context, loanID string) (domain.Case, error)
	Agreement(ctx context.Context, id string) (domain.Agreement, error)
}

// PreviewContext is the context a preview renders, and the locale to
// render: without a borrower, Sample in locale (default en-US). For a
// borrower, their first open case (else their first case) and its
// agreement at now, in locale or else the borrower's own (else en-US); a
// borrower with no case yet gets the sample loan with their own name. The
// HTTP API's preview and the console's editor both use it, so a preview
// shows the same text wherever it is asked for.
//
// An unknown borrower (or nil recs) is ErrUnknownBorrower; other errors are
// the store's.
func PreviewContext(ctx context.Context, recs Records, borrowerID, locale string, now time.Time, defaultZone *time.Location) (Context, string, error) {
	if borrowerID == "" {
		if locale == "" {
			locale = "en-US"
		}
		return Sample(locale), locale, nil
	}
	if recs == nil {
		return Context{}, "", ErrUnknownBorrower
	}
	b, err := recs.Borrower(ctx, borrowerID)
	if errors.Is(err, store.ErrNotFound) {
		return Context{}, "", ErrUnknownBorrower
	}
	if err != nil {
		return Context{}, "", fmt.Errorf("templates: preview: %w", err)
	}
	if locale == "" {
		locale = b.Locale
	}
	if locale == "" {
		locale = "en-US"
	}
	var cs *domain.Case
	for _, loanID := range b.LoanIDs {
		c, err := recs.Case(ctx, loanID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return Context{}, "", fmt.Errorf("templates: preview: %w", err)
		}
		if cs == nil || !cs.Open() && c.Open() {
			cs = &c
		}
		if c.Open() {
			break
		}
	}
	if cs == nil {
		data := Sample(locale)
		data.Borrower = Borrower{ID: b.ID, Name: b.Name, Locale: b.Locale}
		return data, locale, nil
	}
	var agr *domain.Agreement
	if cs.AgreementID != "" {
		a, err := recs.Agreement(ctx, cs.AgreementID)
		switch {
		case err == nil:
			agr = &a
		case !errors.Is(err, store.ErrNotFound):
			return Context{}, "", fmt.Errorf("templates: preview: %w", err)
		}
	}
	installment := 0
	if agr != nil {
		installment = nextInstallment(*agr, BorrowerZone(b, nil), now)
	}
	return ContextFor(b, *cs, agr, "preview", installment, now, defaultZone), locale, nil
}

// nextInstallment is the 1-based number of the first instalment not yet
// past due at now, or the last one.
func nextInstallment(a domain.Agreement, loc *time.Location, now time.Time) int {
	today := now.In(loc).Format(time.DateOnly)
	for i, in := range a.Installments {
		if in.DueDate >= today {
			return i + 1
		}
	}
	return len(a.Installments)
}
