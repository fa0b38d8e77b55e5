package domain

import (
	"slices"
	"time"
)

// Channel is a way of reaching a borrower.
type Channel string

// The channels forbear sends on.
const (
	SMS   Channel = "sms"
	Voice Channel = "voice"
	Email Channel = "email"
	InApp Channel = "inapp"
)

// Channels lists every channel, in a stable order.
var Channels = []Channel{SMS, Voice, Email, InApp}

// Valid reports whether c is one of Channels.
func (c Channel) Valid() bool { return slices.Contains(Channels, c) }

// Category decides which suppressions apply to a reminder.
type Category string

// Reminder categories.
const (
	// Collection reminders stop while an agreement covers the loan.
	Collection Category = "collection"
	// AgreementCategory reminders belong to an agreement's plan and go on
	// while that agreement is active.
	AgreementCategory Category = "agreement"
)

// Borrower is a person who owes money; the contact points are the only
// addresses forbear ever contacts about that person's debts.
type Borrower struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Locale   string `json:"locale"`
	Timezone string `json:"timezone,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Email    string `json:"email,omitempty"`
	// Blackouts are hours the borrower asked not to be contacted in (at
	// work, say), in the borrower's local time.
	Blackouts []Blackout `json:"blackouts,omitempty"`
	// PhoneKind is what the phone number is to the borrower (one of
	// PhoneKinds); empty means not given, and the contact rules that need
	// it read the number's type instead.
	PhoneKind string `json:"phone_kind,omitempty"`
	// PhoneCheckedAt is when the number was last confirmed to be the
	// borrower's, and PhoneCheck how (PhoneCheckConsent or
	// PhoneCheckReassigned). Both are cleared when the number changes.
	PhoneCheckedAt *time.Time `json:"phone_checked_at,omitempty"`
	PhoneCheck     string     `json:"phone_check,omitempty"`
	// Consents are the borrower's recent consents to be contacted on a
	// channel (borrower.consented), newest last, at most MaxConsents.
	Consents []Consent `json:"consents,omitempty"`
	// LoanIDs are the borrower's loans known to forbear (maintained by
	// intake, so a borrower-wide change can reschedule every case).
	LoanIDs []string  `json:"loan_ids,omitempty"`
	Updated time.Time `json:"updated"`
}

// What a phone number is to its borrower (borrower.upserted phone_kind).
const (
	PhoneMobile = "mobile"
	PhoneHome   = "home"
	PhoneWork   = "work"
	PhoneOther  = "other"
)

// PhoneKinds lists the phone kinds, in a stable order.
var PhoneKinds = []string{PhoneMobile, PhoneHome, PhoneWork, PhoneOther}

// How a number was confirmed to be the borrower's (phone_check).
const (
	// PhoneCheckConsent: the borrower confirmed the number (a consent).
	PhoneCheckConsent = "consent"
	// PhoneCheckReassigned: a reassigned-numbers database said the number
	// has not changed hands since the borrower gave it.
	PhoneCheckReassigned = "reassigned_number_check"
)

// Consent is the borrower's consent to be contacted on a channel, given at
// At (borrower.consented). A consent to calls keeps the calls it covers
// out of the call-frequency count for a while; a consent to SMS confirms
// the number for text messages.
type Consent struct {
	Channel Channel   `json:"channel"`
	At      time.Time `json:"at"`
}

// MaxConsents bounds a borrower's stored consents; the oldest go first.
const MaxConsents = 16

// LatestConsent returns the newest consent on ch at or before now.
func (b Borrower) LatestConsent(ch Channel, now time.Time) (time.Time, bool) {
	var last time.Time
	for _, c := range b.Consents {
		if c.Channel == ch && !c.At.After(now) && c.At.After(last) {
			last = c.At
		}
	}
	return last, !last.IsZero()
}

// Blackout is a daily period, in the borrower's local time, when some or
// all channels must not contact the borrower. Start after End wraps past
// midnight ("22:00"-"07:00").
type Blackout struct {
	Start    string    `json:"start"` // HH:MM
	End      string    `json:"end"`   // HH:MM
	Channels []Channel `json:"channels,omitempty"`
}

// Loan statuses as sent by platform backends.
const (
	LoanCurrent     = "current"
	LoanOverdue     = "overdue"
	LoanPaid        = "paid"
	LoanWrittenOff  = "written_off"
	AgreementActive = "active"
	AgreementBroken = "broken"
	AgreementDone   = "completed"
)

// Case is one loan of a borrower that forbear reminds about.
type Case struct {
	LoanID      string    `json:"loan_id"`
	BorrowerID  string    `json:"borrower_id"`
	DueDate     string    `json:"due_date"` // YYYY-MM-DD in the borrower's time zone
	AmountDue   string    `json:"amount_due"`
	Currency    string    `json:"currency"`
	Status      string    `json:"status"`
	Policy      string    `json:"policy"`
	AgreementID string    `json:"agreement_id,omitempty"` // active agreement covering the loan
	Updated     time.Time `json:"updated"`
}

// Open reports whether reminders may still be sent for the case.
func (c Case) Open() bool { return c.Status != LoanPaid && c.Status != LoanWrittenOff }

// Installment is one payment of an agreement's plan.
type Installment struct {
	DueDate string `json:"due_date"`
	Amount  string `json:"amount"`
}

// Agreement is a settlement, instalment plan or deferral.
type Agreement struct {
	ID           string        `json:"id"`
	BorrowerID   string        `json:"borrower_id"`
	Kind         string        `json:"kind"` // installment, deferral, settlement
	LoanIDs      []string      `json:"loan_ids"`
	Installments []Installment `json:"installments"`
	Status       string        `json:"status"` // active, broken, completed
	Policy       string        `json:"policy"`
	Updated      time.Time     `json:"updated"`
}
