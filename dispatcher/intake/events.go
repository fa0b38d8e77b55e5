package intake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// Event types (spec §3).
const (
	TypeBorrowerUpserted   = "borrower.upserted"
	TypeLoanUpdated        = "loan.updated"
	TypePaymentReceived    = "payment.received"
	TypeAgreementActivated = "agreement.activated"
	TypeAgreementBroken    = "agreement.broken"
	TypeAgreementCompleted = "agreement.completed"
	TypeBorrowerOptedOut   = "borrower.opted_out"
	TypeBorrowerCeased     = "borrower.ceased"
	TypeBorrowerConsented  = "borrower.consented"
)

// Event is a CloudEvents 1.0 structured-mode event.
type Event struct {
	SpecVersion string          `json:"specversion"`
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	Type        string          `json:"type"`
	Time        *time.Time      `json:"time,omitempty"`
	Data        json.RawMessage `json:"data"`
}

// FieldError is a validation failure that names the field at fault; the HTTP
// edge turns it into 400 {"error":{"code","message","field"}}.
type FieldError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Code: "invalid_field", Field: field, Message: fmt.Sprintf(format, args...)}
}

// ParseEvents decodes a request body holding one event, or a JSON array of
// events (application/cloudevents-batch+json). Every event is validated
// before any is applied, so a batch with a bad event applies none; the
// error is a *BatchError naming the event.
func ParseEvents(body []byte) ([]Event, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, &FieldError{Code: "invalid_json", Message: "request body is empty"}
	}
	var events []Event
	if trimmed[0] == '[' {
		if err := strictDecode(trimmed, &events); err != nil {
			return nil, &FieldError{Code: "invalid_json", Message: "batch is not a JSON array of events: " + err.Error()}
		}
		if len(events) == 0 {
			return nil, &FieldError{Code: "invalid_json", Message: "batch is empty"}
		}
	} else {
		var ev Event
		if err := strictDecode(trimmed, &ev); err != nil {
			return nil, &FieldError{Code: "invalid_json", Message: "body is not a JSON event: " + err.Error()}
		}
		events = []Event{ev}
	}
	for i, ev := range events {
		if err := ev.Validate(); err != nil {
			return nil, atIndex(i, len(events), 0, err)
		}
	}
	return events, nil
}

func strictDecode(b []byte, v any) error {
	return json.Unmarshal(b, v)
}

// Validate checks the envelope and the data of its type.
func (ev Event) Validate() error {
	if ev.SpecVersion != "1.0" {
		return invalid("specversion", "must be \"1.0\", got %s", short(ev.SpecVersion))
	}
	if strings.TrimSpace(ev.ID) == "" {
		return invalid("id", "is required (it is the idempotency key)")
	}
	if err := checkID("id", ev.ID, MaxEventIDBytes); err != nil {
		return err
	}
	if err := checkID("source", ev.Source, MaxSourceBytes); err != nil {
		return err
	}
	if len(ev.Data) == 0 || string(ev.Data) == "null" {
		return invalid("data", "is required")
	}
	_, err := ev.decode()
	return err
}

// Event data payloads.
type (
	// BorrowerData is borrower.upserted.
	BorrowerData struct {
		BorrowerID string            `json:"borrower_id"`
		Name       string            `json:"name"`
		Locale     string            `json:"locale"`
		Timezone   string            `json:"timezone"`
		Phone      string            `json:"phone"`
		Email      string            `json:"email"`
		Blackouts  []domain.Blackout `json:"blackouts"`
		// PhoneKind is what the number is to the borrower: mobile, home,
		// work or other (optional; the contact rules read the number's
		// type when it is missing).
		PhoneKind string `json:"phone_kind"`
		// PhoneCheckedAt (RFC 3339) is when the number was last confirmed
		// to be the borrower's, and PhoneCheck how: consent or
		// reassigned_number_check. Both or neither; left out, a check
		// already stored stays while the number does.
		PhoneCheckedAt string `json:"phone_checked_at"`
		PhoneCheck     string `json:"phone_check"`
	}
	// ConsentData is borrower.consented: the borrower consented to be
	// contacted on a channel (voice or sms) at At (RFC 3339; default the
	// event's time, else when forbear applies it).
	ConsentData struct {
		BorrowerID string `json:"borrower_id"`
		Channel    string `json:"channel"`
		At         string `json:"at"`
	}
	// CeasedData is borrower.ceased: stop all collection communication.
	CeasedData struct {
		BorrowerID string `json:"borrower_id"`
		Reason     string `json:"reason"`
	}
	// LoanData is loan.updated.
	LoanData struct {
		BorrowerID string `json:"borrower_id"`
		LoanID     string `json:"loan_id"`
		DueDate    string `json:"due_date"`
		AmountDue  string `json:"amount_due"`
		Currency   string `json:"currency"`
		Status     string `json:"status"`
		Policy     string `json:"policy"`
	}
	// PaymentData is payment.received.
	PaymentData struct {
		BorrowerID string `json:"borrower_id"`
		LoanID     string `json:"loan_id"`
		Amount     string `json:"amount"`
		Remaining  string `json:"remaining"`
	}
	// AgreementData is agreement.activated.
	AgreementData struct {
		BorrowerID   string               `json:"borrower_id"`
		AgreementID  string               `json:"agreement_id"`
		Kind         string               `json:"kind"`
		LoanIDs      []string             `json:"loan_ids"`
		Installments []domain.Installment `json:"installments"`
	}
	// AgreementEndData is agreement.broken and agreement.completed.
	AgreementEndData struct {
		BorrowerID  string `json:"borrower_id"`
		AgreementID string `json:"agreement_id"`
	}
	// OptOutData is borrower.opted_out.
	OptOutData struct {
		BorrowerID string `json:"borrower_id"`
		Channel    string `json:"channel"`
	}
)

var (
	e164     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	localeRe = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	clockRe  = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`)
)

// decoders parse and validate the data of each event type.
var decoders = map[string]func(json.RawMessage) (any, error){
	TypeBorrowerUpserted:   decodeAs[BorrowerData],
	TypeLoanUpdated:        decodeAs[LoanData],
	TypePaymentReceived:    decodeAs[PaymentData],
	TypeAgreementActivated: decodeAs[AgreementData],
	TypeAgreementBroken:    decodeAs[AgreementEndData],
	TypeAgreementCompleted: decodeAs[AgreementEndData],
	TypeBorrowerOptedOut:   decodeAs[OptOutData],
	TypeBorrowerCeased:     decodeAs[CeasedData],
	TypeBorrowerConsented:  decodeAs[ConsentData],
}

// decode parses and validates the data of ev's type.
func (ev Event) decode() (any, error) {
	if ev.Type == "" {
		return nil, invalid("type", "is required")
	}
	dec, ok := decoders[ev.Type]
	if !ok {
		return nil, &FieldError{Code: "unknown_type", Field: "type", Message: "unknown event type " + short(ev.Type)}
	}
	return dec(ev.Data)
}

// validator is event data that checks itself.
type validator interface{ validate() error }

func decodeAs[T validator](raw json.RawMessage) (any, error) {
	var d T
	if err := decodeData(raw, &d); err != nil {
		return nil, err
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d BorrowerData) validate() error {
	if err := checkID("data.borrower_id", d.BorrowerID, MaxIDBytes); err != nil {
		return err
	}
	if err := checkText("data.name", d.Name, MaxNameBytes, false); err != nil {
		return err
	}
	if len(d.Locale) > MaxLocaleBytes {
		return invalid("data.locale", "is %d bytes, more than the %d allowed", len(d.Locale), MaxLocaleBytes)
	}
	if d.Locale != "" && !localeRe.MatchString(d.Locale) {
		return invalid("data.locale", "%s is not a locale like zh-CN or en-US", short(d.Locale))
	}
	if d.Timezone != "" {
		if err := checkZone("data.timezone", d.Timezone); err != nil {
			return err
		}
	}
	if d.Phone != "" && !e164.MatchString(d.Phone) {
		return invalid("data.phone", "must be E.164 like +8613800000000")
	}
	if d.Email != "" {
		if len(d.Email) > MaxEmailBytes {
			return invalid("data.email", "is %d bytes, more than the %d allowed", len(d.Email), MaxEmailBytes)
		}
		if a, err := mail.ParseAddress(d.Email); err != nil || a.Address != d.Email {
			return invalid("data.email", "is not a plain email address")
		}
	}
	if len(d.Blackouts) > MaxBlackouts {
		return invalid("data.blackouts", "has %d entries, more than the %d allowed", len(d.Blackouts), MaxBlackouts)
	}
	for i, bo := range d.Blackouts {
		if err := checkBlackout(fmt.Sprintf("data.blackouts[%d]", i), bo); err != nil {
			return err
		}
	}
	return d.validatePhoneFacts()
}

// validatePhoneFacts checks what the borrower says about the number: its
// kind and its last confirmation, each only with a number.
func (d BorrowerData) validatePhoneFacts() error {
	if d.PhoneKind != "" {
		if !slices.Contains(domain.PhoneKinds, d.PhoneKind) {
			return invalid("data.phone_kind", "must be mobile, home, work or other, got %s", short(d.PhoneKind))
		}
		if d.Phone == "" {
			return invalid("data.phone_kind", "is given without a phone")
		}
	}
	switch {
	case d.PhoneCheckedAt == "" && d.PhoneCheck == "":
		return nil
	case d.PhoneCheckedAt == "":
		return invalid("data.phone_checked_at", "is required with phone_check")
	case d.PhoneCheck == "":
		return invalid("data.phone_check", "is required with phone_checked_at: consent or reassigned_number_check")
	case d.PhoneCheck != domain.PhoneCheckConsent && d.PhoneCheck != domain.PhoneCheckReassigned:
		return invalid("data.phone_check", "must be consent or reassigned_number_check, got %s", short(d.PhoneCheck))
	case d.Phone == "":
		return invalid("data.phone_checked_at", "is given without a phone")
	}
	_, err := checkInstant("data.phone_checked_at", d.PhoneCheckedAt)
	return err
}

func (d ConsentData) validate() error {
	if err := checkID("data.borrower_id", d.BorrowerID, MaxIDBytes); err != nil {
		return err
	}
	if d.Channel != string(domain.Voice) && d.Channel != string(domain.SMS) {
		return invalid("data.channel", "must be voice or sms, got %s", short(d.Channel))
	}
	if d.At != "" {
		if _, err := checkInstant("data.at", d.At); err != nil {
			return err
		}
	}
	return nil
}

// checkBlackout checks a daily blackout: HH:MM times, start before 24:00,
// start and end apart (equal times would be an empty blackout), valid
// channels.
func checkBlackout(field string, bo domain.Blackout) error {
	if !clockRe.MatchString(bo.Start) || bo.Start == "24:00" {
		return invalid(field+".start", "must be HH:MM from 00:00 to 23:59, got %s", short(bo.Start))
	}
	if !clockRe.MatchString(bo.End) {
		return invalid(field+".end", "must be HH:MM from 00:00 to 24:00, got %s", short(bo.End))
	}
	if bo.End == bo.Start {
		return invalid(field+".end", "equals start: the blackout would be empty")
	}
	return checkChannels(field+".channels", bo.Channels)
}

// checkChannels checks a list of channels: each valid, no more than there
// are channels.
func checkChannels(field string, chans []domain.Channel) error {
	if len(chans) > len(domain.Channels) {
		return invalid(field, "has %d entries; there are only %d channels", len(chans), len(domain.Channels))
	}
	for j, ch := range chans {
		if !ch.Valid() {
			return invalid(fmt.Sprintf("%s[%d]", field, j), "must be sms, voice, email or inapp, got %s", short(string(ch)))
		}
	}
	return nil
}

func (d CeasedData) validate() error {
	if err := checkID("data.borrower_id", d.BorrowerID, MaxIDBytes); err != nil {
		return err
	}
	return checkText("data.reason", d.Reason, MaxReasonBytes, true)
}

func (d LoanData) validate() error {
	if err := requireIDs("data.borrower_id", d.BorrowerID, "data.loan_id", d.LoanID); err != nil {
		return err
	}
	if err := checkDate("data.due_date", d.DueDate); err != nil {
		return err
	}
	if err := checkAmount("data.amount_due", d.AmountDue, false); err != nil {
		return err
	}
	if err := checkCurrency("data.currency", d.Currency); err != nil {
		return err
	}
	if err := checkText("data.policy", d.Policy, MaxIDBytes, false); err != nil {
		return err
	}
	switch d.Status {
	case domain.LoanCurrent, domain.LoanOverdue, domain.LoanPaid, domain.LoanWrittenOff:
		return nil
	}
	return invalid("data.status", "must be current, overdue, paid or written_off, got %s", short(d.Status))
}

func (d PaymentData) validate() error {
	if err := requireIDs("data.borrower_id", d.BorrowerID, "data.loan_id", d.LoanID); err != nil {
		return err
	}
	if err := checkAmount("data.amount", d.Amount, true); err != nil {
		return err
	}
	return checkAmount("data.remaining", d.Remaining, false)
}

func (d AgreementData) validate() error {
	if err := requireIDs("data.borrower_id", d.BorrowerID, "data.agreement_id", d.AgreementID); err != nil {
		return err
	}
	switch d.Kind {
	case "installment", "deferral", "settlement":
	default:
		return invalid("data.kind", "must be installment, deferral or settlement, got %s", short(d.Kind))
	}
	if len(d.LoanIDs) == 0 {
		return invalid("data.loan_ids", "must name at least one loan")
	}
	if len(d.LoanIDs) > MaxAgreementLoans {
		return invalid("data.loan_ids", "names %d loans, more than the %d allowed", len(d.LoanIDs), MaxAgreementLoans)
	}
	for i, id := range d.LoanIDs {
		if err := checkID(fmt.Sprintf("data.loan_ids[%d]", i), id, MaxIDBytes); err != nil {
			return err
		}
	}
	if len(d.Installments) > MaxInstallments {
		return invalid("data.installments", "has %d entries, more than the %d allowed", len(d.Installments), MaxInstallments)
	}
	for i, in := range d.Installments {
		if err := checkDate(fmt.Sprintf("data.installments[%d].due_date", i), in.DueDate); err != nil {
			return err
		}
		if err := checkAmount(fmt.Sprintf("data.installments[%d].amount", i), in.Amount, false); err != nil {
			return err
		}
	}
	return nil
}

func (d AgreementEndData) validate() error {
	return requireIDs("data.borrower_id", d.BorrowerID, "data.agreement_id", d.AgreementID)
}

func (d OptOutData) validate() error {
	if err := checkID("data.borrower_id", d.BorrowerID, MaxIDBytes); err != nil {
		return err
	}
	if d.Channel != "all" && !domain.Channel(d.Channel).Valid() {
		return invalid("data.channel", "must be sms, voice, email, inapp or all, got %s", short(d.Channel))
	}
	return nil
}

func decodeData(raw json.RawMessage, v any) error {
	// Unknown fields are accepted: backends may send more than forbear uses.
	if err := json.Unmarshal(raw, v); err != nil {
		var ute *json.UnmarshalTypeError
		if ok := asTypeError(err, &ute); ok {
			return invalid("data."+ute.Field, "has the wrong type (%s)", ute.Value)
		}
		return invalid("data", "is not a valid object: %v", err)
	}
	return nil
}

// requireIDs checks field/value pairs of required ids.
func requireIDs(fieldsAndIDs ...string) error {
	for i := 0; i+1 < len(fieldsAndIDs); i += 2 {
		if err := checkID(fieldsAndIDs[i], fieldsAndIDs[i+1], MaxIDBytes); err != nil {
			return err
		}
	}
	return nil
}

func asTypeError(err error, target **json.UnmarshalTypeError) bool {
	te, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*target = te
	}
	return ok
}

// Validate checks borrower data as intake does; a *FieldError names the
// field ("data.phone"). The dry run's population files use it, so they
// accept exactly what intake accepts.
func (d BorrowerData) Validate() error { return d.validate() }

// Validate checks loan data as intake does (see BorrowerData.Validate).
func (d LoanData) Validate() error { return d.validate() }

// Validate checks agreement data as intake does (see
// BorrowerData.Validate).
func (d AgreementData) Validate() error { return d.validate() }

// Validate checks consent data as intake does (see
// BorrowerData.Validate).
func (d ConsentData) Validate() error { return d.validate() }
