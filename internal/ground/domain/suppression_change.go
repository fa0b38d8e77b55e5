package domain

import (
	"slices"
	"time"
)

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
