package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/clock"
)

// MaxValueBytes bounds one stored JSON value. NATS refuses a message over
// the server's max_payload (1 MiB by default), and that refusal used to
// reach users as a 500 on every later write of the record; values are kept
// at half of it, so the subject and headers always fit too. A write that
// would pass this bound is refused with ErrTooLarge before it is sent.
const MaxValueBytes = 512 << 10

// maxUpdateAttempts bounds UpdateJSON's compare-and-set loop: each lost
// attempt means another writer's change landed, so this is only reached
// when that many writers hit one key at once.
const maxUpdateAttempts = 64

var (
	// ErrTooLarge is a write refused because the value would be more than
	// a record may hold (see MaxValueBytes).
	ErrTooLarge = errors.New("record too large")
	// ErrContention is a compare-and-set that kept losing to other writers.
	ErrContention = errors.New("too much write contention")
)

// UpdateJSON is read-modify-write of one JSON value with compare-and-set:
// change gets the current value (the zero value when the key is missing)
// and returns whether to write; when another writer got there first, it
// runs again on the new value. It returns the revision written (0 when
// change chose not to write).
//
// Opened with OpenBucket (or LeaderBacked), kv's reads that could be stale
// in a harmful way are confirmed by the stream leader: a missing key that
// change decided not to write (or refused), and every read after a lost
// compare-and-set. A missing key that change does write needs no leader
// read: the write is a create, which the leader refuses when the key
// exists, so a replica that is behind can never make a stub replace a real
// record, and the refusal re-reads from the leader. That keeps the common
// first write of a key (a borrower's first contact in the ledger) at one
// read. The value is checked against MaxValueBytes before the write.
// It is Bucket.Update for a caller that holds the bucket as kv.
func UpdateJSON[T any](ctx context.Context, kv jetstream.KeyValue, key string, change func(*T) (bool, error)) (uint64, error) {
	return Bucket[T]{kv: kv}.Update(ctx, key, change)
}

// backoff waits a few random milliseconds, growing with attempt, so that
// writers racing on one key stop colliding in lockstep.
func backoff(ctx context.Context, attempt int) error {
	ceiling := time.Duration(1<<min(attempt, 6)) * time.Millisecond
	return clock.Sleep(ctx, rand.N(ceiling))
}

// IsWrongSequence reports a failed compare-and-set: another writer changed
// the key first.
func IsWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

// getJSON reads and decodes a key; a miss is confirmed by the stream leader
// when kv is leader-backed. It returns the revision read, which may be set
// along with ErrNotFound when the key was deleted.
func getJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) (uint64, error) {
	return getJSONFrom(ctx, kv, key, v, false, true)
}

// getJSONFrom reads and decodes a key, from the stream leader when
// fromLeader is set and kv is leader-backed; confirmMiss has the leader
// confirm a miss of the direct read (UpdateJSON confirms one only when the
// miss decides something).
func getJSONFrom(ctx context.Context, kv jetstream.KeyValue, key string, v any, fromLeader, confirmMiss bool) (uint64, error) {
	data, rev, err := get(ctx, kv, key, fromLeader, confirmMiss)
	if err != nil {
		return rev, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return 0, fmt.Errorf("store: decode %s/%s: %w", kv.Bucket(), key, err)
	}
	return rev, nil
}

func get(ctx context.Context, kv jetstream.KeyValue, key string, fromLeader, confirmMiss bool) ([]byte, uint64, error) {
	lb, backed := kv.(*leaderBacked)
	if fromLeader && backed {
		return lb.getFromLeader(ctx, key)
	}
	e, err := kv.Get(ctx, key)
	if IsNotFound(err) {
		if backed && confirmMiss {
			return lb.getFromLeader(ctx, key)
		}
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: get %s/%s: %w", kv.Bucket(), key, err)
	}
	return e.Value(), e.Revision(), nil
}

// checkSize refuses a value larger than a record may hold: MaxValueBytes,
// or half of the server's max_payload when that is smaller.
func checkSize(kv jetstream.KeyValue, key string, data []byte) error {
	limit := int64(MaxValueBytes)
	if lb, ok := kv.(*leaderBacked); ok {
		if mp := lb.maxPayload(); mp > 0 {
			limit = min(limit, mp/2)
		}
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("store: %s/%s: %d bytes is more than the %d one record may hold: %w",
			kv.Bucket(), key, len(data), limit, ErrTooLarge)
	}
	return nil
}

func putJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) error {
	_, err := Bucket[any]{kv: kv}.Put(ctx, key, v)
	return err
}
