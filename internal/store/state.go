package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/domain"
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
	// SMS opt-outs).
	Phones jetstream.KeyValue
	// SuppressionKV has no direct get: reads come from the stream leader.
	SuppressionKV jetstream.KeyValue
}

// OpenState binds the state buckets (Setup must have run).
func OpenState(ctx context.Context, js jetstream.JetStream) (*State, error) {
	var s State
	for name, dst := range map[string]*jetstream.KeyValue{
		BorrowersBucket: &s.Borrowers, CasesBucket: &s.Cases,
		AgreementsBucket: &s.Agreements, SuppressionsBucket: &s.SuppressionKV, PhonesBucket: &s.Phones,
	} {
		kv, err := js.KeyValue(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("store: bucket %s: %w", name, err)
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

// PutBorrower writes a borrower.
func (s *State) PutBorrower(ctx context.Context, b domain.Borrower) error {
	return putJSON(ctx, s.Borrowers, Token(b.ID), b)
}

// Case reads a case by loan id.
func (s *State) Case(ctx context.Context, loanID string) (domain.Case, error) {
	var c domain.Case
	_, err := getJSON(ctx, s.Cases, Token(loanID), &c)
	return c, err
}

// PutCase writes a case.
func (s *State) PutCase(ctx context.Context, c domain.Case) error {
	return putJSON(ctx, s.Cases, Token(c.LoanID), c)
}

// Agreement reads an agreement.
func (s *State) Agreement(ctx context.Context, id string) (domain.Agreement, error) {
	var a domain.Agreement
	_, err := getJSON(ctx, s.Agreements, Token(id), &a)
	return a, err
}

// PutAgreement writes an agreement.
func (s *State) PutAgreement(ctx context.Context, a domain.Agreement) error {
	return putJSON(ctx, s.Agreements, Token(a.ID), a)
}

// BorrowersByPhone returns the borrowers whose phone is phone.
func (s *State) BorrowersByPhone(ctx context.Context, phone string) ([]string, error) {
	var ids []string
	_, err := getJSON(ctx, s.Phones, Token(phone), &ids)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return ids, err
}

// IndexPhone moves a borrower from oldPhone's entry to newPhone's (either
// may be empty).
func (s *State) IndexPhone(ctx context.Context, borrowerID, oldPhone, newPhone string) error {
	if oldPhone != "" {
		if err := s.updateIDs(ctx, s.Phones, Token(oldPhone), func(ids []string) []string {
			return slices.DeleteFunc(ids, func(id string) bool { return id == borrowerID })
		}); err != nil {
			return err
		}
	}
	if newPhone != "" {
		return s.updateIDs(ctx, s.Phones, Token(newPhone), func(ids []string) []string {
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
		*ids = change(*ids)
		return true, nil
	})
	return err
}

// UpdateJSON is read-modify-write of one JSON value with compare-and-set:
// change gets the current value (the zero value when the key is missing)
// and returns whether to write; when another writer got there first, it
// runs again on the new value. It returns the revision written (0 when
// change chose not to write).
func UpdateJSON[T any](ctx context.Context, kv jetstream.KeyValue, key string, change func(*T) (bool, error)) (uint64, error) {
	for attempt := 0; attempt < 100; attempt++ {
		var v T
		rev, err := getJSON(ctx, kv, key, &v)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return 0, err
		}
		write, err := change(&v)
		if err != nil || !write {
			return 0, err
		}
		data, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		var seq uint64
		if rev == 0 {
			seq, err = kv.Create(ctx, key, data)
		} else {
			seq, err = kv.Update(ctx, key, data, rev)
		}
		if err == nil {
			return seq, nil
		}
		if !IsWrongSequence(err) {
			return 0, fmt.Errorf("store: write %s/%s: %w", kv.Bucket(), key, err)
		}
	}
	return 0, fmt.Errorf("store: %s/%s: too much write contention", kv.Bucket(), key)
}

// Suppressions reads a borrower's suppressions from the stream leader (the
// bucket has no direct get). A borrower with none gets an empty value.
func (s *State) Suppressions(ctx context.Context, borrowerID string) (domain.Suppressions, error) {
	sup := domain.Suppressions{BorrowerID: borrowerID}
	if _, err := getJSON(ctx, s.SuppressionKV, Token(borrowerID), &sup); err != nil && !errors.Is(err, ErrNotFound) {
		return sup, err
	}
	return sup, nil
}

// UpdateSuppressions applies change to a borrower's suppressions with
// optimistic concurrency, retrying when another writer got there first. It
// returns the stream sequence of the write, which is when the change took
// effect for every fence.
func (s *State) UpdateSuppressions(ctx context.Context, borrowerID string, change func(*domain.Suppressions) error) (uint64, error) {
	return UpdateJSON(ctx, s.SuppressionKV, Token(borrowerID), func(sup *domain.Suppressions) (bool, error) {
		sup.BorrowerID = borrowerID
		return true, change(sup)
	})
}

// IsWrongSequence reports a failed compare-and-set: another writer changed
// the key first.
func IsWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

func getJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) (uint64, error) {
	e, err := kv.Get(ctx, key)
	if IsNotFound(err) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: get %s/%s: %w", kv.Bucket(), key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("store: decode %s/%s: %w", kv.Bucket(), key, err)
	}
	return e.Revision(), nil
}

func putJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("store: put %s/%s: %w", kv.Bucket(), key, err)
	}
	return nil
}
