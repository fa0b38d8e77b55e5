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
	// Changed holds the revisions of the latest changes to the borrower's
	// record and cases after they were created: a reminder whose snapshot
	// is older is read again at send time (see Outdates). Kept for
	// ChangesKeep.
	Changed *Changed `json:"changed,omitempty"`
}

// Changed is where the latest changes to a borrower's records stand.
type Changed struct {
	Borrower uint64    `json:"borrower,omitempty"` // revision in the borrowers bucket
	Cases    uint64    `json:"cases,omitempty"`    // highest revision of the borrower's cases in the cases bucket
	At       time.Time `json:"at"`
}

// NoteChange records a change to the borrower's record at revision
// borrowerRev, or to one of its cases at caseRev (0: not that one), made
// at now.
func (s *Suppressions) NoteChange(borrowerRev, caseRev uint64, now time.Time) {
	c := Changed{At: now}
	if s.Changed != nil {
		c.Borrower, c.Cases = s.Changed.Borrower, s.Changed.Cases
	}
	c.Borrower, c.Cases = max(c.Borrower, borrowerRev), max(c.Cases, caseRev)
	s.Changed = &c
}

// Outdates reports whether a change noted in s came after r's snapshot was
// taken (when r was queued), or the snapshot is too old to be trusted at
// now: either way the worker reads the borrower and the case again. A
// reminder without a snapshot of its borrower, or with one of another
// borrower or loan than its own, is always outdated.
func (s Suppressions) Outdates(r Reminder, now time.Time) bool {
	snap := r.Snapshot
	if snap == nil || snap.Borrower == nil || snap.Borrower.ID != r.BorrowerID ||
		snap.Case != nil && (snap.Case.LoanID != r.LoanID || snap.Case.BorrowerID != r.BorrowerID) ||
		now.Sub(r.QueuedAt) >= SnapshotMaxAge {
		return true
	}
	if s.Changed == nil {
		return false
	}
	return s.Changed.Borrower > snap.BorrowerRev || snap.Case != nil && s.Changed.Cases > snap.CaseRev
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
// place to one (slices.DeleteFunc, say) leave the other as it was. Changed
// may be shared: it is only ever replaced (NoteChange), never changed in
// place.
func (s Suppressions) Clone() Suppressions {
	out := s
	out.Mutes = slices.Clone(s.Mutes)
	out.Holds = slices.Clone(s.Holds)
	out.OptOuts = slices.Clone(s.OptOuts)
	return out
}

// Expiry is how long the record s, written at now, may be kept: 0 (until
// replaced) while it holds a suppression without an end (an opt-out, a
// hold, a cease, a mute without an end); when its only suppressions are
// mutes that end, ChangesKeep after the last of them ends; else
// ChangesKeep, after which its note of changes outdates no snapshot and
// the record decides nothing. A record that intake writes only to note a
// change, that lost its last suppression, or whose mutes all ended, thus
// goes by itself: nothing else would remove an ended mute, and the bucket
// and every fence's copy of it would keep one for every borrower ever
// muted for a while.
//
// now is the writer's clock; the TTL runs on the server's.
func (s Suppressions) Expiry(now time.Time) time.Duration {
	if len(s.Holds) > 0 || len(s.OptOuts) > 0 || s.Ceased != nil {
		return 0
	}
	var last time.Time
	for _, m := range s.Mutes {
		if m.Until == nil {
			return 0
		}
		if m.Until.After(last) {
			last = *m.Until
		}
	}
	if len(s.Mutes) == 0 {
		return ChangesKeep
	}
	// In whole seconds, the TTL's grain, rounded up.
	return max(last.Sub(now), 0).Truncate(time.Second) + time.Second + ChangesKeep
}

// Listed is what the borrower page and the export list: the suppressions
// in force, without the changes noted for the worker (bookkeeping, not a
// suppression).
func (s Suppressions) Listed(now time.Time) Suppressions {
	out := s.Active(now)
	out.Changed = nil
	return out
}

// Active drops expired mutes, and changes noted longer than ChangesKeep
// ago: what remains is in force.
func (s Suppressions) Active(now time.Time) Suppressions {
	out := s
	if s.Changed != nil && now.Sub(s.Changed.At) > ChangesKeep {
		out.Changed = nil
	}
	out.Mutes = nil
	for _, m := range s.Mutes {
		if m.Until == nil || now.Before(*m.Until) {
			out.Mutes = append(out.Mutes, m)
		}
	}
	return out
}
