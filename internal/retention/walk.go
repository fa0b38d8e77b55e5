package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
)

// The walk of the index.
//
// The index is one key per borrower (b.<token>), and the bucket keeps one
// message per key: a touch replaces the borrower's older message with one
// at the stream's end. So the bucket's stream lists the borrowers in the
// order of their last touch, and a run reads it in that order, a page of
// store.ReadBatch at a time (direct gets: no consumer is left on the
// server, see store.Reader). The order is only rough (touches of other
// instances, a clock that jumps, a backfill that sets older days), so the
// walk does not stop at the first young entry: it reads them all and
// skips the young ones, which costs a page read per ReadBatch borrowers.

// walkKey holds where the walk of the borrower keys stopped at a bound.
const walkKey = "walk"

// walkState is the value of walkKey: the next run walks the borrower keys
// from stream sequence Next on. A run that reaches the end removes it, so
// that the next run starts at the beginning.
type walkState struct {
	Next uint64 `json:"next"`
}

// errBound stops the walk at the entry that would pass MaxPerRun.
var errBound = errors.New("retention: the run's bound is reached")

// walk reads the index in stream order, at most MaxWalkPerRun entries, and
// handles those whose day is before the cutoff's day (at most MaxPerRun):
// first what is left of the older layout (legacy), then the borrower keys
// from where the last run stopped. When it stops at a bound it saves where
// and sets rep.More.
func (p *Purger) walk(ctx context.Context, cutoff time.Time, rep *Report) error {
	read, more, err := p.legacy(ctx, p.o.MaxWalkPerRun, rep)
	if err != nil {
		return err
	}
	if more {
		rep.More = true
		return nil
	}
	st, rev, err := p.walks.Get(ctx, walkKey)
	if err != nil && !store.IsNotFound(err) {
		return fmt.Errorf("retention: read the walk: %w", err)
	}
	// Entries written during the walk (by touches, or by this run moving a
	// borrower) are left to the next walk: it has an end.
	through, err := p.lastSeq(ctx)
	if err != nil {
		return err
	}
	// Days strictly before the cutoff's: every borrower there has been
	// idle since at least that day's end.
	due := day(cutoff)
	prefix := p.o.Index.prefix + borrowerPrefix
	handled := 0
	var failed error // a handling's own error, already named
	next, err := p.read.Scan(ctx, store.KVStream(store.RetentionBucket), prefix+">", st.Next, through, p.o.MaxWalkPerRun-read,
		func(m *jetstream.RawStreamMsg) error {
			if store.IsRemoved(m) {
				rep.Walked++
				return nil
			}
			if d := string(m.Data); isDay(d) && d >= due {
				rep.Walked++
				return nil
			}
			if handled == p.o.MaxPerRun {
				return errBound // read again by the next run
			}
			rep.Walked++
			handled++
			failed = p.handle(ctx, strings.TrimPrefix(m.Subject, prefix), m.Sequence, cutoff, rep)
			return failed
		})
	switch {
	case errors.Is(err, errBound):
	case failed != nil:
		return failed
	case err != nil:
		return fmt.Errorf("retention: walk the index: %w", err)
	}
	if next > through {
		if rev == 0 {
			return nil
		}
		return p.drop(ctx, walkKey, 0) // the next walk starts at the beginning
	}
	rep.More = true
	if _, err := p.walks.PutAt(ctx, walkKey, walkState{Next: next}, rev); err != nil && !store.IsWrongSequence(err) { // another run went on: either is fine
		return fmt.Errorf("retention: save the walk: %w", err)
	}
	return nil
}

// handle decides on one borrower key, b.<tok> at stream sequence entrySeq,
// whose day is before the cutoff's. It reads the borrower's newest record
// first, so that the index only ever decides who to look at, never what to
// delete: a record the index missed moves the borrower on instead. A
// borrower purged loses the in-app inbox with the trail.
func (p *Purger) handle(ctx context.Context, tok string, entrySeq uint64, cutoff time.Time, rep *Report) error {
	key := borrowerPrefix + tok
	borrower, err := store.FromToken(tok)
	if err != nil || tok == "" {
		rep.Stale++
		return p.drop(ctx, key, entrySeq) // not an entry this version writes
	}
	// The inbox's bound is taken before the records are read: an in-app
	// send writes its message before its record, so a message written
	// after the bound stays, and its record, later still, keeps the trail
	// or brings the borrower back. Only a send that straddles both reads
	// (message before the bound, record after the read) loses its message
	// while its record stays. The whole argument is in inbox.go.
	inboxSeq, err := p.inboxLastSeq(ctx)
	if err != nil {
		return err
	}
	if p.inboxBound != nil {
		p.inboxBound(borrower)
	}
	seq, at, found, err := p.newest(ctx, borrower)
	if err != nil {
		return err
	}
	switch {
	case !found:
		rep.Stale++
		return p.drop(ctx, key, entrySeq)
	case !at.Before(cutoff):
		// A record the index missed: the borrower is active after all, and
		// indexed from now on at that record's day. The write is a
		// compare-and-set on the entry read, so that a touch written
		// meanwhile (a later day still) stays.
		rep.Moved++
		if _, err := p.o.Index.days.PutAt(ctx, key, []byte(day(at)), entrySeq); err != nil && !store.IsWrongSequence(err) {
			return fmt.Errorf("retention: move %s in the index: %w", tok, err)
		}
		return nil
	}
	// The inbox first: should the trail's purge fail, the trail still
	// finds the borrower for the next run; the other way round a failure
	// would leave messages that nothing leads back to.
	if err := p.purgeInbox(ctx, borrower, inboxSeq); err != nil {
		return err
	}
	// Everything up to the newest record read: one written since is newer
	// than the cutoff and stays.
	for _, filter := range []string{store.BorrowerRecordsFilter(borrower), store.LegacyDeliverySubject(borrower)} {
		if err := p.deliveries.Purge(ctx, jetstream.WithPurgeSubject(filter), jetstream.WithPurgeSequence(seq+1)); err != nil {
			return fmt.Errorf("retention: purge %s: %w", filter, err)
		}
	}
	rep.Purged++
	p.o.Log.WithField(logging.FieldBorrower, borrower).WithField("last_record", at.UTC().Format(time.RFC3339)).Info("records past retention purged")
	// Only the entry read goes: a touch that landed meanwhile is a later
	// message of the key, for a record newer than the purge, and stays.
	return p.drop(ctx, key, entrySeq)
}

// legacyEntry is a day entry of the older layout, d.<yyyy>.<mm>.<dd>.<token>.
type legacyEntry struct{ tok, day string }

// legacy folds the older layout's day entries, up to budget of them, into
// the borrower keys: a borrower key that is missing or older than an
// entry's day is set to that day; then the entries read are dropped, in one
// purge of the day keys up to the last one read (no markers). It returns
// how many it read and whether some are left. The entries count as Stale
// and are bounded by the walk's budget only, not by MaxPerRun: they cost
// a page read each ReadBatch and a batch read each store.MaxGetMany, not
// a borrower's records. Once none is left (this version writes none), it
// is one read that finds nothing.
func (p *Purger) legacy(ctx context.Context, budget int, rep *Report) (int, bool, error) {
	through, err := p.lastSeq(ctx)
	if err != nil {
		return 0, false, err
	}
	prefix := p.o.Index.prefix + dayPrefix
	read, last := 0, uint64(0) // last: the sequence of the last entry read
	var page []legacyEntry     // at most store.MaxGetMany
	var failed error
	next, err := p.read.Scan(ctx, store.KVStream(store.RetentionBucket), prefix+">", 0, through, budget,
		func(m *jetstream.RawStreamMsg) error {
			read, last = read+1, m.Sequence
			rep.Walked++
			if store.IsRemoved(m) {
				return nil
			}
			rep.Stale++
			if e, ok := parseDayKey(strings.TrimPrefix(m.Subject, prefix)); ok {
				page = append(page, e) // one that does not parse is dropped with the others
			}
			if len(page) == store.MaxGetMany {
				failed = p.fold(ctx, page)
				page = page[:0]
			}
			return failed
		})
	switch {
	case failed != nil:
		return read, false, failed
	case err != nil:
		return read, false, fmt.Errorf("retention: read the older index: %w", err)
	}
	if err := p.fold(ctx, page); err != nil {
		return read, false, err
	}
	if read > 0 {
		// Every day entry up to the last one read is folded in. Not up to
		// next: a replica that answered may be behind the leader, and an
		// entry an older instance writes meanwhile is later; either stays
		// for the next run.
		if err := p.index.Purge(ctx, jetstream.WithPurgeSubject(prefix+">"), jetstream.WithPurgeSequence(last+1)); err != nil {
			return read, false, fmt.Errorf("retention: drop the older index: %w", err)
		}
	}
	return read, next <= through, nil
}

// fold sets the borrower keys of legacy entries that are missing or older
// than the entries' days.
func (p *Purger) fold(ctx context.Context, page []legacyEntry) error {
	if len(page) == 0 {
		return nil
	}
	keys := make([]string, 0, len(page))
	seen := make(map[string]bool, len(page))
	for _, e := range page {
		if !seen[e.tok] {
			seen[e.tok] = true
			keys = append(keys, borrowerPrefix+e.tok)
		}
	}
	// Any replica may answer: one that is behind may miss a later day of a
	// borrower, which then goes back to an older one; harmless, since the
	// purge reads the borrower's newest record first and moves it on.
	have, err := p.o.Index.days.GetMany(ctx, keys)
	if err != nil {
		return fmt.Errorf("retention: read the index: %w", err)
	}
	days := map[string]string{}
	for _, e := range page {
		if e.day > max(string(have[borrowerPrefix+e.tok].Value), days[e.tok]) {
			days[e.tok] = e.day
		}
	}
	return p.o.Index.set(ctx, days)
}

// parseDayKey reads a day entry's key past "d.": <yyyy>.<mm>.<dd>.<token>.
func parseDayKey(rest string) (legacyEntry, bool) {
	parts := strings.SplitN(rest, ".", 4)
	if len(parts) != 4 || parts[3] == "" || strings.Contains(parts[3], ".") {
		return legacyEntry{}, false
	}
	d := parts[0] + "-" + parts[1] + "-" + parts[2]
	return legacyEntry{tok: parts[3], day: d}, isDay(d)
}

// isDay reports whether s is a day as the index writes them.
func isDay(s string) bool {
	_, err := time.Parse(dayLayout, s)
	return err == nil && len(s) == len(dayLayout)
}

// lastSeq is the last sequence of the index's stream: where a walk ends.
func (p *Purger) lastSeq(ctx context.Context) (uint64, error) {
	info, err := p.index.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("retention: read stream %s: %w", store.KVStream(store.RetentionBucket), err)
	}
	return info.State.LastSeq, nil
}

// drop removes a key of the index, leaving no marker behind: its messages
// up to and including sequence through, or all of them when through is 0.
func (p *Purger) drop(ctx context.Context, key string, through uint64) error {
	opts := []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject(store.KVSubject(store.RetentionBucket, key))}
	if through > 0 {
		opts = append(opts, jetstream.WithPurgeSequence(through+1))
	}
	if err := p.index.Purge(ctx, opts...); err != nil {
		return fmt.Errorf("retention: drop %s from the index: %w", key, err)
	}
	return nil
}

// newest is the sequence and time of a borrower's newest record (of the
// subjects per reminder and of suppression changes, and of the legacy
// one); found is false when there is none. The time is the record's own
// "at", the decision's time on forbear's clock, else the stream's.
func (p *Purger) newest(ctx context.Context, borrower string) (seq uint64, at time.Time, found bool, err error) {
	for _, filter := range []string{store.BorrowerRecordsFilter(borrower), store.LegacyDeliverySubject(borrower)} {
		msgs, err := p.read.Last(ctx, store.DeliveriesStream, filter, 1)
		if err != nil {
			return 0, time.Time{}, false, fmt.Errorf("retention: newest record of %s: %w", borrower, err)
		}
		if len(msgs) == 0 || msgs[0].Sequence < seq {
			continue
		}
		m := msgs[0]
		var rec struct {
			At time.Time `json:"at"`
		}
		seq, at, found = m.Sequence, m.Time, true
		if json.Unmarshal(m.Data, &rec) == nil && !rec.At.IsZero() {
			at = rec.At
		}
	}
	return seq, at, found, nil
}
