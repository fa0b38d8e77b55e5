package simulate

import (
	"bytes"
	"fmt"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/domain"
)

// Population limits: what one dry run takes.
const (
	// MaxBorrowers bounds a population file or a generated population.
	MaxBorrowers = 1_000_000
	// MaxLoans bounds one borrower's loans (intake keeps at most 500).
	MaxLoans = intake.MaxLoansPerBorrower
	// MaxAgreements bounds one borrower's agreements.
	MaxAgreements = intake.MaxActiveAgreements
	// MaxConsents bounds one borrower's consents (a run may span years;
	// intake keeps the recent ones, domain.MaxConsents).
	MaxConsents = 100
)

// Population is the borrowers a dry run simulates. Its JSON form is a
// file or a request body:
//
//	{"borrowers": [{"borrower_id": "b-1", "name": "Li Lei", "locale": "zh-CN",
//	   "timezone": "Asia/Shanghai", "phone": "+8613800000001", "email": "l@example.com",
//	   "blackouts": [{"start": "12:00", "end": "14:00"}],
//	   "phone_kind": "mobile", "phone_checked_at": "2026-11-02T10:00:00+08:00",
//	   "phone_check": "reassigned_number_check",
//	   "consents": [{"channel": "voice", "at": "2026-12-03T15:00:00+08:00"}],
//	   "loans": [{"loan_id": "L-1", "due_date": "2026-11-20", "amount_due": "1200.00",
//	              "currency": "CNY", "status": "overdue", "policy": "standard",
//	              "paid_on": "2026-12-10"}],
//	   "agreements": [{"agreement_id": "A-1", "kind": "installment", "loan_ids": ["L-1"],
//	              "installments": [{"due_date": "2026-12-05", "amount": "600.00"}],
//	              "activated_on": "2026-12-01"}],
//	   "mutes": [{"channels": ["voice"], "until": "2027-01-01T00:00:00Z"}],
//	   "opted_out": ["email"], "ceased": false}]}
//
// Borrower, loan, agreement and consent fields are those of the
// borrower.upserted, loan.updated, agreement.activated and
// borrower.consented events, checked as intake checks them, and stored on
// the borrower as intake stores them (intake.BorrowerData.ApplyTo,
// intake.AddConsent): the phone kind, the number's last check and the
// consents decide the rules of us-regf and us-ma as they do live. paid_on
// (a loan is paid at 00:00 of that day in the borrower's zone) and
// activated_on (the agreement starts then; without it, it is active from
// the start) change the population during the run; so do a
// phone_checked_at or a consent's at (required in a population) that
// falls after the run's start: they arrive at that instant, as the event
// would.
type Population struct {
	Borrowers []Borrower `json:"borrowers"`
}

// Borrower is one borrower of a population with everything that decides
// their reminders.
type Borrower struct {
	intake.BorrowerData
	Loans      []Loan      `json:"loans"`
	Agreements []Agreement `json:"agreements,omitempty"`
	// Mutes are mutes in force from the start.
	Mutes []Mute `json:"mutes,omitempty"`
	// OptedOut are channels the borrower opted out of.
	OptedOut []domain.Channel `json:"opted_out,omitempty"`
	// Ceased: the borrower asked for collection communication to cease.
	Ceased bool `json:"ceased,omitempty"`
	// Consents are the borrower's consents to be contacted on a channel
	// (borrower.consented; borrower_id may be left out, at is required).
	Consents []intake.ConsentData `json:"consents,omitempty"`
}

// Loan is one loan of a borrower.
type Loan struct {
	intake.LoanData
	// PaidOn, when set, is the day the loan is paid (YYYY-MM-DD).
	PaidOn string `json:"paid_on,omitempty"`
}

// Agreement is one agreement of a borrower.
type Agreement struct {
	intake.AgreementData
	// ActivatedOn, when set, is the day the agreement starts
	// (YYYY-MM-DD); before it the loans are collected as usual.
	ActivatedOn string `json:"activated_on,omitempty"`
}

// Mute is a mute in force from the start of the run.
type Mute struct {
	Channels []domain.Channel `json:"channels,omitempty"`
	Until    *time.Time       `json:"until,omitempty"`
}

// PopulationError is a population that cannot be simulated, naming where:
// the CSV line (from 1, the header included) and column, or the JSON path
// ("borrowers[2].loans[0].due_date").
type PopulationError struct {
	Line    int // CSV line; 0 for JSON
	Field   string
	Message string
}

func (e *PopulationError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("population line %d, column %s: %s", e.Line, e.Field, e.Message)
	}
	if e.Field == "" {
		return "population: " + e.Message
	}
	return "population " + e.Field + ": " + e.Message
}

// Path names where the problem is as one field path: "borrowers[2].name",
// or "line[5].due_date" in a CSV file.
func (e *PopulationError) Path() string {
	if e.Line > 0 {
		return fmt.Sprintf("line[%d].%s", e.Line, e.Field)
	}
	return e.Field
}

// ParsePopulation reads a population file: JSON (an object with
// "borrowers") or CSV (a header line, then one line per loan), told apart
// by the first character. Every borrower is checked; the first problem is
// a *PopulationError.
func ParsePopulation(data []byte) (Population, error) {
	return parsePopulation(data, MaxBorrowers)
}

// parsePopulation is ParsePopulation taking at most limit borrowers.
func parsePopulation(data []byte, limit int) (Population, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return Population{}, &PopulationError{Message: "empty"}
	}
	if trimmed[0] == '{' {
		return parseJSON(trimmed, limit)
	}
	return parseCSV(bytes.NewReader(data), limit)
}
