package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/clock"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/store"
)

// Reindexer is told when something that decides a subject's schedule
// changed; the scheduler recomputes it at its next sweep. kind is "loan" or
// "agr".
type Reindexer interface {
	Reindex(ctx context.Context, kind, id string) error
}

// Subject kinds for Reindexer.
const (
	KindLoan      = "loan"
	KindAgreement = "agr"
)

// Intake validates and applies events. Applying an event is idempotent and
// keyed by the event id, so a repeated id is acknowledged and applied once.
type Intake struct {
	state     *store.State
	eventIDs  jetstream.KeyValue
	reindex   Reindexer
	fence     *Fence
	clock     clock.Clock
	log       *logrus.Entry
	agreement string // policy agreement.activated starts
	observe   func(typ, result string)
}

// IntakeOptions configure an Intake.
type IntakeOptions struct {
	State    *store.State
	EventIDs jetstream.KeyValue
	Reindex  Reindexer
	Fence    *Fence
	Clock    clock.Clock
	Log      *logrus.Entry
	// AgreementPolicy is the policy an activated agreement's plan follows.
	AgreementPolicy string
	// Observe, if set, counts applied events by type and result.
	Observe func(typ, result string)
}

// NewIntake returns an Intake.
func NewIntake(o IntakeOptions) *Intake {
	if o.Observe == nil {
		o.Observe = func(string, string) {}
	}
	return &Intake{state: o.State, eventIDs: o.EventIDs, reindex: o.Reindex, fence: o.Fence,
		clock: o.Clock, log: o.Log, agreement: o.AgreementPolicy, observe: o.Observe}
}

// ErrNotFound is a reference to a borrower, loan or agreement forbear does
// not know.
var ErrNotFound = errors.New("not found")

// Apply applies events in order. It returns once they are applied and, when
// any of them created a suppression, once that suppression is fenced (see
// the package documentation): the caller's acknowledgement is then safe.
func (in *Intake) Apply(ctx context.Context, events []Event) error {
	suppressed := false
	for _, ev := range events {
		s, err := in.apply(ctx, ev)
		if err != nil {
			in.observe(ev.Type, "error")
			return err
		}
		suppressed = suppressed || s
	}
	if suppressed {
		return in.fence.Hold(ctx)
	}
	return nil
}

// apply applies one event unless its id was applied before. It reports
// whether the event added a suppression.
func (in *Intake) apply(ctx context.Context, ev Event) (bool, error) {
	key := store.Token(ev.ID)
	if _, err := in.eventIDs.Get(ctx, key); err == nil {
		in.observe(ev.Type, "duplicate")
		return false, nil
	} else if !store.IsNotFound(err) {
		return false, fmt.Errorf("intake: check event id: %w", err)
	}
	data, err := ev.decode()
	if err != nil {
		return false, err
	}
	suppressed := false
	switch d := data.(type) {
	case BorrowerData:
		err = in.upsertBorrower(ctx, d)
	case LoanData:
		err = in.updateLoan(ctx, d)
	case PaymentData:
		err = in.payment(ctx, d)
	case AgreementData:
		suppressed = true
		err = in.activate(ctx, d)
	case AgreementEndData:
		err = in.endAgreement(ctx, ev.Type, d)
	case OptOutData:
		suppressed = true
		err = in.optOut(ctx, d)
	case CeasedData:
		suppressed = true
		err = in.cease(ctx, d)
	}
	if err != nil {
		return false, err
	}
	// Marked after applying: a crash in between re-applies, and every
	// handler above is idempotent.
	if _, err := in.eventIDs.Put(ctx, key, []byte(ev.Type)); err != nil {
		return false, fmt.Errorf("intake: mark event applied: %w", err)
	}
	in.observe(ev.Type, "applied")
	in.log.WithFields(logrus.Fields{"event_id": ev.ID, "type": ev.Type}).Debug("event applied")
	return suppressed, nil
}

func (in *Intake) borrowerOrStub(ctx context.Context, id string) (domain.Borrower, error) {
	b, err := in.state.Borrower(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return domain.Borrower{ID: id}, nil
	}
	return b, err
}

func (in *Intake) upsertBorrower(ctx context.Context, d BorrowerData) error {
	b, err := in.borrowerOrStub(ctx, d.BorrowerID)
	if err != nil {
		return err
	}
	oldPhone := b.Phone
	b.Name, b.Locale, b.Timezone, b.Phone, b.Email = d.Name, d.Locale, d.Timezone, d.Phone, d.Email
	b.Blackouts = d.Blackouts
	b.Updated = in.clock.Now()
	if err := in.state.PutBorrower(ctx, b); err != nil {
		return err
	}
	if oldPhone != b.Phone {
		if err := in.state.IndexPhone(ctx, b.ID, oldPhone, b.Phone); err != nil {
			return err
		}
	}
	// A new time zone moves every reminder of the borrower.
	return in.reindexLoans(ctx, b.LoanIDs)
}

func (in *Intake) updateLoan(ctx context.Context, d LoanData) error {
	b, err := in.borrowerOrStub(ctx, d.BorrowerID)
	if err != nil {
		return err
	}
	if !slices.Contains(b.LoanIDs, d.LoanID) {
		b.LoanIDs = append(b.LoanIDs, d.LoanID)
		b.Updated = in.clock.Now()
		if err := in.state.PutBorrower(ctx, b); err != nil {
			return err
		}
	}
	c, err := in.state.Case(ctx, d.LoanID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && c.BorrowerID != d.BorrowerID {
		return invalid("data.borrower_id", "loan %q belongs to another borrower", d.LoanID)
	}
	c.LoanID, c.BorrowerID, c.DueDate, c.AmountDue = d.LoanID, d.BorrowerID, d.DueDate, d.AmountDue
	c.Currency, c.Status, c.Policy, c.Updated = d.Currency, d.Status, d.Policy, in.clock.Now()
	if err := in.state.PutCase(ctx, c); err != nil {
		return err
	}
	return in.reindex.Reindex(ctx, KindLoan, c.LoanID)
}

func (in *Intake) payment(ctx context.Context, d PaymentData) error {
	c, err := in.state.Case(ctx, d.LoanID)
	if errors.Is(err, store.ErrNotFound) {
		return &FieldError{Code: "not_found", Field: "data.loan_id", Message: fmt.Sprintf("unknown loan %q", d.LoanID)}
	}
	if err != nil {
		return err
	}
	if c.BorrowerID != d.BorrowerID {
		return invalid("data.borrower_id", "loan %q belongs to another borrower", d.LoanID)
	}
	c.AmountDue = d.Remaining
	if isZero(d.Remaining) {
		c.Status = domain.LoanPaid
	}
	c.Updated = in.clock.Now()
	if err := in.state.PutCase(ctx, c); err != nil {
		return err
	}
	return in.reindex.Reindex(ctx, KindLoan, c.LoanID)
}

func isZero(decimal string) bool {
	return strings.Trim(strings.ReplaceAll(decimal, ".", ""), "0") == ""
}

func (in *Intake) activate(ctx context.Context, d AgreementData) error {
	now := in.clock.Now()
	// The hold goes first: from its write on, no collection reminder for
	// these loans passes a fence.
	if _, err := in.state.UpdateSuppressions(ctx, d.BorrowerID, func(s *domain.Suppressions) error {
		s.Holds = slices.DeleteFunc(s.Holds, func(h domain.Hold) bool { return h.AgreementID == d.AgreementID })
		s.Holds = append(s.Holds, domain.Hold{AgreementID: d.AgreementID, Kind: d.Kind, LoanIDs: d.LoanIDs, Since: now})
		return nil
	}); err != nil {
		return err
	}
	a := domain.Agreement{ID: d.AgreementID, BorrowerID: d.BorrowerID, Kind: d.Kind, LoanIDs: d.LoanIDs,
		Installments: d.Installments, Status: domain.AgreementActive, Policy: in.agreement, Updated: now}
	if err := in.state.PutAgreement(ctx, a); err != nil {
		return err
	}
	for _, loan := range d.LoanIDs {
		if err := in.setCaseAgreement(ctx, loan, d.AgreementID); err != nil {
			return err
		}
	}
	return in.reindex.Reindex(ctx, KindAgreement, a.ID)
}

func (in *Intake) setCaseAgreement(ctx context.Context, loanID, agreementID string) error {
	c, err := in.state.Case(ctx, loanID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the hold covers the loan when it arrives
	}
	if err != nil {
		return err
	}
	c.AgreementID = agreementID
	c.Updated = in.clock.Now()
	if err := in.state.PutCase(ctx, c); err != nil {
		return err
	}
	return in.reindex.Reindex(ctx, KindLoan, loanID)
}

func (in *Intake) endAgreement(ctx context.Context, typ string, d AgreementEndData) error {
	a, err := in.state.Agreement(ctx, d.AgreementID)
	if errors.Is(err, store.ErrNotFound) {
		return &FieldError{Code: "not_found", Field: "data.agreement_id", Message: fmt.Sprintf("unknown agreement %q", d.AgreementID)}
	}
	if err != nil {
		return err
	}
	if a.BorrowerID != d.BorrowerID {
		return invalid("data.borrower_id", "agreement %q belongs to another borrower", d.AgreementID)
	}
	a.Status = domain.AgreementBroken
	if typ == TypeAgreementCompleted {
		a.Status = domain.AgreementDone
	}
	a.Updated = in.clock.Now()
	if err := in.state.PutAgreement(ctx, a); err != nil {
		return err
	}
	if _, err := in.state.UpdateSuppressions(ctx, d.BorrowerID, func(s *domain.Suppressions) error {
		s.Holds = slices.DeleteFunc(s.Holds, func(h domain.Hold) bool { return h.AgreementID == d.AgreementID })
		return nil
	}); err != nil {
		return err
	}
	for _, loan := range a.LoanIDs {
		if err := in.setCaseAgreement(ctx, loan, ""); err != nil {
			return err
		}
	}
	return in.reindex.Reindex(ctx, KindAgreement, a.ID)
}

func (in *Intake) optOut(ctx context.Context, d OptOutData) error {
	chans := []domain.Channel{domain.Channel(d.Channel)}
	if d.Channel == "all" {
		chans = domain.Channels
	}
	_, err := in.state.UpdateSuppressions(ctx, d.BorrowerID, func(s *domain.Suppressions) error {
		for _, ch := range chans {
			s.OptOuts = addOptOut(s.OptOuts, domain.OptOut{Channel: ch, Source: "event", At: in.clock.Now()})
		}
		return nil
	})
	return err
}

func (in *Intake) cease(ctx context.Context, d CeasedData) error {
	_, err := in.state.UpdateSuppressions(ctx, d.BorrowerID, func(s *domain.Suppressions) error {
		if s.Ceased == nil {
			now := in.clock.Now()
			s.Ceased = &now
		}
		return nil
	})
	return err
}

func addOptOut(list []domain.OptOut, o domain.OptOut) []domain.OptOut {
	for _, have := range list {
		if have.Channel == o.Channel && have.Address == o.Address {
			return list
		}
	}
	return append(list, o)
}

func (in *Intake) reindexLoans(ctx context.Context, loans []string) error {
	for _, l := range loans {
		if err := in.reindex.Reindex(ctx, KindLoan, l); err != nil {
			return err
		}
	}
	return nil
}
