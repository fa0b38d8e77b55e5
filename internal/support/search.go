package support

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/phone"
	"github.com/forbear/forbear/internal/ground/store"
)

// Search bounds.
const (
	// MaxQuery bounds a query, in bytes.
	MaxQuery = 256
	// MaxMatches bounds the matches Search returns (an email or number
	// that many borrowers share, say).
	MaxMatches = 50
	// maxReads bounds the borrowers one search reads, matching or not (an
	// index entry may name borrowers that have moved on).
	maxReads = 4 * MaxMatches
)

// What a Match matched.
const (
	FieldID    = "id"
	FieldLoan  = "loan_id"
	FieldEmail = "email"
	FieldPhone = "phone"
)

// ErrQuery is a query Search cannot take (empty, too long, not UTF-8).
var ErrQuery = errors.New("bad search query")

// Match is one borrower a query found.
type Match struct {
	BorrowerID string `json:"borrower_id"`
	Name       string `json:"name"`
	// Field is what matched: id, loan_id, email or phone.
	Field string `json:"field"`
	// LoanID is the loan that matched (field loan_id).
	LoanID string `json:"loan_id,omitempty"`
}

// Search finds the borrowers query names: a borrower id, a loan id (its
// borrower), an email address (any case) or a phone number (any format; see
// phone.Normalize), tried in that order. A borrower is listed once, under
// the first field that matched; at most MaxMatches are returned. Nothing
// matching is an empty list, not an error.
func (s *Service) Search(ctx context.Context, query string) ([]Match, error) {
	q := strings.TrimSpace(query)
	switch {
	case q == "":
		return nil, fmt.Errorf("%w: it is empty", ErrQuery)
	case len(q) > MaxQuery:
		return nil, fmt.Errorf("%w: it is %d bytes, more than the %d allowed", ErrQuery, len(q), MaxQuery)
	case !utf8.ValidString(q):
		return nil, fmt.Errorf("%w: it is not UTF-8 text", ErrQuery)
	}
	found := &matches{out: []Match{}, seen: map[string]bool{}}
	st := s.o.State

	if b, err := st.Borrower(ctx, q); err == nil {
		found.add(b, FieldID, "")
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, hide("borrower", err)
	}
	if c, err := st.Case(ctx, q); err == nil {
		if err := found.lookup(ctx, st, []string{c.BorrowerID}, FieldLoan, c.LoanID, nil); err != nil {
			return nil, hide("borrower", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, hide("case", err)
	}
	if strings.Contains(q, "@") {
		ids, err := st.BorrowersByEmail(ctx, q)
		if err != nil {
			return nil, hide("email index", err)
		}
		// The index is kept by intake; the borrower's record decides.
		still := func(b domain.Borrower) bool { return strings.EqualFold(b.Email, q) }
		if err := found.lookup(ctx, st, ids, FieldEmail, "", still); err != nil {
			return nil, hide("borrower", err)
		}
	}
	if number, err := phone.Normalize(q, s.o.PhoneRegion); err == nil {
		ids, err := st.BorrowersByPhone(ctx, number)
		if err != nil {
			return nil, hide("phone index", err)
		}
		still := func(b domain.Borrower) bool { return b.Phone == number }
		if err := found.lookup(ctx, st, ids, FieldPhone, "", still); err != nil {
			return nil, hide("borrower", err)
		}
	}
	return found.out, nil
}

// lookupError is a failed read of a search. Its message leaves out the key
// read, which is the query (a phone number or an email, perhaps), as the
// store's own errors name it; errors.Is and As still reach the cause.
type lookupError struct {
	what string
	err  error
}

// hide wraps err as a lookupError.
func hide(what string, err error) error { return &lookupError{what: what, err: err} }

func (e *lookupError) Error() string {
	root := e.err
	for next := errors.Unwrap(root); next != nil; next = errors.Unwrap(root) {
		root = next
	}
	return "support: search: reading the " + e.what + " failed: " + logging.Scrub(root.Error())
}

func (e *lookupError) Unwrap() error { return e.err }

// matches collects a search's results, one per borrower, up to MaxMatches.
type matches struct {
	out   []Match
	seen  map[string]bool
	reads int
}

func (m *matches) full() bool { return len(m.out) >= MaxMatches || m.reads >= maxReads }

func (m *matches) add(b domain.Borrower, field, loanID string) {
	if m.seen[b.ID] || m.full() {
		return
	}
	m.seen[b.ID] = true
	m.out = append(m.out, Match{BorrowerID: b.ID, Name: b.Name, Field: field, LoanID: loanID})
}

// lookup reads the borrowers ids (for their names) and adds those that
// still match (keep nil: all). A borrower gone from the store is left
// out.
func (m *matches) lookup(ctx context.Context, st *store.State, ids []string, field, loanID string, keep func(domain.Borrower) bool) error {
	for _, id := range ids {
		if m.full() {
			return nil
		}
		if m.seen[id] {
			continue
		}
		m.reads++
		b, err := st.Borrower(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if keep == nil || keep(b) {
			m.add(b, field, loanID)
		}
	}
	return nil
}
