package simulate

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/domain"
)

// Population limits: what one dry run takes.
const (
	// MaxBorrowers bounds a population file or a generated population.
	MaxBorrowers = 1_000_000
	// MaxLoans bounds one borrower's loans (intake keeps at most 500).
	MaxLoans = dispatcher.MaxLoansPerBorrower
	// MaxAgreements bounds one borrower's agreements.
	MaxAgreements = dispatcher.MaxActiveAgreements
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
// the borrower as intake stores them (dispatcher.BorrowerData.ApplyTo,
// dispatcher.AddConsent): the phone kind, the number's last check and the
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
	dispatcher.BorrowerData
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
	Consents []dispatcher.ConsentData `json:"consents,omitempty"`
}

// Loan is one loan of a borrower.
type Loan struct {
	dispatcher.LoanData
	// PaidOn, when set, is the day the loan is paid (YYYY-MM-DD).
	PaidOn string `json:"paid_on,omitempty"`
}

// Agreement is one agreement of a borrower.
type Agreement struct {
	dispatcher.AgreementData
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

// ParseJSON reads the JSON form of a population (see Population); unknown
// keys are refused, naming them.
func ParseJSON(data []byte) (Population, error) {
	return parseJSON(data, MaxBorrowers)
}

// parseJSON is ParseJSON taking at most limit borrowers, counted before
// any is checked.
func parseJSON(data []byte, limit int) (Population, error) {
	var top struct {
		Borrowers []json.RawMessage `json:"borrowers"`
	}
	if err := strictJSON(data, &top); err != nil {
		return Population{}, jsonError("", data, err)
	}
	if len(top.Borrowers) > limit {
		return Population{}, &PopulationError{Field: "borrowers", Message: fmt.Sprintf("has %d borrowers, more than the %d one run takes", len(top.Borrowers), limit)}
	}
	p := Population{Borrowers: make([]Borrower, len(top.Borrowers))}
	for i, raw := range top.Borrowers {
		if err := strictJSON(raw, &p.Borrowers[i]); err != nil {
			return Population{}, jsonError(fmt.Sprintf("borrowers[%d]", i), raw, err)
		}
	}
	return p, p.Validate()
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// jsonError names where a decoding error of raw (at path) is: an unknown
// key is looked for in raw and in its lists of objects.
func jsonError(path string, raw []byte, err error) error {
	join := func(field string) string {
		if path == "" {
			return field
		}
		return path + "." + field
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &PopulationError{Field: join(te.Field), Message: "has the wrong type (" + te.Value + ")"}
	}
	name, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return &PopulationError{Field: path, Message: "not JSON: " + err.Error()}
	}
	name = strings.Trim(name, `"`)
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		if _, top := obj[name]; !top {
			for _, list := range []string{"loans", "agreements", "mutes", "consents"} {
				var items []map[string]json.RawMessage
				if json.Unmarshal(obj[list], &items) != nil {
					continue
				}
				for j, item := range items {
					if _, in := item[name]; in {
						return &PopulationError{Field: join(fmt.Sprintf("%s[%d].%s", list, j, name)), Message: "unknown key"}
					}
				}
			}
		}
	}
	return &PopulationError{Field: join(name), Message: "unknown key"}
}

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
		b := Borrower{BorrowerData: dispatcher.BorrowerData{BorrowerID: get("borrower_id"), Name: get("name"), Locale: get("locale"),
			Timezone: get("timezone"), Phone: get("phone"), Email: get("email"),
			PhoneKind: get("phone_kind"), PhoneCheckedAt: get("phone_checked_at"), PhoneCheck: get("phone_check")}}
		if ch, at := get("consent_channel"), get("consented_at"); ch != "" || at != "" {
			b.Consents = []dispatcher.ConsentData{{BorrowerID: b.BorrowerID, Channel: ch, At: at}}
		}
		loan := Loan{LoanData: dispatcher.LoanData{BorrowerID: b.BorrowerID, LoanID: get("loan_id"), DueDate: get("due_date"),
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
	var ca, cb dispatcher.ConsentData
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
	var fe *dispatcher.FieldError
	if errors.As(err, &fe) {
		return &PopulationError{Field: strings.TrimPrefix(fe.Field, "data."), Message: fe.Message}
	}
	return &PopulationError{Message: err.Error()}
}

func checkBorrower(d dispatcher.BorrowerData) error { return fromIntake(d.Validate()) }

// checkConsent checks a consent of borrower id as intake checks
// borrower.consented; a population's consent must say when it was given.
func checkConsent(id string, c dispatcher.ConsentData) error {
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
