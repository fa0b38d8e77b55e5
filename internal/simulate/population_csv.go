package simulate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/forbear/forbear/dispatcher/intake"
)

// CSVColumns are the columns of a population CSV file, one line per loan;
// a borrower's lines repeat the borrower's columns (borrower_id to email,
// and phone_kind to consented_at), which must agree. Only borrower_id,
// loan_id, due_date, amount_due, currency and status must have values;
// the header may list the columns in any order and leave out the optional
// ones. phone_kind, phone_checked_at and phone_check are the fields of
// borrower.upserted; consent_channel and consented_at are one consent of
// the borrower (borrower.consented), both or neither.
var CSVColumns = []string{"borrower_id", "name", "locale", "timezone", "phone", "email",
	"loan_id", "due_date", "amount_due", "currency", "status", "policy", "paid_on",
	"phone_kind", "phone_checked_at", "phone_check", "consent_channel", "consented_at"}

var requiredColumns = []string{"borrower_id", "loan_id", "due_date", "amount_due", "currency", "status"}

// ParseCSV reads the CSV form of a population (see CSVColumns).
func ParseCSV(r io.Reader) (Population, error) {
	return parseCSV(r, MaxBorrowers)
}

// parseCSV is ParseCSV taking at most limit borrowers: it stops at the
// line of the first borrower beyond.
func parseCSV(r io.Reader, limit int) (Population, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return Population{}, &PopulationError{Line: 1, Field: "header", Message: "cannot read the header: " + err.Error()}
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(CSVColumns, h) {
			return Population{}, &PopulationError{Line: 1, Field: h, Message: "unknown column (want " + strings.Join(CSVColumns, ", ") + ")"}
		}
		if _, dup := col[h]; dup {
			return Population{}, &PopulationError{Line: 1, Field: h, Message: "column given twice"}
		}
		col[h] = i
	}
	for _, h := range requiredColumns {
		if _, ok := col[h]; !ok {
			return Population{}, &PopulationError{Line: 1, Field: h, Message: "required column missing"}
		}
	}
	var p Population
	index := map[string]int{} // borrower id -> index in p.Borrowers
	lines := map[string]int{} // borrower id -> its first line
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return Population{}, &PopulationError{Line: max(line, 1), Field: "line", Message: err.Error()}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return Population{}, &PopulationError{Line: line, Field: "line", Message: fmt.Sprintf("has %d columns, the header %d", len(rec), len(header))}
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		b := Borrower{BorrowerData: intake.BorrowerData{BorrowerID: get("borrower_id"), Name: get("name"), Locale: get("locale"),
			Timezone: get("timezone"), Phone: get("phone"), Email: get("email"),
			PhoneKind: get("phone_kind"), PhoneCheckedAt: get("phone_checked_at"), PhoneCheck: get("phone_check")}}
		if ch, at := get("consent_channel"), get("consented_at"); ch != "" || at != "" {
			b.Consents = []intake.ConsentData{{BorrowerID: b.BorrowerID, Channel: ch, At: at}}
		}
		loan := Loan{LoanData: intake.LoanData{BorrowerID: b.BorrowerID, LoanID: get("loan_id"), DueDate: get("due_date"),
			AmountDue: get("amount_due"), Currency: get("currency"), Status: get("status"), Policy: get("policy")}, PaidOn: get("paid_on")}
		if err := checkBorrower(b.BorrowerData); err != nil {
			return Population{}, atLine(line, err)
		}
		if len(b.Consents) > 0 {
			if err := checkConsent(b.BorrowerID, b.Consents[0]); err != nil {
				return Population{}, atLine(line, csvConsentField(err))
			}
		}
		if err := checkLoan(loan); err != nil {
			return Population{}, atLine(line, err)
		}
		i, seen := index[b.BorrowerID]
		if !seen {
			if len(p.Borrowers) >= limit {
				return Population{}, &PopulationError{Line: line, Field: "borrower_id", Message: fmt.Sprintf("more than the %d borrowers one run takes", limit)}
			}
			index[b.BorrowerID], lines[b.BorrowerID] = len(p.Borrowers), line
			p.Borrowers = append(p.Borrowers, b)
			i = len(p.Borrowers) - 1
		} else if f := differs(p.Borrowers[i], b); f != "" {
			return Population{}, &PopulationError{Line: line, Field: f, Message: fmt.Sprintf("differs from line %d of the same borrower", lines[b.BorrowerID])}
		}
		if len(p.Borrowers[i].Loans) >= MaxLoans {
			return Population{}, &PopulationError{Line: line, Field: "loan_id", Message: fmt.Sprintf("borrower has more than %d loans", MaxLoans)}
		}
		p.Borrowers[i].Loans = append(p.Borrowers[i].Loans, loan)
	}
	if len(p.Borrowers) == 0 {
		return Population{}, &PopulationError{Line: 2, Field: "borrower_id", Message: "no borrowers: the file has a header only"}
	}
	if err := p.checkUnique(); err != nil {
		return Population{}, err
	}
	return p, nil
}

// differs names the first borrower column in which two lines of one
// borrower disagree, or "".
func differs(a, b Borrower) string {
	var ca, cb intake.ConsentData
	if len(a.Consents) > 0 {
		ca = a.Consents[0]
	}
	if len(b.Consents) > 0 {
		cb = b.Consents[0]
	}
	switch {
	case a.Name != b.Name:
		return "name"
	case a.Locale != b.Locale:
		return "locale"
	case a.Timezone != b.Timezone:
		return "timezone"
	case a.Phone != b.Phone:
		return "phone"
	case a.Email != b.Email:
		return "email"
	case a.PhoneKind != b.PhoneKind:
		return "phone_kind"
	case a.PhoneCheckedAt != b.PhoneCheckedAt:
		return "phone_checked_at"
	case a.PhoneCheck != b.PhoneCheck:
		return "phone_check"
	case ca.Channel != cb.Channel:
		return "consent_channel"
	case ca.At != cb.At:
		return "consented_at"
	}
	return ""
}

// csvConsentField names a consent's field by its CSV column.
func csvConsentField(err error) error {
	var pe *PopulationError
	if errors.As(err, &pe) {
		switch pe.Field {
		case "channel":
			return &PopulationError{Field: "consent_channel", Message: pe.Message}
		case "at":
			return &PopulationError{Field: "consented_at", Message: pe.Message}
		}
	}
	return err
}

// atLine places a field error of a CSV line.
func atLine(line int, err error) error {
	var pe *PopulationError
	if errors.As(err, &pe) {
		return &PopulationError{Line: line, Field: pe.Field, Message: pe.Message}
	}
	return &PopulationError{Line: line, Field: "line", Message: err.Error()}
}
