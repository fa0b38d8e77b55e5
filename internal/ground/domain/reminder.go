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
type Snapshot struct {
	// Agreement is an instalment reminder's agreement, as planned.
	Agreement *AgreementScope `json:"agreement,omitempty"`
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
