package scheduler

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// markerTTL is how long the index remembers that an occurrence was
// published. It outlives any occurrence's catch-up window (a day by
// default) and any redelivery, and matches the TTL of the occurrences
// bucket that held the markers before they moved into the index.
const markerTTL = 30 * 24 * time.Hour

// maxMarks bounds the markers one subject's record keeps, newest first.
// Only the latest live occurrence of each step is ever sent, so the
// markers that matter are one per step; a policy with more steps than
// this loses the oldest, and the reminder stream's dedup window and the
// worker's attempt record still stop a second send.
const maxMarks = 256

// record is what a subject's reverse key ("k.<kind>.<id>") holds: the key
// of its current entry in the due index and the occurrences it has
// published. Keeping the markers here, rather than in messages of their
// own, makes a sweep's bookkeeping for a subject one compare-and-set
// write: the entry's move (or drop) and the markers land together.
type record struct {
	// Entry is the subject's current index entry ("now.…" or "t.…"); ""
	// when nothing is due, a record kept only for its markers.
	Entry string `json:"entry,omitempty"`
	// Sent holds, per occurrence marker (Target.Marker), the channels
	// already published.
	Sent map[string]mark `json:"sent,omitempty"`
	// OldMarkersUntil is set on a record converted from the plain entry
	// key stored before markers moved here: until then, the occurrences
	// bucket may still hold this subject's markers, and the sweep reads
	// them too.
	OldMarkersUntil time.Time `json:"old_markers_until,omitzero"`
}

// mark is what one occurrence's marker says.
type mark struct {
	Channels []domain.Channel `json:"ch"`
	At       time.Time        `json:"at"`
}

// decodeRecord reads a reverse key's value. A value that is not a JSON
// object is the plain entry key of earlier versions, whose markers are in
// the occurrences bucket for at most markerTTL from now. ok is false for
// an object that does not decode.
func decodeRecord(data []byte, now time.Time) (r record, ok bool) {
	if len(data) == 0 || data[0] != '{' {
		return record{Entry: string(data), OldMarkersUntil: now.Add(markerTTL)}, true
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return record{}, false
	}
	return r, true
}

// encode returns the record as stored.
func (r record) encode() []byte {
	data, err := json.Marshal(r)
	if err != nil {
		// A record is strings, channels and times: it always encodes.
		panic("scheduler: encode index record: " + err.Error())
	}
	return data
}

// readsOldMarkers says whether the occurrences bucket may still hold
// markers of this subject.
func (r record) readsOldMarkers(now time.Time) bool {
	return !r.OldMarkersUntil.IsZero() && now.Before(r.OldMarkersUntil)
}

// done returns the channels already published for an occurrence marker.
func (r record) done(marker string) []domain.Channel { return r.Sent[marker].Channels }

// markSent adds channels to an occurrence's marker.
func (r *record) markSent(marker string, chs []domain.Channel, at time.Time) {
	if r.Sent == nil {
		r.Sent = map[string]mark{}
	}
	m := r.Sent[marker]
	for _, ch := range chs {
		if !slices.Contains(m.Channels, ch) {
			m.Channels = append(slices.Clip(m.Channels), ch)
		}
	}
	m.At = at
	r.Sent[marker] = m
}

// merge adds the markers of other, as markSent would.
func (r *record) merge(other map[string]mark) {
	for k, m := range other {
		r.markSent(k, m.Channels, m.At)
	}
}

// prune forgets markers older than markerTTL and all but the maxMarks
// newest, and the old occurrences bucket once its markers have expired.
func (r *record) prune(now time.Time) {
	for k, m := range r.Sent {
		if now.Sub(m.At) > markerTTL {
			delete(r.Sent, k)
		}
	}
	if len(r.Sent) > maxMarks {
		keys := slices.SortedFunc(maps.Keys(r.Sent), func(a, b string) int { return r.Sent[b].At.Compare(r.Sent[a].At) })
		for _, k := range keys[maxMarks:] {
			delete(r.Sent, k)
		}
	}
	if len(r.Sent) == 0 {
		r.Sent = nil
	}
	if !r.readsOldMarkers(now) {
		r.OldMarkersUntil = time.Time{}
	}
}
