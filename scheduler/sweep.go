package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/logging"
	"github.com/forbear/forbear/internal/store"
)

// Stats summarise one sweep.
type Stats struct {
	// Due is the number of current index entries that were due and
	// processed (stale entries are not counted).
	Due int
	// Listed is the number of index entries the listing returned,
	// stale ones included.
	Listed int
	// Lists is the number of key-listing calls the sweep made.
	Lists int
	// Published is the number of reminders published.
	Published int
	// Skipped is the number of reminders of live occurrences not
	// published: already published, suppressed, or held by an agreement.
	Skipped int
	// Dropped is the number of subjects removed from the index (closed,
	// missing, inactive, or nothing left to send).
	Dropped int
	// Failed is the number of subjects whose processing failed; they are
	// due again at the next sweep.
	Failed int
	// Duration is how long the sweep took (wall time).
	Duration time.Duration
}

func (st Stats) fields() logrus.Fields {
	return logrus.Fields{
		"due": st.Due, "listed": st.Listed, "lists": st.Lists, "published": st.Published,
		"skipped": st.Skipped, "dropped": st.Dropped, "failed": st.Failed, "duration": st.Duration.String(),
	}
}

// sweep is the state of one Sweep call shared by its workers.
type sweep struct {
	s           *Scheduler
	nowLaneOnly bool // a sweep a nudge asked for
	now         time.Time
	floor       time.Time // earliest minute a new time key may use: after the cursor

	// debug: whether debug logs are on; building a per-reminder log entry
	// otherwise costs a map and several allocations for nothing.
	debug bool

	seen  sync.Map // listed keys already taken by a worker
	zones sync.Map // borrower id -> *time.Location, for this sweep

	listed, due, published, skipped, dropped, failed atomic.Int64
	incomplete                                       atomic.Bool
}

// Sweep processes every due index entry at the clock's now: it publishes
// the latest live occurrence of each step of each due loan or agreement,
// once, and moves the entry to its next due time (or drops it). Its cost
// is proportional to what is due, not to the number of cases. Sweep does
// not check the lease; Start and SweepIfLeader do.
func (s *Scheduler) Sweep(ctx context.Context) (Stats, error) {
	return s.sweep(ctx, false)
}

// sweep is Sweep, or with nowLaneOnly a sweep of the now lane alone that
// leaves the time keys and the cursor to the scheduled sweep.
func (s *Scheduler) sweep(ctx context.Context, nowLaneOnly bool) (Stats, error) {
	if !nowLaneOnly {
		s.scheduledWaiting.Add(1) // now-lane sweeps give way meanwhile
	}
	s.sweepMu.Lock()
	if !nowLaneOnly {
		s.scheduledWaiting.Add(-1)
	}
	defer s.sweepMu.Unlock()
	began := time.Now()
	defer s.watchBudget(began)()
	now := s.clock.Now()

	cur, err := s.cursor(ctx)
	if err != nil {
		return Stats{}, err
	}
	upto := now.UTC().Truncate(time.Minute)
	next := upto
	if cur.After(upto) || nowLaneOnly {
		// The clock went back (or another leader's ran ahead): never
		// move the cursor backwards. A now-lane sweep lists no minutes,
		// so it leaves the cursor where it is, and a subject it moves
		// lands after it.
		next = cur
	}
	if !nowLaneOnly {
		s.failed.Clear() // this sweep retries them
	}
	sw := &sweep{s: s, nowLaneOnly: nowLaneOnly, now: now, floor: next.Add(time.Minute), debug: s.log.Logger.IsLevelEnabled(logrus.DebugLevel)}
	filters := []string{nowPrefix + ">"}
	if !nowLaneOnly {
		filters = append(rangeFilters(cur, upto), filters...)
	}

	entries := make(chan listed, 1024)
	var lists int
	var listErr error
	go func() {
		defer close(entries)
		lists, listErr = listEntries(ctx, s.due, filters, entries)
	}()
	var wg sync.WaitGroup
	for range s.workers {
		wg.Go(func() {
			w := &worker{sw: sw}
			w.run(ctx, entries)
		})
	}
	wg.Wait()

	stats := Stats{
		Due: int(sw.due.Load()), Listed: int(sw.listed.Load()), Lists: lists,
		Published: int(sw.published.Load()), Skipped: int(sw.skipped.Load()),
		Dropped: int(sw.dropped.Load()), Failed: int(sw.failed.Load()),
	}
	switch {
	case listErr != nil:
		err = listErr
	case sw.incomplete.Load():
		err = errors.New("scheduler: sweep incomplete: some subjects could not be requeued")
	case ctx.Err() != nil:
		err = ctx.Err()
	case !next.Equal(cur):
		// Only now is everything up to next handled; a crash before this
		// line re-lists the range, which is harmless.
		if _, perr := s.due.Put(ctx, cursorKey, []byte(next.Format(cursorLayout))); perr != nil {
			err = fmt.Errorf("scheduler: write cursor: %w", perr)
		}
	}
	stats.Duration = time.Since(began)
	if !nowLaneOnly { // the histogram is of scheduled sweeps, which have a budget
		s.metrics.Sweep(stats.Duration)
	}
	s.metrics.Published(stats.Published)
	if stats.Duration > s.budget {
		s.log.WithFields(stats.fields()).WithField("budget", s.budget.String()).Warn("scheduler: sweep ended past its budget")
	}
	return stats, err
}

// watchBudget marks a sweep as running from began and, should it still
// run when its budget is spent, warns and counts the overrun at that
// moment rather than when (or if) it ends. The returned func ends the
// watch.
func (s *Scheduler) watchBudget(began time.Time) (end func()) {
	s.sweepBegan.Store(began.UnixNano())
	t := time.AfterFunc(s.budget-time.Since(began), func() { // the budget counts from began
		s.metrics.SweepOverrun()
		s.log.WithField("budget", s.budget.String()).Warn("scheduler: sweep still running past its budget; later runs are skipped until it ends")
	})
	return func() {
		t.Stop()
		s.sweepBegan.Store(0)
	}
}

// worker processes listed entries in batches; several run at once. A
// batch reads what its subjects need with a few multi-key reads, publishes
// everything asynchronously and waits once, so the cost per subject is a
// handful of pipelined messages rather than a chain of round trips.
type worker struct {
	sw    *sweep
	later acks   // deferred writes: markers, drops, stale deletions
	moves []move // deferred index moves
}

// move is a subject's index entry moving to a new time key. The old entry
// is deleted only once the new one and the reverse key are written, so a
// failed write never loses the subject.
type move struct {
	sub      subject
	old      listed
	put, cas jetstream.PubAckFuture
	err      error
}

// item is one listed entry going through a batch.
type item struct {
	e      listed
	sub    subject
	revRev uint64 // revision of the subject's reverse key
	p      Plan
	sup    domain.Suppressions
	marks  []markerState
	sent   []sent
	wake   time.Time
	err    error
}

// markerState is what an occurrence marker said before this sweep.
type markerState struct {
	rev  uint64
	done []domain.Channel
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
			w.later, w.moves = acks{}, w.moves[:0]
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
			continue // left to the scheduled sweep, see Scheduler.failed
		}
		sub, ok := parseEntryKey(e.key)
		if !ok {
			s.log.WithField("key", e.key).Warn("scheduler: malformed due index key, deleting")
			w.later.addCAS(s.dueW.del(e.key, true, e.rev))
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

// load drops stale entries from items and plans the rest: reverse keys,
// cases, agreements, borrowers, markers and suppressions, each read for
// the whole batch at once.
func (w *worker) load(ctx context.Context, items *[]*item) error {
	s := w.sw.s
	revKeys := make([]string, len(*items))
	for i, it := range *items {
		revKeys[i] = it.sub.revKey()
	}
	revs, err := s.getMany(ctx, s.due, revKeys)
	if err != nil {
		return fmt.Errorf("read reverse keys: %w", err)
	}
	current := (*items)[:0]
	var caseKeys, agrKeys []string
	for _, it := range *items {
		rv, ok := revs[it.sub.revKey()]
		if !ok || string(rv.data) != it.e.key {
			// Not the subject's current entry: left behind by a Reindex or
			// a move that raced. Remove it unless rewritten meanwhile.
			w.later.addCAS(s.dueW.del(it.e.key, true, it.e.rev))
			continue
		}
		it.revRev = rv.rev
		current = append(current, it)
		if it.sub.kind == KindLoan {
			caseKeys = append(caseKeys, store.Token(it.sub.id))
		} else {
			agrKeys = append(agrKeys, store.Token(it.sub.id))
		}
	}
	*items = current
	w.sw.due.Add(int64(len(current)))
	if len(current) == 0 {
		return nil
	}
	cases, err := s.getMany(ctx, s.state.Cases, caseKeys)
	if err != nil {
		return fmt.Errorf("read cases: %w", err)
	}
	agrs, err := s.getMany(ctx, s.state.Agreements, agrKeys)
	if err != nil {
		return fmt.Errorf("read agreements: %w", err)
	}
	// Decode, and find the borrowers whose zone this sweep has not seen.
	type record struct {
		c   *domain.Case
		a   *domain.Agreement
		bid string
	}
	recs := make([]record, len(current))
	var borrowerKeys []string
	for i, it := range current {
		var v kvVal
		var ok bool
		if it.sub.kind == KindLoan {
			if v, ok = cases[store.Token(it.sub.id)]; ok {
				recs[i].c = new(domain.Case)
				if err := json.Unmarshal(v.data, recs[i].c); err != nil {
					it.err = fmt.Errorf("decode case: %w", err)
					continue
				}
				recs[i].bid = recs[i].c.BorrowerID
			}
		} else if v, ok = agrs[store.Token(it.sub.id)]; ok {
			recs[i].a = new(domain.Agreement)
			if err := json.Unmarshal(v.data, recs[i].a); err != nil {
				it.err = fmt.Errorf("decode agreement: %w", err)
				continue
			}
			recs[i].bid = recs[i].a.BorrowerID
		}
		if recs[i].bid != "" {
			if _, seen := w.sw.zones.Load(recs[i].bid); !seen {
				borrowerKeys = append(borrowerKeys, store.Token(recs[i].bid))
			}
		}
	}
	if err := w.loadZones(ctx, borrowerKeys); err != nil {
		return err
	}
	var markerKeys []string
	for i, it := range current {
		if it.err != nil {
			continue
		}
		it.p, it.err = w.plan(it.sub, recs[i].c, recs[i].a, w.zoneOf(recs[i].bid))
		for _, t := range it.p.Targets {
			markerKeys = append(markerKeys, t.Marker)
		}
	}
	marks, err := s.getMany(ctx, s.occ, markerKeys)
	if err != nil {
		return fmt.Errorf("read occurrence markers: %w", err)
	}
	// Suppressions have no direct get (reads come from the stream leader):
	// one read per borrower with something to send, run concurrently,
	// unless the cached view lets everything through (see
	// Options.Suppressions).
	need := map[string][]*item{}
	for _, it := range current {
		if it.err != nil || len(it.p.Targets) == 0 || w.markers(it, marks) == 0 {
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

// loadZones reads borrowers and caches their time zones for the sweep.
func (w *worker) loadZones(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	s := w.sw.s
	bs, err := s.getMany(ctx, s.state.Borrowers, keys)
	if err != nil {
		return fmt.Errorf("read borrowers: %w", err)
	}
	for _, k := range keys {
		id, err := store.FromToken(k)
		if err != nil {
			continue
		}
		name := ""
		if v, ok := bs[k]; ok {
			var b domain.Borrower
			if json.Unmarshal(v.data, &b) == nil {
				name = b.Timezone
			}
		}
		w.sw.zones.Store(id, s.location(name))
	}
	return nil
}

func (w *worker) zoneOf(borrowerID string) *time.Location {
	if v, ok := w.sw.zones.Load(borrowerID); ok {
		return v.(*time.Location)
	}
	return w.sw.s.defZone
}

// cachedClear returns the cached view of the item's borrower when there is
// one and it withholds none of the item's reminders still to send. The
// sweep withholds a reminder only on the leader's word, so that a view
// that still shows a lifted suppression cannot lose an occurrence.
func (w *worker) cachedClear(it *item) (domain.Suppressions, bool) {
	if w.sw.s.cachedSup == nil {
		return domain.Suppressions{}, false
	}
	sup, ok := w.sw.s.cachedSup(it.p.BorrowerID)
	if !ok {
		return domain.Suppressions{}, false
	}
	for i, t := range it.p.Targets {
		for _, ch := range t.Channels {
			if slices.Contains(it.marks[i].done, ch) {
				continue
			}
			rem := t.Reminder
			rem.Channel = ch
			if _, blocked := sup.Blocking(rem, "", w.sw.now); blocked {
				return domain.Suppressions{}, false
			}
		}
	}
	return sup, true
}

// markers records what each target's marker says and returns how many
// reminders of the item are still to send.
func (w *worker) markers(it *item, marks map[string]kvVal) int {
	it.marks = make([]markerState, len(it.p.Targets))
	todo := 0
	for i, t := range it.p.Targets {
		if v, ok := marks[t.Marker]; ok {
			var mv markerValue
			if err := json.Unmarshal(v.data, &mv); err != nil {
				// Unreadable marker: treat the occurrence as sent rather
				// than risk a duplicate.
				mv.Channels = t.Channels
			}
			it.marks[i] = markerState{rev: v.rev, done: mv.Channels}
		}
		for _, ch := range t.Channels {
			if slices.Contains(it.marks[i].done, ch) {
				w.sw.skipped.Add(1)
			} else {
				todo++
			}
		}
	}
	return todo
}

// send publishes the unsent, unsuppressed channels of every item and waits
// for all the acknowledgements at once.
func (w *worker) send(ctx context.Context, items []*item) {
	s, now := w.sw.s, w.sw.now
	var auditAcks acks
	for _, it := range items {
		if it.err != nil || it.p.Drop != "" || it.marks == nil {
			continue
		}
		for i, t := range it.p.Targets {
			for _, ch := range t.Channels {
				if slices.Contains(it.marks[i].done, ch) {
					continue
				}
				rem := t.Reminder
				rem.Channel = ch
				rem.ID = ReminderID(rem.Occurrence, string(ch))
				if blk, until, blocked := Withheld(it.sup, rem, now); blocked {
					// No new occurrence in a suppressed scope; a mute that
					// ends brings the subject back when it ends.
					w.sw.skipped.Add(1)
					if !until.IsZero() && (it.wake.IsZero() || until.Before(it.wake)) {
						it.wake = until
					}
					if w.sw.debug {
						s.log.WithFields(reminderFields(rem)).WithField("reason", blk.Reason()).Debug("scheduler: suppressed, not scheduled")
					}
					continue
				}
				data, err := json.Marshal(rem)
				if err == nil {
					var f jetstream.PubAckFuture
					f, err = s.js.PublishAsync(store.ReminderSubject(string(ch), rem.BorrowerID), data,
						jetstream.WithMsgID(rem.ID), jetstream.WithStallWait(stallWait))
					if err == nil {
						it.sent = append(it.sent, sent{t: i, rem: rem, f: f})
					}
				}
				if err != nil {
					it.err = errors.Join(it.err, fmt.Errorf("publish %s: %w", rem.ID, err))
				}
			}
		}
	}
	for _, it := range items {
		for i := range it.sent {
			x := &it.sent[i]
			if x.err = waitAck(ctx, x.f); x.err != nil {
				it.err = errors.Join(it.err, fmt.Errorf("publish %s: %w", x.rem.ID, x.err))
				continue
			}
			w.sw.published.Add(1)
			// Only now is the reminder queued: a publish that failed (a
			// stream without a leader, say) leaves no "queued" line for
			// a reminder that a later sweep may replace by a newer
			// occurrence.
			if s.audit != nil {
				auditAcks.add(w.recordQueued(x.rem, now))
			}
			if w.sw.debug {
				s.log.WithFields(reminderFields(x.rem)).Debug("scheduler: queued")
			}
		}
	}
	if err := auditAcks.wait(ctx); err != nil {
		// The reminders are on their way; only "queued" lines are missing.
		s.log.WithError(err).Warn("scheduler: audit records")
	}
}

// finish writes an item's markers and moves, drops or requeues its entry.
func (w *worker) finish(ctx context.Context, it *item) {
	s, now := w.sw.s, w.sw.now
	// Markers only after the stream acknowledged the publishes: a crash
	// in between republishes, and the dedup window drops the copy.
	newly := make([][]domain.Channel, len(it.p.Targets))
	for _, x := range it.sent {
		if x.err == nil {
			newly[x.t] = append(newly[x.t], x.rem.Channel)
		}
	}
	for i, t := range it.p.Targets {
		if len(newly[i]) == 0 {
			continue
		}
		mv := markerValue{Channels: append(slices.Clone(it.marks[i].done), newly[i]...), At: now}
		data, err := json.Marshal(mv)
		if err != nil {
			it.err = errors.Join(it.err, err)
			continue
		}
		w.later.addCAS(s.occW.put(t.Marker, data, true, it.marks[i].rev))
	}
	if it.err != nil {
		w.sw.failed.Add(1)
		s.failed.Store(it.sub.nowKey(), struct{}{})
		s.log.WithError(it.err).WithFields(logrus.Fields{"kind": it.sub.kind, "id": it.sub.id}).Error("scheduler: subject failed, retrying at the next sweep")
		w.requeue(ctx, it.sub)
		return
	}
	if it.p.Drop != "" {
		w.drop(it.sub, it.e, it.revRev, it.p.Drop)
		return
	}
	w.sw.skipped.Add(int64(it.p.Held))
	next := it.p.Reschedule(it.wake)
	if next.IsZero() {
		w.drop(it.sub, it.e, it.revRev, "nothing left to send")
		return
	}
	w.reschedule(it.sub, it.e, it.revRev, next)
}

// requeue puts a subject in the now lane, so that the next sweep retries
// it whatever the cursor does.
func (w *worker) requeue(ctx context.Context, sub subject) {
	// Without a nudge: a subject that failed waits for the scheduled
	// sweep rather than making the leader retry it at once, in a loop.
	if err := w.sw.s.reindex(ctx, sub); err != nil {
		w.sw.incomplete.Store(true)
		w.sw.s.log.WithError(err).WithFields(logrus.Fields{"kind": sub.kind, "id": sub.id}).Error("scheduler: requeue")
	}
}

// flush waits for the deferred writes, then deletes the old entries of
// the moves that completed.
func (w *worker) flush(ctx context.Context) {
	log := w.sw.s.log
	if err := w.later.wait(ctx); err != nil {
		// Markers and drops are recoverable: a missing marker is covered by
		// the dedup window, a missed drop by the next listing.
		log.WithError(err).Warn("scheduler: deferred writes")
	}
	for _, m := range w.moves {
		err := m.err
		if err == nil {
			err = waitAck(ctx, m.put)
		}
		if err == nil {
			if cerr := waitAck(ctx, m.cas); cerr != nil && !store.IsWrongSequence(cerr) {
				err = cerr
			}
		}
		if err != nil {
			log.WithError(err).WithFields(logrus.Fields{"kind": m.sub.kind, "id": m.sub.id}).Warn("scheduler: reschedule failed, requeueing")
			w.requeue(ctx, m.sub)
			continue
		}
		// Conditional on the revision listed: if a Reindex rewrote the
		// entry meanwhile, it stays.
		w.later.addCAS(w.sw.s.dueW.del(m.old.key, true, m.old.rev))
	}
	w.moves = w.moves[:0]
	if err := w.later.wait(ctx); err != nil {
		log.WithError(err).Warn("scheduler: delete old index entries")
	}
}

// drop removes a subject from the index; both deletions are conditional,
// so a Reindex that raced wins.
func (w *worker) drop(sub subject, e listed, revRev uint64, why string) {
	s := w.sw.s
	w.sw.dropped.Add(1)
	if w.sw.debug {
		s.log.WithFields(logrus.Fields{"kind": sub.kind, "id": sub.id, "reason": why}).Debug("scheduler: unindex")
	}
	w.later.addCAS(s.dueW.del(e.key, true, e.rev))
	w.later.addCAS(s.dueW.del(sub.revKey(), true, revRev))
}

// reschedule moves a subject's entry to the minute of next.
func (w *worker) reschedule(sub subject, e listed, revRev uint64, next time.Time) {
	s := w.sw.s
	if ceilMinute(next).Before(w.sw.floor) {
		// Must land after the cursor this sweep writes, or it would never
		// be listed.
		next = w.sw.floor
	}
	key := sub.timeKey(next)
	m := move{sub: sub, old: e}
	m.put, m.err = s.dueW.put(key, nil, false, 0)
	if m.err == nil {
		m.cas, m.err = s.dueW.put(sub.revKey(), []byte(key), true, revRev)
	}
	w.moves = append(w.moves, m)
}

// markerValue records which channels of an occurrence were published.
type markerValue struct {
	Channels []domain.Channel `json:"channels"`
	At       time.Time        `json:"at"`
}

// sent is one reminder publish in flight.
type sent struct {
	t   int // index into Plan.Targets
	rem domain.Reminder
	f   jetstream.PubAckFuture
	err error
}

// recordQueued writes the "queued" delivery record of rem. The recorder
// publishes with the client's default stall wait, which a big sweep can
// exceed while the publish cap is full: retry rather than lose the line.
func (w *worker) recordQueued(rem domain.Reminder, now time.Time) (jetstream.PubAckFuture, error) {
	d := domain.NewDelivery(rem, domain.Queued, now)
	for attempt := 0; ; attempt++ {
		f, err := w.sw.s.audit.RecordAsync(d)
		if err == nil || !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || attempt >= 50 {
			return f, err
		}
	}
}

func reminderFields(r domain.Reminder) logrus.Fields {
	return logrus.Fields{
		logging.FieldBorrower: r.BorrowerID, logging.FieldLoan: r.LoanID,
		logging.FieldStep: r.Step, logging.FieldChannel: string(r.Channel), logging.FieldMsg: r.ID,
	}
}
