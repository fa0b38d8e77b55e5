package app

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/simulate"
)

// liveSample draws borrowers for a dry run from the live state: the most
// recently changed borrowers, read by subject from the borrowers bucket's
// stream (no consumer is made), with their cases, agreements and
// suppressions as they stand. It writes nothing.
type liveSample struct {
	state  *store.State
	reader *store.Reader
}

// SampleBorrowers implements simulate.LiveState: up to n borrowers that
// have at least one loan.
func (l liveSample) SampleBorrowers(ctx context.Context, n int) ([]simulate.Borrower, error) {
	bucket := store.BorrowersBucket
	// A key's older revisions and deletions are in the stream too: read
	// more than n messages, newest first, and keep each key's newest.
	msgs, err := l.reader.Last(ctx, store.KVStream(bucket), "$KV."+bucket+".>", 4*n)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []simulate.Borrower
	for i := len(msgs) - 1; i >= 0 && len(out) < n; i-- {
		m := msgs[i]
		if seen[m.Subject] {
			continue
		}
		seen[m.Subject] = true
		if op := m.Header.Get("KV-Operation"); op != "" {
			continue // deleted or purged
		}
		var b domain.Borrower
		if json.Unmarshal(m.Data, &b) != nil || b.ID == "" {
			continue
		}
		sb, ok, err := l.borrower(ctx, b)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, sb)
		}
	}
	return out, nil
}

// borrower is b as a dry run's population has it: false when b has no
// case left.
func (l liveSample) borrower(ctx context.Context, b domain.Borrower) (simulate.Borrower, bool, error) {
	sb := simulate.Borrower{BorrowerData: intake.BorrowerData{BorrowerID: b.ID, Name: b.Name, Locale: b.Locale,
		Timezone: b.Timezone, Phone: b.Phone, Email: b.Email, Blackouts: b.Blackouts, PhoneKind: b.PhoneKind}}
	// The facts the contact rules decide on, as stored: the number's last
	// check and the consents on record.
	if b.PhoneCheckedAt != nil && b.PhoneCheck != "" {
		sb.PhoneCheckedAt, sb.PhoneCheck = b.PhoneCheckedAt.Format(time.RFC3339Nano), b.PhoneCheck
	}
	for _, c := range b.Consents {
		sb.Consents = append(sb.Consents, intake.ConsentData{BorrowerID: b.ID, Channel: string(c.Channel), At: c.At.Format(time.RFC3339Nano)})
	}
	agreements := map[string]bool{}
	for _, id := range b.LoanIDs {
		c, err := l.state.Case(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return sb, false, err
		}
		sb.Loans = append(sb.Loans, simulate.Loan{LoanData: intake.LoanData{BorrowerID: b.ID, LoanID: c.LoanID, DueDate: c.DueDate,
			AmountDue: c.AmountDue, Currency: c.Currency, Status: c.Status, Policy: c.Policy}})
		if c.AgreementID != "" && !agreements[c.AgreementID] {
			agreements[c.AgreementID] = true
			a, err := l.state.Agreement(ctx, c.AgreementID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return sb, false, err
			}
			if err == nil && a.Status == domain.AgreementActive {
				sb.Agreements = append(sb.Agreements, simulate.Agreement{AgreementData: intake.AgreementData{BorrowerID: b.ID,
					AgreementID: a.ID, Kind: a.Kind, LoanIDs: a.LoanIDs, Installments: a.Installments}})
			}
		}
	}
	if len(sb.Loans) == 0 {
		return sb, false, nil
	}
	sup, err := l.state.Suppressions(ctx, b.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return sb, false, err
	}
	now := time.Now()
	for _, m := range sup.Active(now).Mutes {
		sb.Mutes = append(sb.Mutes, simulate.Mute{Channels: m.Channels, Until: m.Until})
	}
	for _, o := range sup.OptOuts {
		sb.OptedOut = append(sb.OptedOut, o.Channel)
	}
	sb.Ceased = sup.Ceased != nil
	return sb, true, nil
}
