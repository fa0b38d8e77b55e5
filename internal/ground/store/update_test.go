package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

type setupBundle struct {
	js  jetstream.JetStream
	raw jetstream.KeyValue // the bucket without leader reads
	kv  jetstream.KeyValue // the same bucket, leader-backed
	ctx context.Context
}

func setup(t *testing.T) *setupBundle {
	t.Helper()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	raw, err := n.JS.KeyValue(ctx, store.BorrowersBucket)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := store.OpenBucket(ctx, n.JS, store.BorrowersBucket)
	if err != nil {
		t.Fatal(err)
	}
	return &setupBundle{js: n.JS, raw: raw, kv: kv, ctx: ctx}
}

type record struct {
	Name  string   `json:"name"`
	Loans []string `json:"loans"`
}

// staleReplica answers every read with what the key held when it was made:
// a replica that stopped applying writes (direct get may be answered by
// any replica, so this is what an instance on a cluster can see).
type staleReplica struct {
	jetstream.KeyValue
	mu       sync.Mutex
	snapshot map[string]jetstream.KeyValueEntry
}

func (s *staleReplica) Get(_ context.Context, key string) (jetstream.KeyValueEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.snapshot[key]; ok {
		return e, nil
	}
	return nil, jetstream.ErrKeyNotFound
}

func TestUpdateJSONProgressesPastAStaleReplica(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The replica has applied the first write of k1 and nothing of k2.
	if _, err := store.UpdateJSON(b.ctx, b.kv, "k1", func(r *record) (bool, error) {
		r.Name = "first"
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	old, err := b.raw.Get(b.ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	stale := store.LeaderBacked(&staleReplica{KeyValue: b.raw, snapshot: map[string]jetstream.KeyValueEntry{"k1": old}}, b.js)
	for _, key := range []string{"k1", "k2"} {
		if _, err := store.UpdateJSON(b.ctx, b.kv, key, func(r *record) (bool, error) {
			r.Name = "real"
			r.Loans = []string{"l1"}
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	for _, key := range []string{"k1", "k2"} {
		if _, err := store.UpdateJSON(b.ctx, stale, key, func(r *record) (bool, error) {
			r.Loans = append(r.Loans, "l2")
			return true, nil
		}); err != nil {
			t.Fatalf("%s: update through a stale replica: %v", key, err)
		}
		e, err := b.raw.Get(b.ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(e.Value()); got != `{"name":"real","loans":["l1","l2"]}` {
			t.Fatalf("%s = %s: the write was based on the stale read", key, got)
		}
	}
}

func TestMissingKeyIsConfirmedByTheLeader(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := store.UpdateJSON(b.ctx, b.kv, "k1", func(r *record) (bool, error) {
		r.Name = "real"
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	lagging := store.LeaderBacked(&staleReplica{KeyValue: b.raw}, b.js)
	var seen record
	if _, err := store.UpdateJSON(b.ctx, lagging, "k1", func(r *record) (bool, error) {
		seen = *r
		return false, nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen.Name != "real" {
		t.Fatalf("change saw %+v: a replica's miss was taken for a missing key", seen)
	}

	// A deleted key reads as missing, and can be written again.
	if err := b.raw.Delete(b.ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateJSON(b.ctx, lagging, "k1", func(r *record) (bool, error) {
		if r.Name != "" {
			return false, fmt.Errorf("deleted key read as %+v", *r)
		}
		r.Name = "again"
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentUpdatesKeepEveryChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const writers = 30
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := store.UpdateJSON(b.ctx, b.kv, "k", func(r *record) (bool, error) {
				r.Loans = append(r.Loans, fmt.Sprintf("l%02d", i))
				return true, nil
			}); err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	var got record
	e, err := b.raw.Get(b.ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(e.Value(), &got); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got.Loans)
	if len(got.Loans) != writers || got.Loans[0] != "l00" || got.Loans[writers-1] != fmt.Sprintf("l%02d", writers-1) {
		t.Fatalf("loans = %v, want %d", got.Loans, writers)
	}
}

func TestValueOverTheLimitIsRefusedBeforeTheWrite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, size := range []int{store.MaxValueBytes + 1, 2 << 20} {
		_, err := store.UpdateJSON(b.ctx, b.kv, "big", func(r *record) (bool, error) {
			r.Name = strings.Repeat("x", size)
			return true, nil
		})
		if !errors.Is(err, store.ErrTooLarge) {
			t.Fatalf("%d-byte value: err = %v, want ErrTooLarge", size, err)
		}
	}
	if _, err := b.raw.Get(b.ctx, "big"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("refused value was written (err %v)", err)
	}
	st, err := store.OpenState(b.ctx, b.js)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutCase(b.ctx, domain.Case{LoanID: "l", Policy: strings.Repeat("p", 2<<20)}); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("PutCase of a huge case: err = %v, want ErrTooLarge", err)
	}
}

// TestFirstWriteOfAKeyReadsOnce counts the reads the stream leader answers
// (STREAM.MSG.GET): the first write of a key is a create, which the leader
// itself refuses when the key exists, so the direct read's miss needs no
// confirmation; a miss that decides not to write does.
func TestFirstWriteOfAKeyReadsOnce(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	kv, err := store.OpenBucket(ctx, n.JS, store.BorrowersBucket)
	if err != nil {
		t.Fatal(err)
	}
	// The server hands every copy of a request to this connection before
	// the reply, so once UpdateJSON returns its leader reads are queued here.
	leaderReads, err := n.Conn.SubscribeSync("$JS.API.STREAM.MSG.GET.KV_" + store.BorrowersBucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Conn.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateJSON(ctx, kv, "new", func(r *record) (bool, error) {
		r.Name = "first"
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := leaderReads.Pending(); got != 0 {
		t.Fatalf("first write of a key read it from the leader %d time(s), want 0", got)
	}
	var seen *record
	if _, err := store.UpdateJSON(ctx, kv, "absent", func(r *record) (bool, error) {
		seen = r
		return false, nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen == nil || seen.Name != "" {
		t.Fatalf("change saw %+v for a missing key", seen)
	}
	if _, err := leaderReads.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("a miss that decided not to write was not confirmed by the leader: %v", err)
	}

	// The created key reads as written.
	e, err := kv.Get(ctx, "new")
	if err != nil || !strings.Contains(string(e.Value()), `"first"`) {
		t.Fatalf("created key: %v %v", e, err)
	}
}

// TestStaleMissDoesNotReplaceTheRecord: a replica that has not applied a
// key answers a miss; a change that writes on it must not replace the
// record the leader has, and runs again on it.
func TestStaleMissDoesNotReplaceTheRecord(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := store.UpdateJSON(b.ctx, b.kv, "k1", func(r *record) (bool, error) {
		r.Name, r.Loans = "real", []string{"L1"}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	lagging := store.LeaderBacked(&staleReplica{KeyValue: b.raw}, b.js)
	if _, err := store.UpdateJSON(b.ctx, lagging, "k1", func(r *record) (bool, error) {
		r.Loans = append(r.Loans, "L2")
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	e, err := b.raw.Get(b.ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	var got record
	if err := json.Unmarshal(e.Value(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "real" || !slices.Equal(got.Loans, []string{"L1", "L2"}) {
		t.Fatalf("record after a write on a stale miss: %+v, want name real and loans [L1 L2]", got)
	}
}
