package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/clock"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/logging"
	"github.com/forbear/forbear/internal/store"
)

// Reindexer is told when something that decides a subject's schedule
// changed; the scheduler recomputes it at once (its sweep's leader is
// nudged) or, should the nudge be lost, at its next scheduled sweep. kind
// is "loan" or "agr".
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
// Every change of stored state is a compare-and-set on what was read, so
// concurrent events (on one instance or several) never lose each other's
// changes.
type Intake struct {
	state     *store.State
	eventIDs  jetstream.KeyValue
	reindex   Reindexer
	fence     *Fence
	clock     clock.Clock
	log       *logrus.Entry
	agreement string // policy agreement.activated starts
	observe   func(typ, result string)
	history   SuppressionHistory
}

// SuppressionHistory keeps every change of borrowers' suppressions
// (audit.Recorder does, beside the delivery records).
type SuppressionHistory interface {
	RecordSuppressionChanges(ctx context.Context, changes []domain.SuppressionChange) error
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
	// History, if set, records every change of a borrower's suppressions
	// with who made it.
	History SuppressionHistory
}

// NewIntake returns an Intake.
func NewIntake(o IntakeOptions) *Intake {
	if o.Observe == nil {
		o.Observe = func(string, string) {}
	}
	return &Intake{state: o.State, eventIDs: o.EventIDs, reindex: o.Reindex, fence: o.Fence,
		clock: o.Clock, log: o.Log, agreement: o.AgreementPolicy, observe: o.Observe, history: o.History}
}

// ErrNotFound is a reference to a borrower, loan or agreement forbear does
// not know.
var ErrNotFound = errors.New("not found")

// Apply applies events in order. It returns once they are applied and, when
// any of them created a suppression, once that suppression is held (see
// the package documentation): the caller's acknowledgement is then safe.
//
// When event i fails, the events after it are not applied; the error, a
// *BatchError with Index i, is returned only after holding for the
// suppressions among the events before it, since those were applied and
// the answer acknowledges them (and for event i itself when it suppresses).
func (in *Intake) Apply(ctx context.Context, events []Event) error {
	suppressed := false
	for i, ev := range events {
		var s bool
		// Applying is idempotent, so a store request lost while a stream
		// elects a leader is simply tried again (see store.Retry): the
		// caller is answered soon after the cluster is whole again.
		err := store.Retry(ctx, func(ctx context.Context) (err error) {
			s, err = in.apply(ctx, ev)
			return err
		})
		if err != nil {
			in.observe(ev.Type, "error")
			// A suppressing event that failed may have written its
			// suppression before the failure: it is held for too.
			if suppressed || suppresses(ev.Type) {
				if herr := in.fence.Hold(ctx); herr != nil {
					return herr
				}
			}
			return atIndex(i, len(events), i, err)
		}
		suppressed = suppressed || s
	}
	if suppressed {
		return in.fence.Hold(ctx)
	}
	return nil
}

// suppresses reports whether applying an event of type typ adds a
// suppression, so that its acknowledgement must be held.
func suppresses(typ string) bool {
	switch typ {
	case TypeAgreementActivated, TypeBorrowerOptedOut, TypeBorrowerCeased:
		return true
	}
	return false
}

// apply applies one event unless its id was applied before. It reports
// whether the caller must hold its acknowledgement: the event added a
// suppression, or it repeats one that did. A repeat (a retry after a
// timeout, say) may arrive while the original is still in its hold; held
// itself, its answer cannot come before the original's.
func (in *Intake) apply(ctx context.Context, ev Event) (bool, error) {
	key := store.Token(ev.ID)
	if e, err := in.eventIDs.Get(ctx, key); err == nil {
		in.observe(ev.Type, "duplicate")
		return suppresses(string(e.Value())) || suppresses(ev.Type), nil
	} else if !store.IsNotFound(err) {
		return false, fmt.Errorf("intake: check event id: %w", err)
	}
	data, err := ev.decode()
	if err != nil {
		return false, err
	}
	by := eventActor(ev)
	switch d := data.(type) {
	case BorrowerData:
		err = in.upsertBorrower(ctx, d)
	case LoanData:
		err = in.updateLoan(ctx, d)
	case PaymentData:
		err = in.payment(ctx, d)
	case AgreementData:
		err = in.activate(ctx, d, by)
	case AgreementEndData:
		err = in.endAgreement(ctx, ev.Type, d, by)
	case OptOutData:
		err = in.optOut(ctx, d, by)
	case CeasedData:
		err = in.cease(ctx, d, by)
	case ConsentData:
		err = in.consent(ctx, d, ev.Time)
	}
	if err != nil {
		return false, err
	}
	// Marked after applying: a crash in between re-applies, and every
	// handler above is idempotent. A concurrent repeat may have marked it
	// already; the first marker stands.
	if _, err := in.eventIDs.Create(ctx, key, []byte(ev.Type)); err != nil && !store.IsWrongSequence(err) {
		return false, fmt.Errorf("intake: mark event applied: %w", err)
	}
	in.observe(ev.Type, "applied")
	in.log.WithFields(logrus.Fields{"event_id": ev.ID, "type": ev.Type}).Debug("event applied")
	return suppresses(ev.Type), nil
}

// eventActor names an event as the author of the changes it makes, in the
// suppression history.
func eventActor(ev Event) string { return "event " + ev.ID + " from " + ev.Source }

func notFound(field, format string, args ...any) *FieldError {
	return &FieldError{Code: CodeNotFound, Field: field, Message: fmt.Sprintf(format, args...)}
}

func limitReached(field, format string, args ...any) *FieldError {
	return &FieldError{Code: CodeLimitReached, Field: field, Message: fmt.Sprintf(format, args...)}
}

// upsertBorrower creates or updates a borrower's profile; the loan list
// (kept by loan.updated) is left as stored.
func (in *Intake) upsertBorrower(ctx context.Context, d BorrowerData) error {
	var oldPhone, oldEmail string
	var loans []string
	now := in.clock.Now()
	err := in.state.UpdateBorrower(ctx, d.BorrowerID, func(b *domain.Borrower) (bool, error) {
		oldPhone, oldEmail, loans = b.Phone, b.Email, b.LoanIDs
		if err := d.ApplyTo(b, now); err != nil {
			return false, err
		}
		b.Updated = now
		return true, nil
	})
	if err != nil {
		return err
	}
	// The new number and address are indexed even when they are not new:
	// an earlier attempt of this event may have stored the borrower and
	// failed before the index (an index entry that already holds the
	// borrower is not written again).
	if err := in.state.IndexPhone(ctx, d.BorrowerID, oldPhone, d.Phone); err != nil {
		return err
	}
	if err := in.state.IndexEmail(ctx, d.BorrowerID, oldEmail, d.Email); err != nil {
		return err
	}
	// A new time zone moves every reminder of the borrower.
	return in.reindexLoans(ctx, loans)
}

// ApplyTo stores d on b as intake stores borrower.upserted at now: the
// profile (name, locale, zone, phone, email, blackouts), the phone kind,
// and the number's check (see applyPhoneCheck). A check dated after now,
// beyond the clock skew intake allows, is refused as intake refuses it.
// b's id, loans and time of update are left to the caller. The dry run
// builds its borrowers with it, so they carry what a live borrower would.
func (d BorrowerData) ApplyTo(b *domain.Borrower, now time.Time) error {
	var checked *time.Time
	if d.PhoneCheckedAt != "" {
		t, err := checkInstant("data.phone_checked_at", d.PhoneCheckedAt)
		if err != nil {
			return err
		}
		if t.After(now.Add(maxClockSkew)) {
			return invalid("data.phone_checked_at", "is in the future (%s)", t.Format(time.RFC3339))
		}
		checked = &t
	}
	oldPhone := b.Phone
	b.Name, b.Locale, b.Timezone, b.Phone, b.Email = d.Name, d.Locale, d.Timezone, d.Phone, d.Email
	b.Blackouts = d.Blackouts
	b.PhoneKind = d.PhoneKind
	applyPhoneCheck(b, oldPhone, checked, d.PhoneCheck)
	return nil
}

// applyPhoneCheck records what confirms b's number as the borrower's. A
// check given replaces the stored one; without one, the stored check
// stays while the number does. A new number (one that replaces another)
// drops the old number's check and the consents to SMS, which confirmed
// that number; consents to calls are about the calls and stay.
func applyPhoneCheck(b *domain.Borrower, oldPhone string, checked *time.Time, how string) {
	if oldPhone != "" && oldPhone != b.Phone {
		b.PhoneCheckedAt, b.PhoneCheck = nil, ""
		b.Consents = slices.DeleteFunc(b.Consents, func(c domain.Consent) bool { return c.Channel == domain.SMS })
	}
	if checked != nil {
		t := checked.UTC()
		b.PhoneCheckedAt, b.PhoneCheck = &t, how
	}
}

// consent records the borrower's consent to be contacted on a channel at
// d.At, or at the event's time, or now. A borrower not known yet is kept
// as a stub (as loan.updated does), so the order of events does not
// matter.
func (in *Intake) consent(ctx context.Context, d ConsentData, evTime *time.Time) error {
	now := in.clock.Now()
	at, field := now, "time"
	if evTime != nil {
		at = *evTime
	}
	if d.At != "" {
		t, err := checkInstant("data.at", d.At)
		if err != nil {
			return err
		}
		at, field = t, "data.at"
	}
	if at.After(now.Add(maxClockSkew)) {
		return invalid(field, "is in the future (%s): a consent counts from when it was given", at.Format(time.RFC3339))
	}
	c := domain.Consent{Channel: domain.Channel(d.Channel), At: at.UTC()}
	return in.state.UpdateBorrower(ctx, d.BorrowerID, func(b *domain.Borrower) (bool, error) {
		b.Consents = AddConsent(b.Consents, c, now)
		b.Updated = now
		return true, nil
	})
}

// AddConsent adds c to a borrower's consents as intake stores
// borrower.consented at now, keeping the record bounded: consents older
// than consentKeep go, a repeat is stored once, and past
// domain.MaxConsents the oldest go first. The result is sorted by time,
// and list is left as it was. The dry run stores its borrowers' consents
// with it.
func AddConsent(list []domain.Consent, c domain.Consent, now time.Time) []domain.Consent {
	out := slices.DeleteFunc(slices.Clone(list), func(have domain.Consent) bool {
		return have.At.Before(now.Add(-consentKeep)) || have.Channel == c.Channel && have.At.Equal(c.At)
	})
	if !c.At.Before(now.Add(-consentKeep)) {
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b domain.Consent) int { return a.At.Compare(b.At) })
	if len(out) > domain.MaxConsents {
		out = out[len(out)-domain.MaxConsents:]
	}
	return out
}

// checkCaseOwner refuses a loan that is known under another borrower. It
// runs before anything is written; the compare-and-set of the case checks
// again.
func (in *Intake) checkCaseOwner(ctx context.Context, field, loanID, borrowerID string) error {
	c, err := in.state.Case(ctx, loanID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.BorrowerID != borrowerID {
		return invalid(field, "loan %s belongs to another borrower", short(loanID))
	}
	return nil
}

func (in *Intake) updateLoan(ctx context.Context, d LoanData) error {
	if err := in.checkCaseOwner(ctx, "data.borrower_id", d.LoanID, d.BorrowerID); err != nil {
		return err
	}
	now := in.clock.Now()
	// The borrower is linked first (a stub when the borrower is not known
	// yet): a borrower-wide change then reschedules the loan.
	err := in.state.UpdateBorrower(ctx, d.BorrowerID, func(b *domain.Borrower) (bool, error) {
		if slices.Contains(b.LoanIDs, d.LoanID) {
			return false, nil
		}
		if len(b.LoanIDs) >= MaxLoansPerBorrower {
			return false, limitReached("data.loan_id", "borrower %s already has %d loans, the most forbear keeps for one borrower",
				short(d.BorrowerID), len(b.LoanIDs))
		}
		b.LoanIDs = append(b.LoanIDs, d.LoanID)
		b.Updated = now
		return true, nil
	})
	if err != nil {
		return err
	}
	err = in.state.UpdateCase(ctx, d.LoanID, func(c *domain.Case) (bool, error) {
		if c.LoanID != "" && c.BorrowerID != d.BorrowerID {
			return false, invalid("data.borrower_id", "loan %s belongs to another borrower", short(d.LoanID))
		}
		c.BorrowerID, c.DueDate, c.AmountDue = d.BorrowerID, d.DueDate, d.AmountDue
		c.Currency, c.Status, c.Policy, c.Updated = d.Currency, d.Status, d.Policy, now
		return true, nil
	})
	if err != nil {
		return err
	}
	return in.reindex.Reindex(ctx, KindLoan, d.LoanID)
}

func (in *Intake) payment(ctx context.Context, d PaymentData) error {
	now := in.clock.Now()
	err := in.state.UpdateCase(ctx, d.LoanID, func(c *domain.Case) (bool, error) {
		if c.LoanID == "" {
			return false, notFound("data.loan_id", "unknown loan %s", short(d.LoanID))
		}
		if c.BorrowerID != d.BorrowerID {
			return false, invalid("data.borrower_id", "loan %s belongs to another borrower", short(d.LoanID))
		}
		c.AmountDue = d.Remaining
		if isZero(d.Remaining) {
			c.Status = domain.LoanPaid
		}
		c.Updated = now
		return true, nil
	})
	if err != nil {
		return err
	}
	return in.reindex.Reindex(ctx, KindLoan, d.LoanID)
}

func isZero(decimal string) bool {
	return strings.Trim(strings.ReplaceAll(decimal, ".", ""), "0") == ""
}

func (in *Intake) activate(ctx context.Context, d AgreementData, by string) error {
	now := in.clock.Now()
	// Refusals come before the hold is written.
	if a, err := in.state.Agreement(ctx, d.AgreementID); err == nil && a.BorrowerID != d.BorrowerID {
		return invalid("data.borrower_id", "agreement %s belongs to another borrower", short(d.AgreementID))
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for i, loan := range d.LoanIDs {
		if err := in.checkCaseOwner(ctx, fmt.Sprintf("data.loan_ids[%d]", i), loan, d.BorrowerID); err != nil {
			return err
		}
	}
	// The hold goes first: from its write on, no collection reminder for
	// these loans passes a fence.
	if err := in.updateSuppressions(ctx, d.BorrowerID, by, func(s *domain.Suppressions) error {
		s.Holds = slices.DeleteFunc(s.Holds, func(h domain.Hold) bool { return h.AgreementID == d.AgreementID })
		if len(s.Holds) >= MaxActiveAgreements {
			return limitReached("data.agreement_id", "borrower %s already has %d active agreements, the most forbear keeps",
				short(d.BorrowerID), len(s.Holds))
		}
		s.Holds = append(s.Holds, domain.Hold{AgreementID: d.AgreementID, Kind: d.Kind, LoanIDs: d.LoanIDs, Since: now})
		return nil
	}); err != nil {
		return err
	}
	err := in.state.UpdateAgreement(ctx, d.AgreementID, func(a *domain.Agreement) (bool, error) {
		if a.ID != "" && a.BorrowerID != d.BorrowerID {
			return false, invalid("data.borrower_id", "agreement %s belongs to another borrower", short(d.AgreementID))
		}
		*a = domain.Agreement{BorrowerID: d.BorrowerID, Kind: d.Kind, LoanIDs: d.LoanIDs,
			Installments: d.Installments, Status: domain.AgreementActive, Policy: in.agreement, Updated: now}
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, loan := range d.LoanIDs {
		if err := in.setCaseAgreement(ctx, loan, d.BorrowerID, "", d.AgreementID); err != nil {
			return err
		}
	}
	return in.reindex.Reindex(ctx, KindAgreement, d.AgreementID)
}

// setCaseAgreement moves a case of the borrower from agreement from to
// agreement to ("" none); from "" sets it whatever it was. A loan not known
// yet is left alone (the hold covers it when it arrives), and so is a case
// that another agreement took over.
func (in *Intake) setCaseAgreement(ctx context.Context, loanID, borrowerID, from, to string) error {
	changed := false
	err := in.state.UpdateCase(ctx, loanID, func(c *domain.Case) (bool, error) {
		if c.LoanID == "" || c.BorrowerID != borrowerID || from != "" && c.AgreementID != from || c.AgreementID == to {
			return false, nil
		}
		c.AgreementID = to
		c.Updated = in.clock.Now()
		changed = true
		return true, nil
	})
	if err != nil || !changed {
		return err
	}
	return in.reindex.Reindex(ctx, KindLoan, loanID)
}

func (in *Intake) endAgreement(ctx context.Context, typ string, d AgreementEndData, by string) error {
	var loans []string
	err := in.state.UpdateAgreement(ctx, d.AgreementID, func(a *domain.Agreement) (bool, error) {
		if a.ID == "" {
			return false, notFound("data.agreement_id", "unknown agreement %s", short(d.AgreementID))
		}
		if a.BorrowerID != d.BorrowerID {
			return false, invalid("data.borrower_id", "agreement %s belongs to another borrower", short(d.AgreementID))
		}
		loans = a.LoanIDs
		a.Status = domain.AgreementBroken
		if typ == TypeAgreementCompleted {
			a.Status = domain.AgreementDone
		}
		a.Updated = in.clock.Now()
		return true, nil
	})
	if err != nil {
		return err
	}
	if err := in.updateSuppressions(ctx, d.BorrowerID, by, func(s *domain.Suppressions) error {
		s.Holds = slices.DeleteFunc(s.Holds, func(h domain.Hold) bool { return h.AgreementID == d.AgreementID })
		return nil
	}); err != nil {
		return err
	}
	for _, loan := range loans {
		if err := in.setCaseAgreement(ctx, loan, d.BorrowerID, d.AgreementID, ""); err != nil {
			return err
		}
	}
	return in.reindex.Reindex(ctx, KindAgreement, d.AgreementID)
}

func (in *Intake) optOut(ctx context.Context, d OptOutData, by string) error {
	chans := []domain.Channel{domain.Channel(d.Channel)}
	if d.Channel == "all" {
		chans = domain.Channels
	}
	now := in.clock.Now()
	return in.updateSuppressions(ctx, d.BorrowerID, by, func(s *domain.Suppressions) error {
		for _, ch := range chans {
			s.OptOuts = addOptOut(s.OptOuts, domain.OptOut{Channel: ch, Source: "event", At: now})
		}
		return nil
	})
}

func (in *Intake) cease(ctx context.Context, d CeasedData, by string) error {
	now := in.clock.Now()
	return in.updateSuppressions(ctx, d.BorrowerID, by, func(s *domain.Suppressions) error {
		if s.Ceased == nil {
			s.Ceased = &now
		}
		return nil
	})
}

// updateSuppressions is the one way intake changes a borrower's
// suppressions: compare-and-set, with expired mutes pruned first so that
// the record holds only what is in force. Then what changed is recorded
// in the suppression history, made by by (a token name, an event, a
// provider).
//
// The history is written after the suppression, which is what stops
// sends and must not wait on it. A history write that still fails after
// retries is logged, and the suppression stands: retrying the whole change
// would find nothing left to record.
func (in *Intake) updateSuppressions(ctx context.Context, borrowerID, by string, change func(*domain.Suppressions) error) error {
	var before, after domain.Suppressions
	now := in.clock.Now()
	_, err := in.state.UpdateSuppressions(ctx, borrowerID, func(s *domain.Suppressions) error {
		before = s.Clone()
		*s = s.Active(now)
		if err := change(s); err != nil {
			return err
		}
		after = s.Clone()
		return nil
	})
	if err != nil || in.history == nil {
		return err
	}
	changes := domain.SuppressionChanges(before, after, now, by)
	if len(changes) == 0 {
		return nil
	}
	if err := store.Retry(ctx, func(ctx context.Context) error { return in.history.RecordSuppressionChanges(ctx, changes) }); err != nil {
		in.log.WithError(err).WithField(logging.FieldBorrower, borrowerID).Error("suppression changed but its history was not recorded")
	}
	return nil
}

// maxAddressOptOuts bounds a channel's opt-outs of single addresses; past
// it they fold into one opt-out of the whole channel, which stops at least
// as much, so an opt-out is never refused and the record stays bounded.
const maxAddressOptOuts = 32

func addOptOut(list []domain.OptOut, o domain.OptOut) []domain.OptOut {
	addresses := 0
	for _, have := range list {
		if have.Channel != o.Channel {
			continue
		}
		if have.Address == o.Address {
			return list
		}
		if have.Address != "" {
			addresses++
		}
	}
	if o.Address != "" && addresses >= maxAddressOptOuts {
		folded := domain.OptOut{Channel: o.Channel, Source: o.Source + " (folded: too many opted-out addresses)", At: o.At}
		return addOptOut(list, folded)
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
