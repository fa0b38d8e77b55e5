package domain

import (
	"slices"
	"time"
	"unicode/utf8"
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

// Mute is a support-staff suppression of some or all channels of a borrower.
type Mute struct {
	ID       string     `json:"id"`
	Channels []Channel  `json:"channels,omitempty"` // empty: every channel
	Until    *time.Time `json:"until,omitempty"`    // nil: until deleted
	Reason   string     `json:"reason"`
	By       string     `json:"by,omitempty"`
	Created  time.Time  `json:"created"`
}

// Hold is an active agreement's suppression of collection reminders on its
// loans.
type Hold struct {
	AgreementID string    `json:"agreement_id"`
	Kind        string    `json:"kind"`
	LoanIDs     []string  `json:"loan_ids"`
	Since       time.Time `json:"since"`
}

// OptOut stops one channel of a borrower (for every loan). Address is the
// opted-out phone or email; empty means every address on that channel.
type OptOut struct {
	Channel Channel   `json:"channel"`
	Address string    `json:"address,omitempty"`
	Source  string    `json:"source"` // event, twilio-21610, inbound-stop, unsubscribe
	At      time.Time `json:"at"`
}

// Suppressions is everything that currently stops reminders to one
// borrower. It is stored as one value per borrower so that one read from the
// stream leader answers the send-time question.
type Suppressions struct {
	BorrowerID string   `json:"borrower_id"`
	Mutes      []Mute   `json:"mutes,omitempty"`
	Holds      []Hold   `json:"holds,omitempty"`
	OptOuts    []OptOut `json:"opt_outs,omitempty"`
	// Ceased is set when the borrower asked for collection communication
	// to cease (borrower.ceased): every collection message on every
	// channel stops.
	Ceased *time.Time `json:"ceased,omitempty"`
}

// Block names the suppression that stops a reminder.
type Block struct {
	Kind string `json:"kind"` // mute, agreement, opt_out
	ID   string `json:"id"`
}

// Reason renders the block for a delivery record.
func (b Block) Reason() string { return b.Kind + ":" + b.ID }

// Blocking returns the suppression that stops r at now, if any.
func (s Suppressions) Blocking(r Reminder, to string, now time.Time) (Block, bool) {
	for _, m := range s.Mutes {
		if m.Until != nil && !now.Before(*m.Until) {
			continue
		}
		if len(m.Channels) == 0 || slices.Contains(m.Channels, r.Channel) {
			return Block{Kind: "mute", ID: m.ID}, true
		}
	}
	if r.Category == Collection && s.Ceased != nil {
		return Block{Kind: "ceased", ID: s.BorrowerID}, true
	}
	if r.Category == Collection {
		for _, h := range s.Holds {
			if slices.Contains(h.LoanIDs, r.LoanID) {
				return Block{Kind: "agreement", ID: h.AgreementID}, true
			}
		}
	}
	for _, o := range s.OptOuts {
		if o.Channel == r.Channel && (o.Address == "" || o.Address == to) {
			return Block{Kind: "opt_out", ID: string(o.Channel)}, true
		}
	}
	return Block{}, false
}

// Clone is a copy of s that shares no slice with it: changes made in
// place to one (slices.DeleteFunc, say) leave the other as it was.
func (s Suppressions) Clone() Suppressions {
	out := s
	out.Mutes = slices.Clone(s.Mutes)
	out.Holds = slices.Clone(s.Holds)
	out.OptOuts = slices.Clone(s.OptOuts)
	return out
}

// Active drops expired mutes; what remains is what the borrower page lists.
func (s Suppressions) Active(now time.Time) Suppressions {
	out := s
	out.Mutes = nil
	for _, m := range s.Mutes {
		if m.Until == nil || now.Before(*m.Until) {
			out.Mutes = append(out.Mutes, m)
		}
	}
	return out
}

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

// Suppression change actions.
const (
	ChangeAdded   = "added"
	ChangeRemoved = "removed"
	// ChangeExpired: a mute whose end passed, dropped at the next write of
	// the borrower's suppressions.
	ChangeExpired = "expired"
	// ChangeChanged: an agreement's hold now covers other loans.
	ChangeChanged = "changed"
)

// SuppressionChange is one change of a borrower's suppressions, kept in the
// audit trail beside the delivery records so that a borrower's history of
// mutes, agreement holds, opt-outs and cease requests is exported and
// retained like the rest of the record.
type SuppressionChange struct {
	BorrowerID string    `json:"borrower_id"`
	At         time.Time `json:"at"`
	// Action is ChangeAdded, ChangeRemoved, ChangeExpired or ChangeChanged.
	Action string `json:"action"`
	// Kind and ID name the suppression as a Block does: mute and its id,
	// agreement and its id, opt_out and its channel, ceased and the
	// borrower.
	Kind     string     `json:"kind"`
	ID       string     `json:"id"`
	Channels []Channel  `json:"channels,omitempty"` // a mute's channels, an opt-out's channel
	LoanIDs  []string   `json:"loan_ids,omitempty"` // an agreement hold's loans
	Address  string     `json:"address,omitempty"`  // an opt-out of one address
	Until    *time.Time `json:"until,omitempty"`    // a mute's end
	Reason   string     `json:"reason,omitempty"`   // a mute's reason, an opt-out's source
	// By is who made the change: the token name of the support staff, the
	// event ("event <id> from <source>"), the provider or the borrower's
	// own action (an opt-out's source); empty for a mute that expired.
	By       string `json:"by,omitempty"`
	Instance string `json:"instance,omitempty"`
}

// SuppressionChanges lists what changed from before to after, one write of
// a borrower's suppressions made by by at now: mutes, holds, opt-outs and
// the cease request added, removed or (mutes) expired, in that order. An
// addition is dated by the suppression's own start (a mute's Created, a
// hold's Since, ...), an expiry by the mute's end, the rest at now.
func SuppressionChanges(before, after Suppressions, now time.Time, by string) []SuppressionChange {
	var out []SuppressionChange
	add := func(c SuppressionChange) {
		c.BorrowerID = after.BorrowerID
		if c.BorrowerID == "" {
			c.BorrowerID = before.BorrowerID
		}
		out = append(out, c)
	}
	mute := func(action string, m Mute, at time.Time, by string) SuppressionChange {
		return SuppressionChange{At: at, Action: action, Kind: "mute", ID: m.ID, Channels: m.Channels, Until: m.Until, Reason: m.Reason, By: by}
	}
	for _, m := range before.Mutes {
		if slices.ContainsFunc(after.Mutes, func(a Mute) bool { return a.ID == m.ID }) {
			continue
		}
		if m.Until != nil && !now.Before(*m.Until) {
			add(mute(ChangeExpired, m, *m.Until, ""))
		} else {
			add(mute(ChangeRemoved, m, now, by))
		}
	}
	for _, m := range after.Mutes {
		if !slices.ContainsFunc(before.Mutes, func(b Mute) bool { return b.ID == m.ID }) {
			add(mute(ChangeAdded, m, startedAt(m.Created, now), by))
		}
	}
	hold := func(action string, h Hold) SuppressionChange {
		at := now
		if action == ChangeAdded {
			at = startedAt(h.Since, now)
		}
		return SuppressionChange{At: at, Action: action, Kind: "agreement", ID: h.AgreementID, LoanIDs: h.LoanIDs, By: by}
	}
	for _, h := range before.Holds {
		i := slices.IndexFunc(after.Holds, func(a Hold) bool { return a.AgreementID == h.AgreementID })
		switch {
		case i < 0:
			add(hold(ChangeRemoved, h))
		case !slices.Equal(after.Holds[i].LoanIDs, h.LoanIDs):
			add(hold(ChangeChanged, after.Holds[i]))
		}
	}
	for _, h := range after.Holds {
		if !slices.ContainsFunc(before.Holds, func(b Hold) bool { return b.AgreementID == h.AgreementID }) {
			add(hold(ChangeAdded, h))
		}
	}
	sameOptOut := func(a, b OptOut) bool { return a.Channel == b.Channel && a.Address == b.Address }
	optOut := func(action string, o OptOut) SuppressionChange {
		at := now
		if action == ChangeAdded {
			at = startedAt(o.At, now)
		}
		return SuppressionChange{At: at, Action: action, Kind: "opt_out", ID: string(o.Channel), Channels: []Channel{o.Channel},
			Address: o.Address, Reason: o.Source, By: by}
	}
	for _, o := range before.OptOuts {
		if !slices.ContainsFunc(after.OptOuts, func(a OptOut) bool { return sameOptOut(a, o) }) {
			add(optOut(ChangeRemoved, o))
		}
	}
	for _, o := range after.OptOuts {
		if !slices.ContainsFunc(before.OptOuts, func(b OptOut) bool { return sameOptOut(b, o) }) {
			add(optOut(ChangeAdded, o))
		}
	}
	ceased := func(action string) SuppressionChange {
		id := after.BorrowerID
		if id == "" {
			id = before.BorrowerID
		}
		at := now
		if action == ChangeAdded {
			at = startedAt(*after.Ceased, now)
		}
		return SuppressionChange{At: at, Action: action, Kind: "ceased", ID: id, By: by}
	}
	switch {
	case before.Ceased == nil && after.Ceased != nil:
		add(ceased(ChangeAdded))
	case before.Ceased != nil && after.Ceased == nil:
		add(ceased(ChangeRemoved))
	}
	return out
}

// startedAt is when a suppression began: its own time, else now.
func startedAt(own, now time.Time) time.Time {
	if own.IsZero() {
		return now
	}
	return own
}
