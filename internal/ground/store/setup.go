package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DeliveriesDedupWindow is how long the DELIVERIES stream remembers a
// record's Nats-Msg-Id.
const DeliveriesDedupWindow = 10 * time.Minute

// StatsTTL is how long a key of StatsBucket outlives its last write: a
// little over the seven days of delivery counts the dashboard shows.
const StatsTTL = 7*24*time.Hour + 6*time.Hour

// CallTTL is how long a call's answers in CallsBucket outlive their
// write: long enough for a call Twilio queues, rings and reports, short
// enough that rendered texts do not linger.
const CallTTL = time.Hour

// InstanceTTL is how long an instance's heartbeat in InstancesBucket
// outlives its last beat: an instance that dies without deleting it drops
// out of the list after this long.
const InstanceTTL = 20 * time.Second

// Options shape the streams and buckets Setup creates.
type Options struct {
	// Replicas for every stream and bucket: 1 on the embedded server, 3 on
	// a cluster.
	Replicas int
	// DeliveriesMaxAge bounds the audit trail; 0 keeps it forever.
	DeliveriesMaxAge time.Duration
}

// Setup creates (or updates) every stream and KV bucket forbear uses. It is
// idempotent and safe to run from several instances at once.
func Setup(ctx context.Context, js jetstream.JetStream, o Options) error {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	// The server refuses a dedup window longer than the stream's MaxAge.
	dedup := DeliveriesDedupWindow
	if o.DeliveriesMaxAge > 0 {
		dedup = min(dedup, o.DeliveriesMaxAge)
	}
	streams := []jetstream.StreamConfig{
		{Name: EventsStream, Subjects: []string{EventsSubjects}, Storage: jetstream.FileStorage,
			Retention: jetstream.LimitsPolicy, MaxAge: 7 * 24 * time.Hour, Duplicates: 10 * time.Minute},
		// The dashboard reads the newest dead letters by direct get.
		{Name: DLQStream, Subjects: []string{"forbear.dlq.>"}, Storage: jetstream.FileStorage, MaxAge: 30 * 24 * time.Hour,
			AllowDirect: true},
		// Deferred reminders wait in the stream's message scheduler rather
		// than in a consumer's ack window (see dispatcher.Worker); the
		// dashboard lists them by direct get, without a consumer.
		{Name: RemindersStream, Subjects: []string{RemindersPrefix + ">", SchedulesPrefix + ">"}, Storage: jetstream.FileStorage,
			Retention: jetstream.WorkQueuePolicy, Duplicates: 10 * time.Minute, AllowMsgSchedules: true, AllowRollup: true,
			AllowDirect: true},
		// Audit reads are direct gets by subject (see Reader): a consumer
		// per read would pile up against the stream's consumer limit.
		// Callback records carry a Nats-Msg-Id, so a replay within the
		// window is dropped by the server.
		{Name: DeliveriesStream, Subjects: []string{DeliveriesPrefix + ">"}, Storage: jetstream.FileStorage,
			MaxAge: o.DeliveriesMaxAge, AllowDirect: true, Duplicates: dedup},
		{Name: OutboxStream, Subjects: []string{OutboxPrefix + ">"}, Storage: jetstream.FileStorage,
			MaxAge: 30 * 24 * time.Hour, Duplicates: 10 * time.Minute, AllowDirect: true},
	}
	for _, cfg := range streams {
		cfg.Replicas = o.Replicas
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("store: stream %s: %w", cfg.Name, err)
		}
	}
	for _, b := range []string{BorrowersBucket, CasesBucket, AgreementsBucket, SuppressionsBucket,
		EventIDsBucket, OccurrencesBucket, DueBucket, InboxBucket, TemplatesBucket, LeasesBucket, SecretsBucket, LedgerBucket, PhonesBucket,
		EmailsBucket, StatsBucket, InstancesBucket, CallsBucket, RetentionBucket} {
		cfg := jetstream.KeyValueConfig{Bucket: b, Storage: jetstream.FileStorage, Replicas: o.Replicas}
		switch b {
		case TemplatesBucket:
			cfg.History = 64
		case DueBucket, SuppressionsBucket:
			// The scheduler writes a subject's record that only keeps
			// occurrence markers with a TTL of its own, and a borrower's
			// suppressions that hold only a note of changes expire too
			// (State.UpdateSuppressions); the server keeps a marker of an
			// expiry briefly, for watchers (the fence's).
			cfg.LimitMarkerTTL = time.Hour
		case EventIDsBucket, OccurrencesBucket:
			// Markers: kept long enough to outlive any redelivery or retry.
			cfg.TTL = 30 * 24 * time.Hour
		case StatsBucket:
			cfg.TTL = StatsTTL
		case InstancesBucket:
			cfg.TTL = InstanceTTL
		case CallsBucket:
			cfg.TTL = CallTTL
		}
		if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return fmt.Errorf("store: bucket %s: %w", b, err)
		}
	}
	return disableDirectGet(ctx, js, KVStream(SuppressionsBucket))
}

// disableDirectGet turns off direct get on a bucket's stream. Direct gets
// may be answered by any replica, which is not read-your-writes; suppression
// reads that decide a send must come from the stream leader.
func disableDirectGet(ctx context.Context, js jetstream.JetStream, stream string) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("store: stream %s: %w", stream, err)
	}
	cfg := s.CachedInfo().Config
	if !cfg.AllowDirect {
		return nil
	}
	cfg.AllowDirect = false
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("store: disable direct get on %s: %w", stream, err)
	}
	return nil
}

// IsNotFound reports whether err means a missing key or message.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, jetstream.ErrKeyNotFound) ||
		errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)
}
