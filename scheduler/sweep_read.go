package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// worker processes listed entries in batches; several run at once. A
// batch reads what its subjects need with a few multi-key reads (this
// file), decides what to publish and where each entry goes (decide.go),
// publishes everything asynchronously and waits once (sweep_write.go), so
// the cost per subject is a handful of pipelined messages rather than a
// chain of round trips.
type worker struct {
	sw    *sweep
	moves []move      // deferred index moves
	recs  []recordPut // deferred record writes of drops
}

// item is one listed entry going through a batch.
type item struct {
	e      listed
	sub    subject
	rec    record // the subject's index record, as read
	recRev uint64 // its revision
	p      Plan
	sup    domain.Suppressions
	sent   []sent
	wake   time.Time
	// newly is the markers this sweep adds, kept apart so that a record
	// write that loses a race to a Reindex can add them to the winner.
	newly map[string]mark
	err   error
}

func (w *worker) run(ctx context.Context, in <-chan listed) {
	batch := make([]listed, 0, w.sw.s.batch)
	for e := range in {
		batch = append(batch[:0], e)
	fill:
		for len(batch) < cap(batch) {
			select {
			case e, ok := <-in:
				if !ok {
					break fill
				}
				batch = append(batch, e)
			default:
				break fill
			}
		}
		w.safely(batch, func() {
			w.batch(ctx, batch)
			w.flush(ctx)
		})
	}
	w.safely(nil, func() { w.flush(ctx) })
}

// safely runs one batch's work and contains a panic: the batch's entries
// stay where they are (the sweep is marked incomplete, so the cursor does
// not move past them and the next sweep lists them again) and this worker
// goes on with the next batch. Without it one panic would end the
// process, and with all workers gone the listing would block for good.
func (w *worker) safely(batch []listed, f func()) {
	defer func() {
		if r := recover(); r != nil {
			w.sw.incomplete.Store(true)
			w.sw.failed.Add(int64(len(batch)))
			w.moves, w.recs = w.moves[:0], w.recs[:0]
			keys := make([]string, len(batch))
			for i, e := range batch {
				keys[i] = e.key
			}
			w.sw.s.log.WithFields(logrus.Fields{"keys": keys, "panic": fmt.Sprint(r), "stack": string(debug.Stack())}).
				Error("scheduler: batch panicked; its subjects are retried at the next sweep")
		}
	}()
	f()
}

// batch processes a batch of listed entries.
func (w *worker) batch(ctx context.Context, es []listed) {
	s := w.sw.s
	w.sw.listed.Add(int64(len(es)))
	items := make([]*item, 0, len(es))
	for _, e := range es {
		if _, dup := w.sw.seen.LoadOrStore(e.key, true); dup {
			continue // a listing may report a key twice
		}
		if _, failed := s.failed.Load(e.key); failed && w.sw.nowLaneOnly {
			w.sw.leftListed.Store(true)
			continue // left to the scheduled sweep, see Scheduler.failed
		}
		sub, ok := parseEntryKey(e.key)
		if !ok {
			s.log.WithField("key", e.key).Warn("scheduler: malformed due index key, removed with the listing")
			continue
		}
		items = append(items, &item{e: e, sub: sub})
	}
	if len(items) == 0 {
		return
	}
	if ctx.Err() != nil {
		w.sw.incomplete.Store(true)
		return
	}
	if err := w.load(ctx, &items); err != nil {
		for _, it := range items {
			it.err = err
		}
	}
	w.send(ctx, items)
	for _, it := range items {
		w.finish(ctx, it)
	}
}

// load drops stale entries from items and plans the rest: records, cases,
// agreements, borrowers and suppressions, each read for the whole batch
// at once.
func (w *worker) load(ctx context.Context, items *[]*item) error {
	s := w.sw.s
	if err := w.loadRecords(ctx, items); err != nil {
		return err
	}
	current := *items
	w.sw.due.Add(int64(len(current)))
	if len(current) == 0 {
		return nil
	}
	var caseKeys, agrKeys []string
	for _, it := range current {
		if it.sub.kind == KindLoan {
			caseKeys = append(caseKeys, store.Token(it.sub.id))
		} else {
			agrKeys = append(agrKeys, store.Token(it.sub.id))
		}
	}
	cases, err := s.getMany(ctx, s.state.Cases, caseKeys)
	if err != nil {
		return fmt.Errorf("read cases: %w", err)
	}
	agrs, err := s.getMany(ctx, s.state.Agreements, agrKeys)
	if err != nil {
		return fmt.Errorf("read agreements: %w", err)
	}
	// Decode, and find the borrowers.
	type found struct {
		c    *domain.Case
		cRev uint64
		a    *domain.Agreement
		bid  string
	}
	recs := make([]found, len(current))
	var borrowerKeys []string
	for i, it := range current {
		var v store.Entry[[]byte]
		var ok bool
		if it.sub.kind == KindLoan {
			if v, ok = cases[store.Token(it.sub.id)]; ok {
				recs[i].c = new(domain.Case)
				if err := json.Unmarshal(v.Value, recs[i].c); err != nil {
					it.err = fmt.Errorf("decode case: %w", err)
					continue
				}
				recs[i].bid, recs[i].cRev = recs[i].c.BorrowerID, v.Revision
			}
		} else if v, ok = agrs[store.Token(it.sub.id)]; ok {
			recs[i].a = new(domain.Agreement)
			if err := json.Unmarshal(v.Value, recs[i].a); err != nil {
				it.err = fmt.Errorf("decode agreement: %w", err)
				continue
			}
			recs[i].bid = recs[i].a.BorrowerID
		}
		if recs[i].bid != "" {
			borrowerKeys = append(borrowerKeys, store.Token(recs[i].bid))
		}
	}
	borrowers, err := w.loadBorrowers(ctx, borrowerKeys)
	if err != nil {
		return err
	}
	for i, it := range current {
		if it.err != nil {
			continue
		}
		b := borrowers[recs[i].bid]
		zone := s.defZone
		if b.Value != nil {
			zone = s.location(b.Value.Timezone)
		}
		it.p, it.err = w.plan(it.sub, recs[i].c, recs[i].a, zone)
		if b.Value != nil {
			snapshot(&it.p, b, recs[i].c, recs[i].cRev)
		}
	}
	if err := w.loadOldMarkers(ctx, current); err != nil {
		return err
	}
	return w.loadSuppressions(ctx, current)
}

// loadRecords reads the records of items and drops from items the
// entries that are not their subject's current one: left behind by a
// Reindex or a move that raced, they are deleted unless rewritten
// meanwhile.
func (w *worker) loadRecords(ctx context.Context, items *[]*item) error {
	s := w.sw.s
	keys := make([]string, len(*items))
	for i, it := range *items {
		keys[i] = it.sub.revKey()
	}
	vals, err := s.getMany(ctx, s.due, keys)
	if err != nil {
		return fmt.Errorf("read index records: %w", err)
	}
	current := (*items)[:0]
	for _, it := range *items {
		v, found := vals[it.sub.revKey()]
		rec, ok := decodeRecord(v.Value, w.sw.now)
		switch {
		case found && !ok:
			// Unreadable: retried through the now lane, whose Reindex
			// writes the record afresh.
			it.err = fmt.Errorf("index record %s does not decode", it.sub.revKey())
		case !found || rec.Entry != it.e.key:
			continue // stale: removed with the listing
		}
		it.rec, it.recRev = rec, v.Revision
		current = append(current, it)
	}
	*items = current
	return nil
}

// loadOldMarkers adds to the records that may still have markers in the
// occurrences bucket (written before markers moved into the index) those
// of their live occurrences.
func (w *worker) loadOldMarkers(ctx context.Context, items []*item) error {
	s, now := w.sw.s, w.sw.now
	var keys []string
	for _, it := range items {
		if it.err == nil && it.rec.readsOldMarkers(now) {
			for _, t := range it.p.Targets {
				keys = append(keys, t.Marker)
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	old, err := s.getMany(ctx, s.occ, keys)
	if err != nil {
		return fmt.Errorf("read occurrence markers: %w", err)
	}
	for _, it := range items {
		if it.err != nil || !it.rec.readsOldMarkers(now) {
			continue
		}
		for _, t := range it.p.Targets {
			v, ok := old[t.Marker]
			if !ok {
				continue
			}
			var mv markerValue
			if err := json.Unmarshal(v.Value, &mv); err != nil {
				// Unreadable marker: treat the occurrence as sent rather
				// than risk a duplicate.
				mv = markerValue{Channels: t.Channels, At: now}
			}
			it.rec.markSent(t.Marker, mv.Channels, mv.At)
		}
	}
	return nil
}

// markerValue is an occurrence marker as the occurrences bucket held it.
type markerValue struct {
	Channels []domain.Channel `json:"channels"`
	At       time.Time        `json:"at"`
}

// loadSuppressions reads the suppressions of the borrowers with something
// to send. Suppressions have no direct get (reads come from the stream
// leader): one read per borrower, run concurrently, unless the cached
// view lets everything through (see Options.Suppressions).
func (w *worker) loadSuppressions(ctx context.Context, items []*item) error {
	s := w.sw.s
	need := map[string][]*item{}
	for _, it := range items {
		if it.err != nil || unsent(it.p, it.rec) == 0 {
			continue
		}
		if sup, ok := w.cachedClear(it); ok {
			it.sup = sup
			continue
		}
		need[it.p.BorrowerID] = append(need[it.p.BorrowerID], it)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for bid, its := range need {
		wg.Go(func() {
			sup, err := s.state.Suppressions(ctx, bid)
			mu.Lock()
			defer mu.Unlock()
			for _, it := range its {
				it.sup, it.err = sup, err
			}
		})
	}
	wg.Wait()
	return nil
}

// cachedClear returns the cached view of the item's borrower when there is
// one and it withholds none of the item's reminders still to send.
func (w *worker) cachedClear(it *item) (domain.Suppressions, bool) {
	if w.sw.s.cachedSup == nil {
		return domain.Suppressions{}, false
	}
	sup, ok := w.sw.s.cachedSup(it.p.BorrowerID)
	if !ok || !clearFor(it.p, it.rec, sup, w.sw.now) {
		return domain.Suppressions{}, false
	}
	return sup, true
}

// plan plans one subject from its record (nil when not found) with the
// scheduler's Planner, and logs what the plan had to leave out. A panic
// is contained here, where a record's content drives the work: the
// subject fails (and is retried at the next sweep) while the sweep and
// the rest of the batch carry on.
func (w *worker) plan(sub subject, c *domain.Case, a *domain.Agreement, loc *time.Location) (p Plan, err error) {
	defer func() {
		if r := recover(); r != nil {
			w.sw.s.log.WithFields(logrus.Fields{"kind": sub.kind, "id": sub.id, "stack": string(debug.Stack())}).
				Error("scheduler: planning panicked")
			p, err = Plan{}, fmt.Errorf("planning panicked: %v", r)
		}
	}()
	pl := w.sw.s.planner
	switch {
	case sub.kind == KindLoan && c == nil:
		return Plan{Drop: "case not found"}, nil
	case sub.kind == KindLoan:
		p = pl.PlanLoan(*c, loc, w.sw.now)
	case a == nil:
		return Plan{Drop: "agreement not found"}, nil
	default:
		p = pl.PlanAgreement(*a, loc, w.sw.now)
	}
	for _, prob := range p.Problems {
		w.sw.s.log.WithError(prob).WithFields(logrus.Fields{"kind": sub.kind, "id": sub.id}).Warn("scheduler: left out of the plan")
	}
	return p, nil
}

// loadBorrowers reads the batch's borrowers, by id, as the snapshots
// carry them (domain.SnapshotBorrower). A borrower that is missing or does
// not decode is absent: its subjects are planned in the default zone and
// their reminders carry no snapshot of it (the worker reads it, and fails
// the reminder as unknown_borrower).
func (w *worker) loadBorrowers(ctx context.Context, keys []string) (map[string]store.Entry[*domain.Borrower], error) {
	out := map[string]store.Entry[*domain.Borrower]{}
	if len(keys) == 0 {
		return out, nil
	}
	s := w.sw.s
	slices.Sort(keys)
	bs, err := s.getMany(ctx, s.state.Borrowers, slices.Compact(keys))
	if err != nil {
		return nil, fmt.Errorf("read borrowers: %w", err)
	}
	for k, v := range bs {
		var b domain.Borrower
		if json.Unmarshal(v.Value, &b) != nil {
			continue
		}
		id, err := store.FromToken(k)
		if err != nil {
			continue
		}
		out[id] = store.Entry[*domain.Borrower]{Value: domain.SnapshotBorrower(b), Revision: v.Revision}
	}
	return out, nil
}

// snapshot copies into every reminder planned in p the borrower b and a
// loan reminder's case c (nil for an agreement), with the revisions they
// were read at, so that the worker does not read them again unless a
// change is noted after them (see domain.Snapshot).
func snapshot(p *Plan, b store.Entry[*domain.Borrower], c *domain.Case, caseRev uint64) {
	for i := range p.Targets {
		r := &p.Targets[i].Reminder
		snap := &domain.Snapshot{}
		if r.Snapshot != nil {
			*snap = *r.Snapshot
		}
		snap.Borrower, snap.BorrowerRev = b.Value, b.Revision
		if c != nil && r.AgreementID == "" {
			snap.Case, snap.CaseRev = c, caseRev
		}
		r.Snapshot = snap
	}
}
