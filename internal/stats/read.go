package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/scheduler"
)

// Read bounds.
const (
	// Hours is how many hours of delivery counts Read sums: the last 7
	// days, the current hour included.
	Hours = 7 * 24
	// MaxStatsKeys bounds the keys Read sums: every hour of 64 instances.
	// With more instances the oldest hours are the ones left out.
	MaxStatsKeys = Hours * 64
	// MaxInstances bounds the instances Read lists.
	MaxInstances = 1000
	// MaxDeferredListed is how many deferred reminders Read lists.
	MaxDeferredListed = 100
	// MaxRefusedListed is how many refused events Read lists.
	MaxRefusedListed = 10
)

// Snapshot is the whole dashboard at one moment.
type Snapshot struct {
	At         time.Time                 `json:"at"`
	Deliveries Deliveries                `json:"deliveries"`
	Deferred   Deferred                  `json:"deferred"`
	Refused    Refused                   `json:"events_refused"`
	QueueDepth map[domain.Channel]uint64 `json:"queue_depth"`
	Instances  []Instance                `json:"instances"`
	// SweepLease is the instance that holds the sweep lease; nil when none
	// does.
	SweepLease *Lease `json:"sweep_lease"`
}

// Deliveries are the delivery records written by every instance, counted
// by the hour of their decision (UTC hours).
type Deliveries struct {
	// Last24h is the current hour and the 23 before it.
	Last24h Totals `json:"last_24h"`
	// Last7d is the current hour and the 167 before it.
	Last7d Totals `json:"last_7d"`
	// Hourly has the Hours hours of Last7d, oldest first, each with the
	// counts that are not zero.
	Hourly []Hour `json:"hourly"`
}

// Totals are counts over a span: by channel and status (every channel and
// status present, zeros included), by status, and in all.
type Totals struct {
	ByChannel Counts           `json:"by_channel"`
	ByStatus  map[string]int64 `json:"by_status"`
	Total     int64            `json:"total"`
}

// Hour is one hour's counts.
type Hour struct {
	Start  time.Time `json:"start"`
	Counts Counts    `json:"counts"`
}

// Deferred is what waits in the message scheduler of the REMINDERS stream
// for a send window (or a blackout's end).
type Deferred struct {
	Count uint64 `json:"count"`
	// Newest are the most recently deferred, newest first (at most
	// MaxDeferredListed).
	Newest []DeferredReminder `json:"newest"`
}

// DeferredReminder is one reminder waiting to come back.
type DeferredReminder struct {
	ReminderID string         `json:"reminder_id"`
	BorrowerID string         `json:"borrower_id"`
	LoanID     string         `json:"loan_id"`
	Channel    domain.Channel `json:"channel"`
	Step       string         `json:"step"`
	// Until is when it comes back to be decided again (at most
	// dispatcher.max_defer after it was deferred).
	Until time.Time `json:"until"`
	// DeferredAt is when it was handed to the scheduler.
	DeferredAt time.Time `json:"deferred_at"`
}

// Refused counts the events dead-lettered on forbear.dlq.events.
type Refused struct {
	Count uint64 `json:"count"`
	// Newest are the most recent, newest first (at most MaxRefusedListed).
	Newest []DeadLetter `json:"newest"`
}

// DeadLetter is one refused event, without its data.
type DeadLetter struct {
	At        time.Time `json:"at"`
	EventID   string    `json:"event_id,omitempty"`
	EventType string    `json:"event_type,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	Reason    string    `json:"reason"`
	Field     string    `json:"field,omitempty"`
}

// Lease is the holder of the sweep lease.
type Lease struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

// Reader computes Snapshots.
type Reader struct {
	js   jetstream.JetStream
	read *store.Reader
	// counts and beats decode what read finds in the stats and instances
	// buckets' streams.
	counts store.Bucket[hourValue]
	beats  store.Bucket[Instance]
	leases jetstream.KeyValue
	clock  clock.Clock
}

// NewReader returns a Reader (store.Setup must have run). clk is the
// instances' clock: delivery hours and the sweep lease are on it.
func NewReader(ctx context.Context, js jetstream.JetStream, clk clock.Clock) (*Reader, error) {
	leases, err := js.KeyValue(ctx, store.LeasesBucket)
	if err != nil {
		return nil, fmt.Errorf("stats: bucket %s: %w", store.LeasesBucket, err)
	}
	counts, err := store.OpenTyped[hourValue](ctx, js, store.StatsBucket)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	beats, err := store.OpenTyped[Instance](ctx, js, store.InstancesBucket)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return &Reader{js: js, read: store.NewReader(js), counts: counts, beats: beats, leases: leases, clock: clk}, nil
}

// Read computes the dashboard. Direct gets may be answered by any replica
// of a stream, so on a cluster a write of a moment ago may show on the
// next read; the counts also lag by up to a fold interval.
func (r *Reader) Read(ctx context.Context) (Snapshot, error) {
	now := r.clock.Now()
	s := Snapshot{At: now}
	var err error
	if s.Deliveries, err = r.deliveries(ctx, now); err != nil {
		return Snapshot{}, err
	}
	if s.Deferred, err = r.deferred(ctx); err != nil {
		return Snapshot{}, err
	}
	if s.Refused, err = r.refused(ctx); err != nil {
		return Snapshot{}, err
	}
	if s.QueueDepth, err = QueueDepth(ctx, r.js); err != nil {
		return Snapshot{}, err
	}
	if s.Instances, err = r.instances(ctx); err != nil {
		return Snapshot{}, err
	}
	holder, expires, ok, err := scheduler.SweepLease(ctx, r.leases, now)
	if err != nil {
		return Snapshot{}, fmt.Errorf("stats: %w", err)
	}
	if ok {
		s.SweepLease = &Lease{Holder: holder, Expires: expires}
	}
	return s, nil
}

func (r *Reader) deliveries(ctx context.Context, now time.Time) (Deliveries, error) {
	msgs, err := r.read.Last(ctx, store.KVStream(store.StatsBucket), store.KVSubject(store.StatsBucket, ">"), MaxStatsKeys)
	if err != nil {
		return Deliveries{}, fmt.Errorf("stats: deliveries: %w", err)
	}
	current := now.UTC().Truncate(time.Hour)
	first := current.Add(-(Hours - 1) * time.Hour)
	hourly := make([]Hour, Hours)
	for i := range hourly {
		hourly[i] = Hour{Start: first.Add(time.Duration(i) * time.Hour), Counts: Counts{}}
	}
	// A key's newest message is its value (the bucket keeps one per key);
	// deletes and the server's expiry markers carry no counts.
	for key, m := range newestPerKey(msgs, store.StatsBucket) {
		stamp, _, _ := strings.Cut(key, ".")
		hour, err := time.Parse(hourFormat, stamp)
		if err != nil || hour.Before(first) || hour.After(current) {
			continue
		}
		v, err := r.counts.Decode(key, m.Data)
		if err != nil {
			continue
		}
		hourly[int(hour.Sub(first)/time.Hour)].Counts.merge(v.Counts)
	}
	d := Deliveries{Last24h: newTotals(), Last7d: newTotals(), Hourly: hourly}
	for i, h := range hourly {
		d.Last7d.add(h.Counts)
		if i >= Hours-24 {
			d.Last24h.add(h.Counts)
		}
	}
	return d, nil
}

func newTotals() Totals {
	t := Totals{ByChannel: Counts{}, ByStatus: map[string]int64{}}
	for _, ch := range domain.Channels {
		for _, st := range domain.Statuses {
			t.ByChannel.add(string(ch), string(st), 0)
			t.ByStatus[string(st)] = 0
		}
	}
	return t
}

func (t *Totals) add(c Counts) {
	for ch, byStatus := range c {
		for st, n := range byStatus {
			t.ByChannel.add(ch, st, n)
			t.ByStatus[st] += n
			t.Total += n
		}
	}
}

// scheduleHeader is the message scheduler's pattern header: "@at <RFC 3339>"
// for a deferred reminder.
const scheduleHeader = "Nats-Schedule"

func (r *Reader) deferred(ctx context.Context) (Deferred, error) {
	filter := store.SchedulesPrefix + ">"
	n, err := r.read.Count(ctx, store.RemindersStream, filter)
	if err != nil {
		return Deferred{}, fmt.Errorf("stats: deferred: %w", err)
	}
	msgs, err := r.read.Last(ctx, store.RemindersStream, filter, MaxDeferredListed)
	if err != nil {
		return Deferred{}, fmt.Errorf("stats: deferred: %w", err)
	}
	d := Deferred{Count: n, Newest: []DeferredReminder{}}
	for _, m := range slices.Backward(msgs) {
		var rem domain.Reminder
		if json.Unmarshal(m.Data, &rem) != nil {
			continue
		}
		until, _ := time.Parse(time.RFC3339, strings.TrimPrefix(m.Header.Get(scheduleHeader), "@at "))
		d.Newest = append(d.Newest, DeferredReminder{ReminderID: rem.ID, BorrowerID: rem.BorrowerID, LoanID: rem.LoanID,
			Channel: rem.Channel, Step: rem.Step, Until: until, DeferredAt: m.Time})
	}
	return d, nil
}

func (r *Reader) refused(ctx context.Context) (Refused, error) {
	filter := store.DLQEventsSubject
	n, err := r.read.Count(ctx, store.DLQStream, filter)
	if err != nil {
		return Refused{}, fmt.Errorf("stats: dead letters: %w", err)
	}
	msgs, err := r.read.Last(ctx, store.DLQStream, filter, MaxRefusedListed)
	if err != nil {
		return Refused{}, fmt.Errorf("stats: dead letters: %w", err)
	}
	out := Refused{Count: n, Newest: []DeadLetter{}}
	for _, m := range slices.Backward(msgs) {
		dl := DeadLetter{At: m.Time, Subject: m.Header.Get(intake.HeaderDLQSubject),
			Reason: m.Header.Get(intake.HeaderDLQReason), Field: m.Header.Get(intake.HeaderDLQField)}
		// A structured event names itself in its body, a binary one in its
		// ce- headers. Nothing else of the event is shown: it may hold
		// phone numbers and emails.
		var ev struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		if json.Unmarshal(m.Data, &ev) == nil && ev.ID != "" {
			dl.EventID, dl.EventType = ev.ID, ev.Type
		} else {
			dl.EventID, dl.EventType = m.Header.Get("ce-id"), m.Header.Get("ce-type")
		}
		dl.EventID, dl.EventType = clip(dl.EventID), clip(dl.EventType)
		out.Newest = append(out.Newest, dl)
	}
	return out, nil
}

// clip bounds an id read from a refused event, which may be anything.
func clip(s string) string {
	const max = 128
	if len(s) > max {
		return s[:max]
	}
	return s
}

func (r *Reader) instances(ctx context.Context) ([]Instance, error) {
	msgs, err := r.read.Last(ctx, store.KVStream(store.InstancesBucket), store.KVSubject(store.InstancesBucket, ">"), MaxInstances)
	if err != nil {
		return nil, fmt.Errorf("stats: instances: %w", err)
	}
	// The bucket drops a heartbeat InstanceTTL after its last write; one
	// that the server has not yet dropped is left out too.
	stale := time.Now().Add(-store.InstanceTTL)
	out := []Instance{}
	for key, m := range newestPerKey(msgs, store.InstancesBucket) {
		in, err := r.beats.Decode(key, m.Data)
		if err != nil || in.Beat.Before(stale) {
			continue
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b Instance) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// newestPerKey yields the keys of bucket that msgs, messages of the
// bucket's stream in stream order, leave with a value, each with its
// newest message: a key whose newest message is a delete, a purge or the
// server's marker of a key removed by age is left out. It is for reading
// a bucket's newest keys from its stream (store.Reader.Last), which
// Bucket cannot list.
func newestPerKey(msgs []*jetstream.RawStreamMsg, bucket string) iter.Seq2[string, *jetstream.RawStreamMsg] {
	prefix := store.KVSubject(bucket, "")
	return func(yield func(string, *jetstream.RawStreamMsg) bool) {
		seen := make(map[string]bool, len(msgs))
		for _, m := range slices.Backward(msgs) {
			if seen[m.Subject] {
				continue
			}
			seen[m.Subject] = true
			key, ok := strings.CutPrefix(m.Subject, prefix)
			if !ok || store.IsRemoved(m) {
				continue
			}
			if !yield(key, m) {
				return
			}
		}
	}
}

// QueueDepth is each channel's backlog: reminders waiting for its consumer
// and handed out but not yet acknowledged. Channels whose consumer could
// not be read are left out, and the error says which.
func QueueDepth(ctx context.Context, js jetstream.JetStream) (map[domain.Channel]uint64, error) {
	out := map[domain.Channel]uint64{}
	var errs []error
	for _, ch := range domain.Channels {
		// Consumer fetches the consumer's info; no second request.
		c, err := js.Consumer(ctx, store.RemindersStream, dispatcher.ConsumerName(ch))
		if err != nil {
			errs = append(errs, fmt.Errorf("stats: queue depth of %s: %w", ch, err))
			continue
		}
		info := c.CachedInfo()
		out[ch] = info.NumPending + uint64(info.NumAckPending)
	}
	return out, errors.Join(errs...)
}
