package domain

import (
	"slices"
	"time"
)

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
