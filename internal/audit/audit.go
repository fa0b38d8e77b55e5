// Package audit writes and reads delivery records: one JetStream message per
// decision about a reminder, on forbear.deliveries.<borrower>.<reminder>, so
// that support staff can see what was sent, suppressed or failed and why,
// and workers can see what an earlier attempt did.
package audit

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// Read bounds.
const (
	// MaxList is the most records List returns.
	MaxList = 10000
	// maxPerReminder bounds the records read for one reminder: a handful in
	// practice (queued, a deferral per reason, sent, provider outcomes).
	maxPerReminder = 256
	// maxLegacy bounds how many of a borrower's records from before
	// per-reminder subjects Find looks through (they stopped growing at
	// the upgrade).
	maxLegacy = 1000
)

// Recorder writes and reads delivery records. Reads are direct gets by
// subject (store.Reader): they create no consumer, so any number of them
// leaves nothing behind on the server.
type Recorder struct {
	js       jetstream.JetStream
	read     *store.Reader
	instance string
	observe  func(domain.Delivery)
	activity func(borrowerID string, at time.Time)
}

// Option tunes a Recorder.
type Option func(*Recorder)

// WithObserver has fn told about every record this Recorder writes (the
// dashboard's delivery counts): once the stream acknowledged it for Record
// and RecordOnce (not for a repeat RecordOnce drops), once it is handed to
// the client for RecordAsync. fn must be quick and safe for concurrent
// use.
func WithObserver(fn func(domain.Delivery)) Option {
	return func(r *Recorder) { r.observe = fn }
}

// WithActivity has fn told, before it is published, about every record
// this Recorder writes (delivery records and suppression changes): the
// borrower and the record's time. The retention index keeps each
// borrower's last activity this way. fn must be quick, must not block and
// must be safe for concurrent use.
func WithActivity(fn func(borrowerID string, at time.Time)) Option {
	return func(r *Recorder) { r.activity = fn }
}

// New returns a Recorder; instance names this forbear instance in records.
func New(js jetstream.JetStream, instance string, opts ...Option) *Recorder {
	r := &Recorder{js: js, read: store.NewReader(js), instance: instance, observe: func(domain.Delivery) {},
		activity: func(string, time.Time) {}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Record stores d and waits for the stream to acknowledge it.
func (r *Recorder) Record(ctx context.Context, d domain.Delivery) error {
	f, err := r.publishAsync(d)
	if err != nil {
		return err
	}
	select {
	case <-f.Ok():
		r.observe(d)
		return nil
	case err := <-f.Err():
		return fmt.Errorf("audit: record %s %s: %w", d.ID, d.Status, err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RecordAsync publishes d without waiting; callers that batch wait on the
// returned future (or on js.PublishAsyncComplete).
func (r *Recorder) RecordAsync(d domain.Delivery) (jetstream.PubAckFuture, error) {
	f, err := r.publishAsync(d)
	if err != nil {
		return nil, err
	}
	r.observe(d)
	return f, nil
}

func (r *Recorder) publishAsync(d domain.Delivery) (jetstream.PubAckFuture, error) {
	data, err := r.encode(d)
	if err != nil {
		return nil, err
	}
	r.touch(d.BorrowerID, d.At)
	f, err := r.js.PublishAsync(store.DeliverySubject(d.BorrowerID, d.ID), data)
	if err != nil {
		return nil, fmt.Errorf("audit: record %s %s: %w", d.ID, d.Status, err)
	}
	return f, nil
}

// RecordOnce stores d under key (its Nats-Msg-Id) and reports whether it
// was stored: a repeat within the stream's dedup window
// (store.DeliveriesDedupWindow) is dropped by the server, so concurrent
// repeats store one record. Repeats later than the window are for Seen to
// catch.
func (r *Recorder) RecordOnce(ctx context.Context, d domain.Delivery, key string) (bool, error) {
	data, err := r.encode(d)
	if err != nil {
		return false, err
	}
	r.touch(d.BorrowerID, d.At)
	ack, err := r.js.Publish(ctx, store.DeliverySubject(d.BorrowerID, d.ID), data, jetstream.WithMsgID(key))
	if err != nil {
		return false, fmt.Errorf("audit: record %s %s: %w", d.ID, d.Status, err)
	}
	if ack.Duplicate {
		return false, nil
	}
	r.observe(d)
	return true, nil
}

// Seen reports whether a record of the reminder was stored under key by
// RecordOnce.
//
// Any replica may answer (not read-your-writes on a cluster). That is
// enough: a record a lagging replica has not yet applied was stored moments
// ago, within the dedup window, where the stream leader drops the repeat
// itself.
func (r *Recorder) Seen(ctx context.Context, borrowerID, reminderID, key string) (bool, error) {
	msgs, err := r.read.Last(ctx, store.DeliveriesStream, store.DeliverySubject(borrowerID, reminderID), maxPerReminder)
	if err != nil {
		return false, fmt.Errorf("audit: seen: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Get(jetstream.MsgIDHeader) == key {
			return true, nil
		}
	}
	return false, nil
}

// List returns up to limit of a borrower's records, newest first; limit 0
// (or more than MaxList) means MaxList.
//
// Any replica may answer (not read-your-writes on a cluster): it is the
// support view of the trail, where a record written a moment ago shows on
// the next look, and nothing is decided on it.
func (r *Recorder) List(ctx context.Context, borrowerID string, limit int) ([]domain.Delivery, error) {
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	current, err := r.read.Last(ctx, store.DeliveriesStream, store.DeliveryFilter(borrowerID), limit)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	legacy, err := r.read.Last(ctx, store.DeliveriesStream, store.LegacyDeliverySubject(borrowerID), limit)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	msgs := append(current, legacy...)
	slices.SortFunc(msgs, func(a, b *jetstream.RawStreamMsg) int { return cmp.Compare(b.Sequence, a.Sequence) })
	out := make([]domain.Delivery, 0, min(len(msgs), limit))
	for _, m := range msgs {
		if len(out) == limit {
			break
		}
		var d domain.Delivery
		if json.Unmarshal(m.Data, &d) == nil {
			out = append(out, d)
		}
	}
	// Newest decision first. Stream order is nearly that, but a reminder's
	// "queued" line is written once its publish is acknowledged, and a
	// worker may have decided about the reminder by then.
	slices.SortStableFunc(out, func(a, b domain.Delivery) int { return b.At.Compare(a.At) })
	return out, nil
}

// Find returns the newest record of reminder id (for borrowerID) whose
// status is one of statuses. It reads the reminder's own records, and the
// borrower's records from before per-reminder subjects.
//
// Any replica may answer (not read-your-writes on a cluster). Callers for
// whom a record written a moment ago must count use FindOnLeader.
func (r *Recorder) Find(ctx context.Context, borrowerID, id string, statuses ...domain.Status) (domain.Delivery, bool, error) {
	msgs, err := r.read.Last(ctx, store.DeliveriesStream, store.DeliverySubject(borrowerID, id), maxPerReminder)
	if err != nil {
		return domain.Delivery{}, false, fmt.Errorf("audit: find: %w", err)
	}
	return r.find(ctx, borrowerID, id, statuses, msgs)
}

// FindOnLeader is Find with the reminder's records read from the stream
// leader: read-your-writes on a cluster, at one request per record. A
// reminder with more than a few hundred records is an error.
func (r *Recorder) FindOnLeader(ctx context.Context, borrowerID, id string, statuses ...domain.Status) (domain.Delivery, bool, error) {
	msgs, err := r.read.AllFromLeader(ctx, store.DeliveriesStream, store.DeliverySubject(borrowerID, id), maxPerReminder)
	if err != nil {
		return domain.Delivery{}, false, fmt.Errorf("audit: find: %w", err)
	}
	return r.find(ctx, borrowerID, id, statuses, msgs)
}

// claimWindow is how many of a borrower's newest records Claimed reads: a
// redelivered reminder looks for its attempt among the provider's last
// minutes, and the records of those minutes are among the newest.
const claimWindow = 200

// Claimed returns the provider references that the borrower's newest
// records on channel give to reminders other than exceptID: messages and
// calls the provider has that are known not to be exceptID's.
func (r *Recorder) Claimed(ctx context.Context, borrowerID string, channel domain.Channel, exceptID string) ([]string, error) {
	list, err := r.List(ctx, borrowerID, claimWindow)
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, d := range list {
		if d.Channel == channel && d.ID != exceptID && d.ProviderRef != "" && !slices.Contains(refs, d.ProviderRef) {
			refs = append(refs, d.ProviderRef)
		}
	}
	return refs, nil
}

// find looks through the reminder's records msgs (oldest first), then the
// legacy ones. Legacy records were all written before this version ran, so
// every replica has them: a direct get is read-your-writes enough.
func (r *Recorder) find(ctx context.Context, borrowerID, id string, statuses []domain.Status, msgs []*jetstream.RawStreamMsg) (domain.Delivery, bool, error) {
	if d, ok := newestOf(msgs, id, statuses); ok {
		return d, true, nil
	}
	legacy, err := r.read.Last(ctx, store.DeliveriesStream, store.LegacyDeliverySubject(borrowerID), maxLegacy)
	if err != nil {
		return domain.Delivery{}, false, fmt.Errorf("audit: find: %w", err)
	}
	d, ok := newestOf(legacy, id, statuses)
	return d, ok, nil
}

// newestOf returns the newest record in msgs (oldest first) of reminder id
// with one of statuses.
func newestOf(msgs []*jetstream.RawStreamMsg, id string, statuses []domain.Status) (domain.Delivery, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		var d domain.Delivery
		if json.Unmarshal(msgs[i].Data, &d) == nil && d.ID == id && slices.Contains(statuses, d.Status) {
			return d, true
		}
	}
	return domain.Delivery{}, false
}

// touch tells the activity hook about a record of borrowerID at at (now
// when the record has no time), before the record is published. The hook
// deciding nothing on its own is what makes that safe: a purge reads the
// borrower's newest record before it deletes anything, so a lost or early
// index entry only keeps records longer.
func (r *Recorder) touch(borrowerID string, at time.Time) {
	if at.IsZero() {
		at = time.Now()
	}
	r.activity(borrowerID, at)
}

func (r *Recorder) encode(d domain.Delivery) ([]byte, error) {
	if d.Instance == "" {
		d.Instance = r.instance
	}
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("audit: record %s %s: %w", d.ID, d.Status, err)
	}
	return data, nil
}

// MaxExport bounds the records one borrower's export reads (delivery
// records and suppression changes together): years of reminders are a few
// thousand.
const MaxExport = 1_000_000

// RecordSuppressionChanges stores changes of one borrower's suppressions
// on the borrower's suppression history subject, and waits for the stream
// to acknowledge them.
func (r *Recorder) RecordSuppressionChanges(ctx context.Context, changes []domain.SuppressionChange) error {
	futures := make([]jetstream.PubAckFuture, 0, len(changes))
	for _, c := range changes {
		if c.Instance == "" {
			c.Instance = r.instance
		}
		data, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("audit: suppression change of %s: %w", c.BorrowerID, err)
		}
		r.touch(c.BorrowerID, c.At)
		f, err := r.js.PublishAsync(store.SuppressionHistorySubject(c.BorrowerID), data)
		if err != nil {
			return fmt.Errorf("audit: suppression change of %s: %w", c.BorrowerID, err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("audit: suppression change: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// CountRecords is how many delivery records and suppression changes a
// borrower has, in two requests whatever the number. Any replica may
// answer.
func (r *Recorder) CountRecords(ctx context.Context, borrowerID string) (uint64, error) {
	current, err := r.read.Count(ctx, store.DeliveriesStream, store.BorrowerRecordsFilter(borrowerID))
	if err != nil {
		return 0, fmt.Errorf("audit: count: %w", err)
	}
	legacy, err := r.read.Count(ctx, store.DeliveriesStream, store.LegacyDeliverySubject(borrowerID))
	if err != nil {
		return 0, fmt.Errorf("audit: count: %w", err)
	}
	return current + legacy, nil
}

// EachDelivery calls fn with every delivery record of a borrower, oldest
// first (those from before per-reminder subjects, then the others), a page
// at a time, stopping at fn's first error. Any replica may answer, as for
// List.
func (r *Recorder) EachDelivery(ctx context.Context, borrowerID string, fn func(domain.Delivery) error) error {
	each := func(m *jetstream.RawStreamMsg) error {
		var d domain.Delivery
		if json.Unmarshal(m.Data, &d) != nil {
			return nil // not a record: skipped, as List does
		}
		return fn(d)
	}
	for _, filter := range []string{store.LegacyDeliverySubject(borrowerID), store.DeliveryFilter(borrowerID)} {
		if err := r.read.Each(ctx, store.DeliveriesStream, filter, MaxExport, each); err != nil {
			return fmt.Errorf("audit: read records: %w", err)
		}
	}
	return nil
}

// EachSuppressionChange calls fn with every recorded change of a
// borrower's suppressions, oldest first, a page at a time, stopping at
// fn's first error. Any replica may answer.
func (r *Recorder) EachSuppressionChange(ctx context.Context, borrowerID string, fn func(domain.SuppressionChange) error) error {
	err := r.read.Each(ctx, store.DeliveriesStream, store.SuppressionHistorySubject(borrowerID), MaxExport, func(m *jetstream.RawStreamMsg) error {
		var c domain.SuppressionChange
		if json.Unmarshal(m.Data, &c) != nil {
			return nil
		}
		return fn(c)
	})
	if err != nil {
		return fmt.Errorf("audit: read suppression history: %w", err)
	}
	return nil
}
