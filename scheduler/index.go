package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
)

// Subject kinds in the due index.
const (
	// KindLoan is a loan (its case) under a due-date policy.
	KindLoan = "loan"
	// KindAgreement is an active agreement under an instalment policy.
	KindAgreement = "agr"
)

const (
	timePrefix   = "t."
	nowPrefix    = "now."
	revPrefix    = "k."
	cursorKey    = "cursor"
	maxFilters   = 64 // filters per listing consumer; keeps one request small
	kvOpHeader   = "KV-Operation"
	kvOpDelete   = "DEL"
	cursorLayout = time.RFC3339
)

// indexEpoch is where the first sweep ever starts listing when there is no
// cursor yet. Nothing is ever indexed before it: the sweep only writes
// times after its own clock.
func indexEpoch() time.Time { return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) }

// subject is one indexed thing: a loan or an agreement.
type subject struct {
	kind string
	id   string
}

func (s subject) token() string  { return s.kind + "." + store.Token(s.id) }
func (s subject) revKey() string { return revPrefix + s.token() }
func (s subject) nowKey() string { return nowPrefix + s.token() }

// timeKey is the index key of s due at t, rounded up to the minute so that
// an entry is never listed before it is due.
func (s subject) timeKey(t time.Time) string {
	return minuteToken(ceilMinute(t)) + "." + s.token()
}

func ceilMinute(t time.Time) time.Time {
	t = t.UTC()
	f := t.Truncate(time.Minute)
	if f.Equal(t) {
		return f
	}
	return f.Add(time.Minute)
}

func minuteToken(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("t.%04d.%02d.%02d.%02d.%02d", t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute())
}

func validKind(kind string) bool { return kind == KindLoan || kind == KindAgreement }

// parseEntryKey extracts the subject of a listed index key.
func parseEntryKey(key string) (subject, bool) {
	parts := strings.Split(key, ".")
	var kind, tok string
	switch {
	case strings.HasPrefix(key, timePrefix) && len(parts) == 8:
		kind, tok = parts[6], parts[7]
	case strings.HasPrefix(key, nowPrefix) && len(parts) == 3:
		kind, tok = parts[1], parts[2]
	default:
		return subject{}, false
	}
	id, err := store.FromToken(tok)
	if err != nil || !validKind(kind) {
		return subject{}, false
	}
	return subject{kind: kind, id: id}, true
}

// rangeFilters returns key filters that together match exactly the time
// keys of the minutes in (after, upto] (both UTC, minute aligned). Each
// filter is the coarsest aligned unit (year, month, day, hour, minute) that
// fits, so the count stays small however long the range: at most about 250
// plus one per whole year.
func rangeFilters(after, upto time.Time) []string {
	type unit struct {
		aligned func(time.Time) bool
		next    func(time.Time) time.Time
		prefix  func(time.Time) string
	}
	units := []unit{
		{
			aligned: func(t time.Time) bool { return t.Month() == 1 && t.Day() == 1 && t.Hour() == 0 && t.Minute() == 0 },
			next:    func(t time.Time) time.Time { return t.AddDate(1, 0, 0) },
			prefix:  func(t time.Time) string { return fmt.Sprintf("t.%04d.>", t.Year()) },
		},
		{
			aligned: func(t time.Time) bool { return t.Day() == 1 && t.Hour() == 0 && t.Minute() == 0 },
			next:    func(t time.Time) time.Time { return t.AddDate(0, 1, 0) },
			prefix:  func(t time.Time) string { return fmt.Sprintf("t.%04d.%02d.>", t.Year(), t.Month()) },
		},
		{
			aligned: func(t time.Time) bool { return t.Hour() == 0 && t.Minute() == 0 },
			next:    func(t time.Time) time.Time { return t.AddDate(0, 0, 1) },
			prefix:  func(t time.Time) string { return fmt.Sprintf("t.%04d.%02d.%02d.>", t.Year(), t.Month(), t.Day()) },
		},
		{
			aligned: func(t time.Time) bool { return t.Minute() == 0 },
			next:    func(t time.Time) time.Time { return t.Add(time.Hour) },
			prefix: func(t time.Time) string {
				return fmt.Sprintf("t.%04d.%02d.%02d.%02d.>", t.Year(), t.Month(), t.Day(), t.Hour())
			},
		},
		{
			aligned: func(time.Time) bool { return true },
			next:    func(t time.Time) time.Time { return t.Add(time.Minute) },
			prefix:  func(t time.Time) string { return minuteToken(t) + ".>" },
		},
	}
	after, upto = after.UTC().Truncate(time.Minute), upto.UTC().Truncate(time.Minute)
	end := upto.Add(time.Minute) // exclusive
	var out []string
	for p := after.Add(time.Minute); p.Before(end); {
		for _, u := range units {
			if n := u.next(p); u.aligned(p) && !n.After(end) {
				out = append(out, u.prefix(p))
				p = n
				break
			}
		}
	}
	return out
}

// listed is one due-index entry returned by a listing, with the revision
// the sweep compares against before deleting it.
type listed struct {
	key string
	rev uint64
}

// listedChunk is one listing request: its filters and the highest
// revision it returned (0 when it found nothing). Every entry matching the
// filters that was stored at or below that revision was listed: the
// listing saw the bucket as it was when it began, and anything written
// since has a higher revision.
type listedChunk struct {
	filters []string
	upto    uint64
}

// listEntries sends every entry matching filters to out, chunking the
// filters so that one consumer request stays small. It returns the
// chunks it listed, one listing call each.
func listEntries(ctx context.Context, kv jetstream.KeyValue, filters []string, out chan<- listed) ([]listedChunk, error) {
	var chunks []listedChunk
	for len(filters) > 0 {
		n := min(len(filters), maxFilters)
		c := listedChunk{filters: filters[:n:n]}
		filters = filters[n:]
		// WatchFiltered rewrites the slice it is given: pass a copy, the
		// purge needs the filters as they are.
		err := listChunk(ctx, kv, slices.Clone(c.filters), &c.upto, out)
		chunks = append(chunks, c)
		if err != nil {
			return chunks, err
		}
	}
	return chunks, nil
}

func listChunk(ctx context.Context, kv jetstream.KeyValue, filters []string, upto *uint64, out chan<- listed) error {
	// A watcher (not ListKeysFiltered) because the revision of each entry
	// bounds the purge that removes the listed entries after the sweep.
	w, err := kv.WatchFiltered(ctx, filters, jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err != nil {
		return fmt.Errorf("scheduler: list due index: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("scheduler: list due index: watcher closed")
			}
			if e == nil {
				return nil
			}
			*upto = max(*upto, e.Revision())
			select {
			case out <- listed{key: e.Key(), rev: e.Revision()}:
			case <-ctx.Done():
				return ctx.Err()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// kvWrites issues KV writes as asynchronous stream publishes, so that the
// index and marker updates of thousands of subjects are pipelined instead
// of costing a round trip each. Order on one connection is preserved, and
// compare-and-set is the stream's expected-last-subject-sequence check,
// exactly what KeyValue.Update and Delete with LastRevision send.
type kvWrites struct {
	js     jetstream.JetStream
	prefix string           // "$KV.<bucket>."
	stream jetstream.Stream // the bucket's stream, for purges; nil in a Loader
}

func newKVWrites(js jetstream.JetStream, bucket string) kvWrites {
	return kvWrites{js: js, prefix: "$KV." + bucket + "."}
}

// put writes value at key; with cas, only if the key's revision is rev (0:
// only if the key does not exist). extra adds publish options, such as a
// per-message TTL.
func (w kvWrites) put(key string, value []byte, cas bool, rev uint64, extra ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	opts := append([]jetstream.PublishOpt{jetstream.WithStallWait(stallWait)}, extra...)
	if cas {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(rev))
	}
	return w.js.PublishMsgAsync(&nats.Msg{Subject: w.prefix + key, Data: value}, opts...)
}

// deleteMarkerTTL is how long a delete marker stays. A KV delete stores
// a marker as the key's last message, and without a TTL it would stay for
// good: one per record ever deleted. Entries are never deleted this way
// (see purge).
const deleteMarkerTTL = time.Hour

// del deletes key, leaving a marker that expires; with cas, only if its
// revision is still rev.
func (w kvWrites) del(key string, cas bool, rev uint64) (jetstream.PubAckFuture, error) {
	opts := []jetstream.PublishOpt{jetstream.WithStallWait(stallWait), jetstream.WithMsgTTL(deleteMarkerTTL)}
	if cas {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(rev))
	}
	h := nats.Header{}
	h.Set(kvOpHeader, kvOpDelete)
	return w.js.PublishMsgAsync(&nats.Msg{Subject: w.prefix + key, Header: h}, opts...)
}

// purge removes the keys matching filter (a key, or a filter of keys)
// whose message is stored at or below revision upto (0: whatever their
// revision), and leaves nothing in their place: no delete marker, which
// for an entry's key, one minute's and never written again, would stay
// for good. A key written again after upto keeps its newer message, so
// a bounded purge is a compare-and-set delete that costs no write.
func (w kvWrites) purge(ctx context.Context, filter string, upto uint64) error {
	opts := []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject(w.prefix + filter)}
	if upto > 0 {
		opts = append(opts, jetstream.WithPurgeSequence(upto+1)) // below, not at
	}
	if err := w.stream.Purge(ctx, opts...); err != nil {
		return fmt.Errorf("purge %s: %w", filter, err)
	}
	return nil
}

// Reindex marks a subject (kind KindLoan or KindAgreement) due now: the
// next sweep recomputes its occurrences from current state. Intake calls it
// whenever a case, agreement, borrower or suppression changes. It is safe
// on any instance and concurrently with a sweep.
//
// Once the entry is stored, Reindex nudges the sweep's leader (see
// nudge.go), which sweeps the now lane within moments instead of at the
// next scheduled sweep.
func (s *Scheduler) Reindex(ctx context.Context, kind, id string) error {
	if !validKind(kind) {
		return fmt.Errorf("scheduler: reindex: unknown kind %q", kind)
	}
	if id == "" {
		return fmt.Errorf("scheduler: reindex %s: empty id", kind)
	}
	if err := s.reindex(ctx, subject{kind: kind, id: id}, nil); err != nil {
		return err
	}
	s.nudgeLeader()
	return nil
}

// maxRecordTries bounds the compare-and-set attempts of one record
// update. Only a Reindex of the same subject on another instance, or the
// sweep, races it; losing this many times in a row means something is
// wrong, and the caller reports it.
const maxRecordTries = 8

// reindex puts sub in the now lane, without nudging the leader, adding
// the markers in extra (those of a sweep that requeues the subject) to
// its record.
//
// The record first, then the now entry, pipelined: a sweep that lists the
// entry finds the record naming it (had the entry come first, a sweep
// could find the record naming the old entry and delete the new one as
// stale); a sweep that read the record before fails its compare-and-set
// and leaves the entry to this Reindex.
func (s *Scheduler) reindex(ctx context.Context, sub subject, extra map[string]mark) error {
	nowKey := sub.nowKey()
	old, err := s.updateRecord(ctx, sub, func(r *record) {
		r.Entry = nowKey
		r.merge(extra)
	}, func(b *acks) { b.add(s.dueW.put(nowKey, nil, false, 0)) })
	if err == nil && old != "" && old != nowKey {
		err = s.dueW.purge(ctx, old, 0)
	}
	if err != nil {
		return fmt.Errorf("scheduler: reindex %s %s: %w", sub.kind, sub.id, err)
	}
	return nil
}

// updateRecord applies change to sub's record by compare-and-set,
// reading it again after losing a race, and returns the entry the record
// named before the change that stuck. then, when not nil, issues writes
// that must follow the record's; they are waited for with it. A record
// without an entry is kept only for its markers, and expires with them.
func (s *Scheduler) updateRecord(ctx context.Context, sub subject, change func(*record), then func(*acks)) (oldEntry string, err error) {
	key := sub.revKey()
	for try := range maxRecordTries {
		now := s.clock.Now()
		var rec record
		var rev uint64
		e, err := s.due.Get(ctx, key)
		switch {
		case err == nil:
			var ok bool
			if rec, ok = decodeRecord(e.Value(), now); !ok {
				s.log.WithField("key", key).Warn("scheduler: index record does not decode; writing it afresh")
			}
			rev = e.Revision()
		case !store.IsNotFound(err):
			return "", err
		}
		err = nil
		oldEntry = rec.Entry
		change(&rec)
		rec.prune(now)
		// A record without an entry is kept only for its markers.
		var pubTTL []jetstream.PublishOpt
		var createTTL []jetstream.KVCreateOpt
		if rec.Entry == "" {
			pubTTL = []jetstream.PublishOpt{jetstream.WithMsgTTL(markerTTL)}
			createTTL = []jetstream.KVCreateOpt{jetstream.KeyTTL(markerTTL)}
		}
		var b acks
		if rev == 0 && try > 0 {
			// Create, synchronously: a deleted key's revision is its
			// delete marker's, which a Get does not return; Create knows
			// it. The first try writes as if the key never existed,
			// pipelined with then's writes, which is what a new subject
			// needs; a marker makes it fail, and this try succeeds.
			if _, err = s.due.Create(ctx, key, rec.encode(), createTTL...); errors.Is(err, jetstream.ErrKeyExists) {
				continue
			}
		} else {
			b.add(s.dueW.put(key, rec.encode(), true, rev, pubTTL...))
		}
		if err == nil && then != nil {
			then(&b)
		}
		if err == nil {
			err = b.wait(ctx)
		}
		if store.IsWrongSequence(err) {
			continue
		}
		return oldEntry, err
	}
	return "", fmt.Errorf("record %s: still changing after %d tries", key, maxRecordTries)
}

// cursor reads the last minute a sweep listed; without one, listing starts
// at indexEpoch.
func (s *Scheduler) cursor(ctx context.Context) (time.Time, error) {
	e, err := s.due.Get(ctx, cursorKey)
	if store.IsNotFound(err) {
		return indexEpoch().Add(-time.Minute), nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("scheduler: read cursor: %w", err)
	}
	t, err := time.Parse(cursorLayout, string(e.Value()))
	if err != nil {
		return time.Time{}, fmt.Errorf("scheduler: decode cursor %q: %w", e.Value(), err)
	}
	return t.UTC(), nil
}
