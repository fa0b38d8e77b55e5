package domain

import (
	"time"
	"unicode/utf8"
)

// Reminder is one message due on one channel: an occurrence of a policy
// step fanned out to a channel. It travels on the REMINDERS stream.
type Reminder struct {
	ID          string    `json:"id"`         // Occurrence + "/" + channel; Nats-Msg-Id
	Occurrence  string    `json:"occurrence"` // loan/step/k
	BorrowerID  string    `json:"borrower_id"`
	LoanID      string    `json:"loan_id"`
	AgreementID string    `json:"agreement_id,omitempty"`
	Channel     Channel   `json:"channel"`
	Category    Category  `json:"category"`
	Policy      string    `json:"policy"`
	Step        string    `json:"step"`
	Template    string    `json:"template"`
	K           int       `json:"k"`
	Installment int       `json:"installment,omitempty"` // 1-based, for anchor: installment
	DueAt       time.Time `json:"due_at"`
	QueuedAt    time.Time `json:"queued_at"`
	// Snapshot is what the sweep read when it planned the reminder and the
	// worker would otherwise read again; nil on reminders queued before
	// snapshots, which the worker reads as before.
	Snapshot *Snapshot `json:"snapshot,omitempty"`
}

// Snapshot is the part of a reminder's records that the sweep copies into
// it. It holds only what the worker renders from and what cannot change
// the worker's decision unseen: a change that must change the decision
// either reaches the worker through the fence (suppressions) or is read
// again at send time (see dispatcher.Worker).
//
// The borrower and the case are copied with the revisions they were read
// at. Intake notes in the borrower's suppressions the revision of every
// later change to either (Suppressions.Changed), so the fence's view says
// when a copy is out of date (see Outdates).
type Snapshot struct {
	// Agreement is an instalment reminder's agreement, as planned.
	Agreement *AgreementScope `json:"agreement,omitempty"`
	// Borrower is the borrower as the sweep read it, without its loan
	// list, at revision BorrowerRev of its record.
	Borrower    *Borrower `json:"borrower,omitempty"`
	BorrowerRev uint64    `json:"borrower_rev,omitempty"`
	// Case is a loan reminder's case, at revision CaseRev of its record
	// (an instalment reminder's case is read at send time: the sweep
	// plans an agreement without reading its loans).
	Case    *Case  `json:"case,omitempty"`
	CaseRev uint64 `json:"case_rev,omitempty"`
}

// SnapshotMaxAge is how long after its sweep a reminder's copy of the
// borrower and the case may be used; an older reminder (one deferred to
// the morning, say) reads them again. It bounds how long intake must keep
// the revisions of changes in the suppressions (ChangesKeep).
const SnapshotMaxAge = time.Hour

// ChangesKeep is how long the suppressions keep the revisions of the last
// changes to a borrower's records: far beyond SnapshotMaxAge, so that no
// clock skew between instances lets a snapshot outlive the note that
// outdates it.
const ChangesKeep = 24 * time.Hour

// SnapshotBorrower is b as a snapshot carries it: without the loan list,
// which nothing at send time reads and which can be long.
func SnapshotBorrower(b Borrower) *Borrower {
	b.LoanIDs = nil
	return &b
}

// AgreementScope is what an instalment reminder renders of its agreement:
// the agreement and the one instalment the reminder is about.
type AgreementScope struct {
	ID          string      `json:"id"`
	Kind        string      `json:"kind"`
	Installment Installment `json:"installment"`
}

// Agreement is the scope as an active agreement with the one instalment,
// for rendering.
func (s AgreementScope) Agreement() Agreement {
	return Agreement{ID: s.ID, Kind: s.Kind, Status: AgreementActive, Installments: []Installment{s.Installment}}
}

// Status is where a reminder stands in its delivery.
type Status string

// Delivery statuses (spec §4).
const (
	Queued     Status = "queued"
	Sent       Status = "sent"
	Delivered  Status = "delivered"
	Failed     Status = "failed"
	Suppressed Status = "suppressed"
	Deferred   Status = "deferred"
	Capped     Status = "capped"
)

// Statuses lists every delivery status, in a stable order.
var Statuses = []Status{Queued, Sent, Delivered, Failed, Suppressed, Deferred, Capped}

// Delivery is one audit record: a decision about a reminder.
type Delivery struct {
	ID              string    `json:"id"` // the reminder id
	BorrowerID      string    `json:"borrower_id"`
	LoanID          string    `json:"loan_id"`
	Channel         Channel   `json:"channel"`
	Template        string    `json:"template"`
	TemplateVersion int       `json:"template_version,omitempty"`
	Category        Category  `json:"category"`
	Step            string    `json:"step"`
	Status          Status    `json:"status"`
	Reason          string    `json:"reason,omitempty"`
	To              string    `json:"to,omitempty"`
	At              time.Time `json:"at"`
	ProviderRef     string    `json:"provider_ref,omitempty"`
	Instance        string    `json:"instance,omitempty"`
	// Subject and Text are the rendered message as the borrower got it (or
	// would have, on a record decided after rendering), each cut at
	// MaxRecordText bytes so that records stay small (see SetText).
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
}

// MaxRecordText bounds the subject and the text a delivery record carries:
// an email body can be long, and the audit trail keeps a record per
// decision.
const MaxRecordText = 4 << 10

// cutMarker ends a text that SetText cut.
const cutMarker = " [...cut]"

// SetText sets the record's rendered subject and text, each cut to at most
// MaxRecordText bytes (on a character boundary, ending in a marker).
func (d *Delivery) SetText(subject, text string) {
	d.Subject, d.Text = clip(subject, MaxRecordText), clip(text, MaxRecordText)
}

// clip returns s when it fits in max bytes, else its longest prefix of
// whole UTF-8 characters that fits with cutMarker after it.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(cutMarker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + cutMarker
}

// NewDelivery starts an audit record for r.
func NewDelivery(r Reminder, status Status, at time.Time) Delivery {
	return Delivery{
		ID: r.ID, BorrowerID: r.BorrowerID, LoanID: r.LoanID, Channel: r.Channel,
		Template: r.Template, Category: r.Category, Step: r.Step, Status: status, At: at,
	}
}
