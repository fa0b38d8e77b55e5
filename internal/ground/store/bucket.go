package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
)

// MaxGetMany is the most keys one batch read asks the server for: the
// server answers at most 1024 subjects per multi-last request.
const MaxGetMany = 1024

// getManyTimeout bounds one GetMany request: a lost answer ends after it.
// It is generous because on a loaded machine an answer of 1024 values can
// take seconds, and an answer it cuts short is asked again for the rest.
const getManyTimeout = 30 * time.Second

// Bucket is typed access to one KV bucket whose values are T encoded as
// JSON; a Bucket[[]byte] stores its values as they are, for callers with
// an encoding of their own. It is the one way packages read and write
// their buckets: reads return the revision they read, and every change
// that depends on what is stored goes through Update (compare-and-set).
//
// Opened with OpenTyped (or made with NewBucket over a bucket from
// OpenBucket), reads whose staleness would do harm are confirmed by the
// stream leader (see LeaderBacked and UpdateJSON). GetMany uses direct
// get, which any replica may answer; the bucket must allow direct gets.
type Bucket[T any] struct {
	kv jetstream.KeyValue
	js jetstream.JetStream
	// batch caps the keys one GetMany request answers (0: the server's
	// limit); tests set it to see answers cut short.
	batch int
}

// Entry is a key's value and the revision it was read at.
type Entry[T any] struct {
	Value    T
	Revision uint64
}

// NewBucket returns typed access to kv; js serves GetMany (a Bucket made
// with a nil js does everything else).
func NewBucket[T any](js jetstream.JetStream, kv jetstream.KeyValue) Bucket[T] {
	return Bucket[T]{kv: kv, js: fullAPIPrefix(js)}
}

// fullAPIPrefix hands jetstreamext a client whose API prefix is spelled
// out: for a client of a JetStream domain, jetstreamext (v0.3.2) builds
// the request subject as $JS.<domain>.DIRECT.GET..., without the API
// token, and nothing answers it.
func fullAPIPrefix(js jetstream.JetStream) jetstream.JetStream {
	if js == nil || js.Options().Domain == "" {
		return js
	}
	return prefixed{JetStream: js, prefix: apiPrefix(js)}
}

type prefixed struct {
	jetstream.JetStream
	prefix string
}

func (p prefixed) Options() jetstream.JetStreamOptions {
	o := p.JetStream.Options()
	o.APIPrefix, o.Domain = p.prefix, ""
	return o
}

// OpenTyped binds the bucket called name (Setup must have run),
// leader-backed as with OpenBucket.
func OpenTyped[T any](ctx context.Context, js jetstream.JetStream, name string) (Bucket[T], error) {
	kv, err := OpenBucket(ctx, js, name)
	if err != nil {
		return Bucket[T]{}, err
	}
	return NewBucket[T](js, kv), nil
}

// KV is the bucket underneath, for what Bucket does not do itself
// (watching, deleting).
func (b Bucket[T]) KV() jetstream.KeyValue { return b.kv }

// Get reads a key. A missing, deleted or purged key is an error naming
// the key for which IsNotFound (and errors.Is ErrNotFound) is true; a
// leader-backed bucket has the stream leader confirm the miss first.
func (b Bucket[T]) Get(ctx context.Context, key string) (T, uint64, error) {
	var v T
	data, rev, err := get(ctx, b.kv, key, false, true)
	if errors.Is(err, ErrNotFound) {
		return v, 0, fmt.Errorf("store: %s/%s: %w", b.kv.Bucket(), key, ErrNotFound)
	}
	if err != nil {
		return v, 0, err
	}
	if v, err = b.Decode(key, data); err != nil {
		return v, 0, err
	}
	return v, rev, nil
}

// Put writes v over whatever the key holds and returns the revision
// written. It is for values that do not depend on what is stored (a
// seed, a record only one writer ever makes); anything else goes through
// Update. A value larger than a record may hold is refused with
// ErrTooLarge before the write.
func (b Bucket[T]) Put(ctx context.Context, key string, v T) (uint64, error) {
	data, err := b.encode(key, v)
	if err != nil {
		return 0, err
	}
	rev, err := b.kv.Put(ctx, key, data)
	if err != nil {
		return 0, fmt.Errorf("store: put %s/%s: %w", b.kv.Bucket(), key, err)
	}
	return rev, nil
}

// PutAt writes v if the key is still at revision rev, a revision read
// earlier (0: the key must be missing, deleted or purged), and returns the
// revision written. When another write came first it fails with an error
// for which IsWrongSequence is true. It is the compare-and-set for a
// decision that spans more than one call (a claim, then the work, then its
// result); a change made at once goes through Update.
func (b Bucket[T]) PutAt(ctx context.Context, key string, v T, rev uint64) (uint64, error) {
	return b.putLasting(ctx, key, v, rev, nil)
}

// putLasting is PutAt with the TTL ttl gives v (none when ttl is nil or
// gives 0).
func (b Bucket[T]) putLasting(ctx context.Context, key string, v T, rev uint64, ttl func(T) time.Duration) (uint64, error) {
	data, err := b.encode(key, v)
	if err != nil {
		return 0, err
	}
	lasts := time.Duration(0)
	if ttl != nil {
		lasts = ttl(v)
	}
	var seq uint64
	switch lb, backed := b.kv.(*leaderBacked); {
	case lasts > 0 && !backed:
		return 0, fmt.Errorf("store: %s/%s: a write with a TTL needs a leader-backed bucket", b.kv.Bucket(), key)
	case lasts > 0:
		seq, err = lb.putExpiring(ctx, key, data, rev, lasts)
	case rev == 0:
		seq, err = b.kv.Create(ctx, key, data)
	default:
		seq, err = b.kv.Update(ctx, key, data, rev)
	}
	if err != nil {
		return 0, fmt.Errorf("store: write %s/%s at revision %d: %w", b.kv.Bucket(), key, rev, err)
	}
	return seq, nil
}

// Update is read-modify-write of one key with compare-and-set: change
// gets the stored value (the zero value when the key is missing) and
// returns whether to write; when another writer got there first it runs
// again on the new value. It returns the revision written, 0 when change
// chose not to write. See UpdateJSON for how a leader-backed bucket keeps
// stale replicas out of the decision.
func (b Bucket[T]) Update(ctx context.Context, key string, change func(*T) (bool, error)) (uint64, error) {
	return b.UpdateExpiring(ctx, key, change, nil)
}

// UpdateExpiring is Update whose write lasts ttl(value written): the
// server removes the key that long after the write unless a later write
// replaces it (0: kept until replaced). It is for values that stop
// mattering by themselves, so that their keys do not pile up. The bucket
// must be leader-backed and allow per-message TTLs (LimitMarkerTTL).
func (b Bucket[T]) UpdateExpiring(ctx context.Context, key string, change func(*T) (bool, error), ttl func(T) time.Duration) (uint64, error) {
	kv := b.kv
	_, backed := kv.(*leaderBacked)
	fromLeader := false
	for attempt := range maxUpdateAttempts {
		if attempt > 1 {
			if err := backoff(ctx, attempt); err != nil {
				return 0, err
			}
		}
		data, rev, err := get(ctx, kv, key, fromLeader, false)
		missing := errors.Is(err, ErrNotFound)
		if err != nil && !missing {
			return 0, err
		}
		var v T
		if !missing {
			if v, err = b.Decode(key, data); err != nil {
				return 0, err
			}
		}
		write, err := change(&v)
		if err != nil || !write {
			if missing && backed && !fromLeader {
				// A decision taken on a miss stands only once the leader
				// confirms the miss.
				fromLeader = true
				continue
			}
			return 0, err
		}
		seq, err := b.putLasting(ctx, key, v, rev, ttl)
		if err == nil {
			return seq, nil
		}
		if !IsWrongSequence(err) {
			return 0, err
		}
		// Another writer got there first, or the read came from a replica
		// that had not applied the latest write: from now on read what the
		// leader has.
		fromLeader = true
	}
	return 0, fmt.Errorf("store: %s/%s: compare-and-set lost %d times in a row: %w", kv.Bucket(), key, maxUpdateAttempts, ErrContention)
}

// GetMany reads the current values of keys in one request per MaxGetMany
// keys (a multi-last direct get) rather than a round trip per key. Keys
// that are missing, deleted or purged (including the server's markers of
// keys removed by age) are absent from the result. A value that does not
// decode fails the read with an error naming its key.
func (b Bucket[T]) GetMany(ctx context.Context, keys []string) (map[string]Entry[T], error) {
	if b.js == nil && len(keys) > 0 {
		return nil, fmt.Errorf("store: get many %s: the bucket was made without a JetStream client", b.kv.Bucket())
	}
	out := make(map[string]Entry[T], len(keys))
	for chunk := range chunks(keys, MaxGetMany) {
		if err := b.getChunk(ctx, chunk, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// getChunk reads at most MaxGetMany keys into out. An answer can end
// early: the server stops once it has sent its byte limit (max_pending),
// or at the request's deadline the client stops reading. The last message
// of a whole answer says nothing more is pending, so an answer cut short
// is asked again for the keys it did not reach. Every pass but the last
// reaches at least one key, so there are at most len(keys) passes.
func (b Bucket[T]) getChunk(ctx context.Context, keys []string, out map[string]Entry[T]) error {
	for len(keys) > 0 {
		reached, complete, err := b.getPass(ctx, keys, out)
		if err != nil {
			return fmt.Errorf("store: get many %s: %w", b.kv.Bucket(), err)
		}
		if complete {
			return nil
		}
		if len(reached) == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("store: get many %s: %w", b.kv.Bucket(), err)
			}
			return fmt.Errorf("store: get many %s: no answer within %s: %w", b.kv.Bucket(), getManyTimeout, context.DeadlineExceeded)
		}
		keys = slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return reached[k] })
	}
	return nil
}

// getPass sends one multi-last request for keys and adds what it answers
// to out. It returns the keys the answer reached (removed ones included)
// and whether the answer was whole.
func (b Bucket[T]) getPass(ctx context.Context, keys []string, out map[string]Entry[T]) (map[string]bool, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, getManyTimeout)
	defer cancel()
	bucket := b.kv.Bucket()
	prefix := KVSubject(bucket, "")
	subjects := make([]string, len(keys))
	for i, k := range keys {
		subjects[i] = prefix + k
	}
	var opts []jetstreamext.GetLastForOpt
	if b.batch > 0 {
		opts = append(opts, jetstreamext.GetLastMsgsBatchSize(b.batch))
	}
	msgs, err := jetstreamext.GetLastMsgsFor(ctx, b.js, KVStream(bucket), subjects, opts...)
	if err != nil {
		return nil, false, err
	}
	reached := make(map[string]bool, len(keys))
	complete := false
	for m, err := range msgs {
		if errors.Is(err, jetstreamext.ErrNoMessages) {
			return reached, true, nil // none of the keys has a message
		}
		if err != nil {
			return nil, false, err
		}
		key, ok := strings.CutPrefix(m.Subject, prefix)
		if !ok || key == "" {
			return nil, false, fmt.Errorf("answer for subject %q outside the bucket", m.Subject)
		}
		reached[key] = true
		complete = m.Header.Get(numPendingHeader) == "0"
		if IsRemoved(m) {
			continue
		}
		v, err := b.Decode(key, m.Data)
		if err != nil {
			return nil, false, err
		}
		out[key] = Entry[T]{Value: v, Revision: m.Sequence}
	}
	return reached, complete, nil
}

// Decode decodes a value of key read some other way than through the
// Bucket (a watcher of KV, a Reader of the bucket's stream) the way the
// Bucket stores values; an error names the key.
func (b Bucket[T]) Decode(key string, data []byte) (T, error) {
	var v T
	if err := decode(data, &v); err != nil {
		return v, fmt.Errorf("store: decode %s/%s: %w", b.kv.Bucket(), key, err)
	}
	return v, nil
}

// IsRemoved reports a message of a bucket's stream that stands for a
// missing key: a delete or purge marker, or the server's marker of a key
// removed by age.
func IsRemoved(m *jetstream.RawStreamMsg) bool {
	switch m.Header.Get(kvOperationHeader) {
	case "DEL", "PURGE":
		return true
	}
	return m.Header.Get(jetstream.MarkerReasonHeader) != ""
}

// chunks yields keys in slices of at most n.
func chunks(keys []string, n int) func(yield func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(keys) > 0 {
			c := keys[:min(n, len(keys))]
			keys = keys[len(c):]
			if !yield(c) {
				return
			}
		}
	}
}

// encode encodes the value of key, refused when larger than a record may
// hold (ErrTooLarge).
func (b Bucket[T]) encode(key string, v T) ([]byte, error) {
	data, err := encode(v)
	if err != nil {
		return nil, fmt.Errorf("store: encode %s/%s: %w", b.kv.Bucket(), key, err)
	}
	if err := checkSize(b.kv, key, data); err != nil {
		return nil, err
	}
	return data, nil
}

// encode is how a Bucket stores a value: JSON, or the bytes themselves in
// a Bucket[[]byte].
func encode[T any](v T) ([]byte, error) {
	if raw, ok := any(v).([]byte); ok {
		return raw, nil
	}
	return json.Marshal(v)
}

// decode reverses encode.
func decode[T any](data []byte, v *T) error {
	if raw, ok := any(v).(*[]byte); ok {
		*raw = data
		return nil
	}
	return json.Unmarshal(data, v)
}
