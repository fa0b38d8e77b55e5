package simulate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
)

// under places a field error under a JSON path.
func under(path string, err error) error {
	var pe *PopulationError
	if errors.As(err, &pe) {
		return &PopulationError{Field: path + "." + pe.Field, Message: pe.Message}
	}
	return &PopulationError{Field: path, Message: err.Error()}
}

// fromIntake turns intake's field error ("data.phone") into the
// population's ("phone").
func fromIntake(err error) error {
	if err == nil {
		return nil
	}
	var fe *intake.FieldError
	if errors.As(err, &fe) {
		return &PopulationError{Field: strings.TrimPrefix(fe.Field, "data."), Message: fe.Message}
	}
	return &PopulationError{Message: err.Error()}
}

func checkBorrower(d intake.BorrowerData) error { return fromIntake(d.Validate()) }

// checkConsent checks a consent of borrower id as intake checks
// borrower.consented; a population's consent must say when it was given.
func checkConsent(id string, c intake.ConsentData) error {
	if c.BorrowerID == "" {
		c.BorrowerID = id
	}
	if c.BorrowerID != id {
		return &PopulationError{Field: "borrower_id", Message: "names another borrower"}
	}
	if err := fromIntake(c.Validate()); err != nil {
		return err
	}
	if c.At == "" {
		return &PopulationError{Field: "at", Message: "is required: when the borrower consented (RFC 3339)"}
	}
	return nil
}

func checkLoan(l Loan) error {
	if err := fromIntake(l.Validate()); err != nil {
		return err
	}
	return checkDay("paid_on", l.PaidOn)
}

func checkDay(field, s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return &PopulationError{Field: field, Message: "must be YYYY-MM-DD, got " + shortText(s)}
	}
	return nil
}

func shortText(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// Validate checks every borrower, loan and agreement as intake would, and
// the population's own rules: ids unique, an agreement's loans among the
// borrower's, at most MaxBorrowers borrowers.
func (p Population) Validate() error {
	if len(p.Borrowers) == 0 {
		return &PopulationError{Field: "borrowers", Message: "no borrowers"}
	}
	if len(p.Borrowers) > MaxBorrowers {
		return &PopulationError{Field: "borrowers", Message: fmt.Sprintf("has %d borrowers, more than the %d one run takes", len(p.Borrowers), MaxBorrowers)}
	}
	for i, b := range p.Borrowers {
		if err := b.validate(); err != nil {
			return under(fmt.Sprintf("borrowers[%d]", i), err)
		}
	}
	return p.checkUnique()
}

func (b Borrower) validate() error {
	if err := checkBorrower(b.BorrowerData); err != nil {
		return err
	}
	if len(b.Loans) == 0 {
		return &PopulationError{Field: "loans", Message: "a borrower needs at least one loan"}
	}
	if len(b.Loans) > MaxLoans {
		return &PopulationError{Field: "loans", Message: fmt.Sprintf("has %d loans, more than the %d allowed", len(b.Loans), MaxLoans)}
	}
	loans := map[string]bool{}
	for i, l := range b.Loans {
		path := fmt.Sprintf("loans[%d]", i)
		if l.BorrowerID == "" {
			l.BorrowerID = b.BorrowerID
		}
		if l.BorrowerID != b.BorrowerID {
			return &PopulationError{Field: path + ".borrower_id", Message: "names another borrower"}
		}
		if err := checkLoan(l); err != nil {
			return under(path, err)
		}
		if loans[l.LoanID] {
			return &PopulationError{Field: path + ".loan_id", Message: "loan " + shortText(l.LoanID) + " is listed twice"}
		}
		loans[l.LoanID] = true
	}
	if len(b.Agreements) > MaxAgreements {
		return &PopulationError{Field: "agreements", Message: fmt.Sprintf("has %d agreements, more than the %d allowed", len(b.Agreements), MaxAgreements)}
	}
	for i, a := range b.Agreements {
		path := fmt.Sprintf("agreements[%d]", i)
		if a.BorrowerID == "" {
			a.BorrowerID = b.BorrowerID
		}
		if a.BorrowerID != b.BorrowerID {
			return &PopulationError{Field: path + ".borrower_id", Message: "names another borrower"}
		}
		if err := fromIntake(a.Validate()); err != nil {
			return under(path, err)
		}
		for j, id := range a.LoanIDs {
			if !loans[id] {
				return &PopulationError{Field: fmt.Sprintf("%s.loan_ids[%d]", path, j), Message: "not a loan of this borrower"}
			}
		}
		if err := checkDay("activated_on", a.ActivatedOn); err != nil {
			return under(path, err)
		}
	}
	for i, m := range b.Mutes {
		for j, ch := range m.Channels {
			if !ch.Valid() {
				return &PopulationError{Field: fmt.Sprintf("mutes[%d].channels[%d]", i, j), Message: "must be sms, voice, email or inapp"}
			}
		}
	}
	for i, ch := range b.OptedOut {
		if !ch.Valid() {
			return &PopulationError{Field: fmt.Sprintf("opted_out[%d]", i), Message: "must be sms, voice, email or inapp"}
		}
	}
	if len(b.Consents) > MaxConsents {
		return &PopulationError{Field: "consents", Message: fmt.Sprintf("has %d consents, more than the %d allowed", len(b.Consents), MaxConsents)}
	}
	for i, c := range b.Consents {
		if err := checkConsent(b.BorrowerID, c); err != nil {
			return under(fmt.Sprintf("consents[%d]", i), err)
		}
	}
	return nil
}

// checkUnique refuses a borrower, loan or agreement id used twice.
func (p Population) checkUnique() error {
	borrowers := make(map[string]int, len(p.Borrowers))
	loans := map[string]string{}
	agreements := map[string]bool{}
	for i, b := range p.Borrowers {
		if prev, dup := borrowers[b.BorrowerID]; dup {
			return &PopulationError{Field: fmt.Sprintf("borrowers[%d].borrower_id", i), Message: fmt.Sprintf("also borrowers[%d]'s", prev)}
		}
		borrowers[b.BorrowerID] = i
		for j, l := range b.Loans {
			if owner, dup := loans[l.LoanID]; dup && owner != b.BorrowerID {
				return &PopulationError{Field: fmt.Sprintf("borrowers[%d].loans[%d].loan_id", i, j), Message: "loan belongs to borrower " + shortText(owner)}
			}
			loans[l.LoanID] = b.BorrowerID
		}
		for j, a := range b.Agreements {
			if agreements[a.AgreementID] {
				return &PopulationError{Field: fmt.Sprintf("borrowers[%d].agreements[%d].agreement_id", i, j), Message: "agreement id used twice"}
			}
			agreements[a.AgreementID] = true
		}
	}
	return nil
}
