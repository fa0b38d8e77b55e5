package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/domain"
)

// ErrNotFound is returned for a borrower, case or agreement that does not
// exist.
var ErrNotFound = errors.New("not found")

// State is typed access to the state buckets.
type State struct {
	Borrowers  jetstream.KeyValue
	Cases      jetstream.KeyValue
	Agreements jetstream.KeyValue
	// Phones maps a phone number to the borrowers who have it (inbound
	// SMS opt-outs, search).
	Phones jetstream.KeyValue
	// Emails maps a lower-case email address to the borrowers who have it
	// (search).
	Emails jetstream.KeyValue
	// SuppressionKV has no direct get: reads come from the stream leader.
	SuppressionKV jetstream.KeyValue
}

// OpenState binds the state buckets (Setup must have run). Every bucket is
// leader-backed (see LeaderBacked): what intake reads to decide a write is
// never a stale replica's answer.
func OpenState(ctx context.Context, js jetstream.JetStream) (*State, error) {
	var s State
	for name, dst := range map[string]*jetstream.KeyValue{
		BorrowersBucket: &s.Borrowers, CasesBucket: &s.Cases,
		AgreementsBucket: &s.Agreements, SuppressionsBucket: &s.SuppressionKV, PhonesBucket: &s.Phones,
		EmailsBucket: &s.Emails,
	} {
		kv, err := OpenBucket(ctx, js, name)
		if err != nil {
			return nil, err
		}
		*dst = kv
	}
	return &s, nil
}

// Borrower reads a borrower.
func (s *State) Borrower(ctx context.Context, id string) (domain.Borrower, error) {
	var b domain.Borrower
	_, err := getJSON(ctx, s.Borrowers, Token(id), &b)
	return b, err
}

// UpdateBorrower changes a borrower with compare-and-set (see UpdateJSON).
// change gets the stored borrower, or one with an empty ID when there is
// none, and returns whether to write; the ID is set before the write. It
// returns the revision written (0 when change wrote nothing).
func (s *State) UpdateBorrower(ctx context.Context, id string, change func(*domain.Borrower) (bool, error)) (uint64, error) {
	return UpdateJSON(ctx, s.Borrowers, Token(id), func(b *domain.Borrower) (bool, error) {
		write, err := change(b)
		b.ID = id
		return write, err
	})
}

// PutBorrower writes a whole borrower over whatever is stored. It is for
// seeding (tests, imports): a change that depends on what is stored goes
// through UpdateBorrower.
func (s *State) PutBorrower(ctx context.Context, b domain.Borrower) error {
	return putJSON(ctx, s.Borrowers, Token(b.ID), b)
}

// Case reads a case by loan id.
func (s *State) Case(ctx context.Context, loanID string) (domain.Case, error) {
	var c domain.Case
	_, err := getJSON(ctx, s.Cases, Token(loanID), &c)
	return c, err
}

// UpdateCase changes a case with compare-and-set (see UpdateJSON). change
// gets the stored case, or one with an empty LoanID when there is none,
// and returns whether to write; the LoanID is set before the write. It
// returns the revision written (0 when change wrote nothing).
func (s *State) UpdateCase(ctx context.Context, loanID string, change func(*domain.Case) (bool, error)) (uint64, error) {
	return UpdateJSON(ctx, s.Cases, Token(loanID), func(c *domain.Case) (bool, error) {
		write, err := change(c)
		c.LoanID = loanID
		return write, err
	})
}

// PutCase writes a whole case over whatever is stored: for seeding only
// (see PutBorrower).
func (s *State) PutCase(ctx context.Context, c domain.Case) error {
	return putJSON(ctx, s.Cases, Token(c.LoanID), c)
}

// Agreement reads an agreement.
func (s *State) Agreement(ctx context.Context, id string) (domain.Agreement, error) {
	var a domain.Agreement
	_, err := getJSON(ctx, s.Agreements, Token(id), &a)
	return a, err
}

// UpdateAgreement changes an agreement with compare-and-set (see
// UpdateJSON). change gets the stored agreement, or one with an empty ID
// when there is none, and returns whether to write; the ID is set before
// the write.
func (s *State) UpdateAgreement(ctx context.Context, id string, change func(*domain.Agreement) (bool, error)) error {
	_, err := UpdateJSON(ctx, s.Agreements, Token(id), func(a *domain.Agreement) (bool, error) {
		write, err := change(a)
		a.ID = id
		return write, err
	})
	return err
}

// PutAgreement writes a whole agreement over whatever is stored: for
// seeding only (see PutBorrower).
func (s *State) PutAgreement(ctx context.Context, a domain.Agreement) error {
	return putJSON(ctx, s.Agreements, Token(a.ID), a)
}

// BorrowersByPhone returns the borrowers whose phone is phone.
func (s *State) BorrowersByPhone(ctx context.Context, phone string) ([]string, error) {
	return s.indexed(ctx, s.Phones, Token(phone))
}

// IndexPhone moves a borrower from oldPhone's entry to newPhone's (either
// may be empty).
func (s *State) IndexPhone(ctx context.Context, borrowerID, oldPhone, newPhone string) error {
	return s.moveIndexed(ctx, s.Phones, borrowerID, phoneKey(oldPhone), phoneKey(newPhone))
}

// BorrowersByEmail returns the borrowers whose email is email, compared
// without regard to case.
func (s *State) BorrowersByEmail(ctx context.Context, email string) ([]string, error) {
	return s.indexed(ctx, s.Emails, emailKey(email))
}

// IndexEmail moves a borrower from oldEmail's entry to newEmail's (either
// may be empty). Addresses that differ only in case share one entry.
func (s *State) IndexEmail(ctx context.Context, borrowerID, oldEmail, newEmail string) error {
	return s.moveIndexed(ctx, s.Emails, borrowerID, emailKey(oldEmail), emailKey(newEmail))
}

func phoneKey(phone string) string {
	if phone == "" {
		return ""
	}
	return Token(phone)
}

func emailKey(email string) string {
	if email == "" {
		return ""
	}
	return Token(strings.ToLower(email))
}

// indexed reads the borrower ids of an index entry; none when it is
// missing.
func (s *State) indexed(ctx context.Context, kv jetstream.KeyValue, key string) ([]string, error) {
	var ids []string
	_, err := getJSON(ctx, kv, key, &ids)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return ids, err
}

// moveIndexed takes a borrower out of the entry at oldKey and puts it in
// the one at newKey ("" skips either). Each is a compare-and-set that
// writes only when the entry changes.
func (s *State) moveIndexed(ctx context.Context, kv jetstream.KeyValue, borrowerID, oldKey, newKey string) error {
	if oldKey != "" && oldKey != newKey {
		if err := s.updateIDs(ctx, kv, oldKey, func(ids []string) []string {
			return slices.DeleteFunc(ids, func(id string) bool { return id == borrowerID })
		}); err != nil {
			return err
		}
	}
	if newKey != "" {
		return s.updateIDs(ctx, kv, newKey, func(ids []string) []string {
			if slices.Contains(ids, borrowerID) {
				return ids
			}
			return append(ids, borrowerID)
		})
	}
	return nil
}

func (s *State) updateIDs(ctx context.Context, kv jetstream.KeyValue, key string, change func([]string) []string) error {
	_, err := UpdateJSON(ctx, kv, key, func(ids *[]string) (bool, error) {
		before := slices.Clone(*ids)
		*ids = change(*ids)
		return !slices.Equal(before, *ids), nil
	})
	return err
}

// Suppressions reads a borrower's suppressions from the stream leader (the
// bucket has no direct get). A borrower with none gets an empty value.
func (s *State) Suppressions(ctx context.Context, borrowerID string) (domain.Suppressions, error) {
	sup := domain.Suppressions{BorrowerID: borrowerID}
	// One leader read: a miss needs no second opinion.
	if _, err := getJSONFrom(ctx, s.SuppressionKV, Token(borrowerID), &sup, true, true); err != nil && !errors.Is(err, ErrNotFound) {
		return sup, err
	}
	return sup, nil
}

// UpdateSuppressions applies change to a borrower's suppressions with
// optimistic concurrency, retrying when another writer got there first. It
// returns the stream sequence of the write, which is when the change took
// effect for every fence.
//
// A record left with no suppression in force (a note of changes), or with
// only mutes that end, is written to expire domain.ChangesKeep after the
// last of them (domain.Suppressions.Expiry): the bucket, and every
// fence's copy of it, do not grow with every borrower ever changed or
// muted for a while.
func (s *State) UpdateSuppressions(ctx context.Context, borrowerID string, change func(*domain.Suppressions) error) (uint64, error) {
	return Bucket[domain.Suppressions]{kv: s.SuppressionKV}.UpdateExpiring(ctx, Token(borrowerID), func(sup *domain.Suppressions) (bool, error) {
		sup.BorrowerID = borrowerID
		return true, change(sup)
	}, func(sup domain.Suppressions) time.Duration { return sup.Expiry(time.Now()) })
}
