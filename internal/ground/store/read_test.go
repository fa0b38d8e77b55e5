package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// readStream creates a stream for reader tests and returns a publish
// function that reports the sequence of every message it stored.
func readStream(t *testing.T, n *testkit.NATS, name string, direct bool) func(subject string, count int) []uint64 {
	t.Helper()
	ctx := testkit.Context(t, time.Minute)
	_, err := n.JS.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"},
		Storage: jetstream.MemoryStorage, AllowDirect: direct})
	if err != nil {
		t.Fatal(err)
	}
	return func(subject string, count int) []uint64 {
		t.Helper()
		var seqs []uint64
		// In chunks: the client stalls with too many publishes in flight.
		for len(seqs) < count {
			futures := make([]jetstream.PubAckFuture, min(count-len(seqs), 1000))
			for i := range futures {
				f, err := n.JS.PublishAsync(subject, []byte(fmt.Sprint(len(seqs)+i)))
				if err != nil {
					t.Fatal(err)
				}
				futures[i] = f
			}
			for _, f := range futures {
				select {
				case ack := <-f.Ok():
					seqs = append(seqs, ack.Sequence)
				case err := <-f.Err():
					t.Fatal(err)
				case <-ctx.Done():
					t.Fatal(ctx.Err())
				}
			}
		}
		return seqs
	}
}

func sequences(msgs []*jetstream.RawStreamMsg) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Sequence
	}
	return out
}

func TestLastReturnsTheNewestInOrder(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	publish := readStream(t, n, "LAST", true)
	r := store.NewReader(n.JS)
	ctx := testkit.Context(t, 2*time.Minute)

	// Matching messages interleaved with others at random, long enough
	// that the newest few are found by searching, not by reading through.
	rng := rand.New(rand.NewPCG(1, 2))
	var want []uint64
	for len(want) < 3000 {
		if rng.IntN(3) == 0 {
			publish("LAST.other."+fmt.Sprint(rng.IntN(5)), 1+rng.IntN(20))
			continue
		}
		want = append(want, publish("LAST.b1.r"+fmt.Sprint(rng.IntN(40)), 1+rng.IntN(3))...)
	}
	tests := []struct {
		name   string
		filter string
		n      int
		want   []uint64
	}{
		{name: "one", filter: "LAST.b1.*", n: 1, want: want[len(want)-1:]},
		{name: "a page", filter: "LAST.b1.*", n: 100, want: want[len(want)-100:]},
		{name: "more than a batch", filter: "LAST.b1.*", n: 700, want: want[len(want)-700:]},
		{name: "all", filter: "LAST.b1.*", n: len(want), want: want},
		{name: "more than there are", filter: "LAST.b1.*", n: 10000, want: want},
		{name: "nothing matches", filter: "LAST.b2.*", n: 10, want: nil},
		{name: "nothing asked", filter: "LAST.b1.*", n: 0, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Last(ctx, "LAST", tt.filter, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sequences(got), tt.want) {
				t.Fatalf("got %d messages %v..., want %d", len(got), head(sequences(got)), len(tt.want))
			}
			for _, m := range got {
				if m.Subject == "" || m.Time.IsZero() || len(m.Data) == 0 {
					t.Fatalf("message %d lacks subject, time or data: %+v", m.Sequence, m)
				}
			}
		})
	}
}

func head(s []uint64) []uint64 { return s[:min(len(s), 5)] }

func TestLastSkipsHistoryItDoesNotNeed(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	publish := readStream(t, n, "LONG", true)
	r := store.NewReader(n.JS)
	ctx := testkit.Context(t, 2*time.Minute)
	seqs := publish("LONG.b1.r1", 20000)

	// Count the requests the reader makes: the newest 10 of 20,000 must
	// not cost 20,000/ReadBatch pages.
	sub, err := n.Conn.SubscribeSync("$JS.API.DIRECT.GET.LONG")
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Last(ctx, "LONG", "LONG.b1.*", 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sequences(got), seqs[len(seqs)-10:]) {
		t.Fatalf("got %v, want the last 10 of %d", sequences(got), len(seqs))
	}
	requests, _, err := sub.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if requests > 80 {
		t.Errorf("%d requests for the newest 10 of 20,000 messages, want a search (at most 80)", requests)
	}
}

func TestAllFromLeader(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	publish := readStream(t, n, "LEAD", false)
	r := store.NewReader(n.JS)
	ctx := testkit.Context(t, time.Minute)
	publish("LEAD.b1.r2", 3)
	want := publish("LEAD.b1.r1", 5)
	publish("LEAD.b1.r2", 3)

	got, err := r.AllFromLeader(ctx, "LEAD", "LEAD.b1.r1", 5)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sequences(got), want) {
		t.Fatalf("got %v, want %v", sequences(got), want)
	}
	if _, err := r.AllFromLeader(ctx, "LEAD", "LEAD.b1.r1", 4); !errors.Is(err, store.ErrReadLimit) {
		t.Fatalf("5 messages with a limit of 4: err = %v, want ErrReadLimit", err)
	}
	if got, err := r.AllFromLeader(ctx, "LEAD", "LEAD.none", 4); err != nil || len(got) != 0 {
		t.Fatalf("no match: %v, %v", got, err)
	}
}

func TestLastNeedsDirectGet(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	publish := readStream(t, n, "NODIRECT", false)
	publish("NODIRECT.x", 1)
	_, err := store.NewReader(n.JS).Last(testkit.Context(t, time.Minute), "NODIRECT", "NODIRECT.>", 1)
	if !errors.Is(err, store.ErrNoDirectGet) {
		t.Fatalf("err = %v, want ErrNoDirectGet", err)
	}
}

// TestLastReadsKVMarkers: a KV bucket's stream holds delete markers
// (headers, no data); the reader hands them over as messages rather than
// mistaking them for a status answer.
func TestLastReadsKVMarkers(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	kv, err := n.JS.KeyValue(ctx, store.InboxBucket)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"b1.m1", "b1.m2", "b2.m1"} {
		if _, err := kv.Put(ctx, k, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := kv.Delete(ctx, "b1.m1"); err != nil {
		t.Fatal(err)
	}
	got, err := store.NewReader(n.JS).Last(ctx, store.KVStream(store.InboxBucket), store.KVSubject(store.InboxBucket, "b1.*"), 10)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]string{}
	for _, m := range got {
		ops[m.Subject] = m.Header.Get("KV-Operation")
	}
	want := map[string]string{store.KVSubject(store.InboxBucket, "b1.m1"): "DEL", store.KVSubject(store.InboxBucket, "b1.m2"): ""}
	if fmt.Sprint(ops) != fmt.Sprint(want) {
		t.Fatalf("read %v, want %v", ops, want)
	}
}

// TestScanResumes: a scan reads the matching messages of a sequence range
// in order, at most max a call, says where the next one starts, and ends
// at the range's end however many match after it; an error from fn
// leaves that message for the next scan.
func TestScanResumes(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	publish := readStream(t, n, "SCAN", true)
	r := store.NewReader(n.JS)
	ctx := testkit.Context(t, time.Minute)
	publish("SCAN.other", 5)
	want := publish("SCAN.b.x", 600)
	publish("SCAN.other", 5)
	through := want[len(want)-1]
	publish("SCAN.b.y", 10) // after the range

	var got []uint64
	collect := func(m *jetstream.RawStreamMsg) error { got = append(got, m.Sequence); return nil }
	next, calls := uint64(1), 0
	for next <= through {
		calls++
		if calls > 10 {
			t.Fatalf("no end after %d scans (next %d)", calls, next)
		}
		var err error
		if next, err = r.Scan(ctx, "SCAN", "SCAN.b.>", next, through, 250, collect); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("scanned %d messages (%v...), want the %d of the range", len(got), got[:min(len(got), 3)], len(want))
	}
	if calls != 3 || next != through+1 {
		t.Errorf("%d scans ending at %d, want 3 ending at %d", calls, next, through+1)
	}

	boom := errors.New("boom")
	next, err := r.Scan(ctx, "SCAN", "SCAN.b.>", 1, through, 10, func(m *jetstream.RawStreamMsg) error {
		if m.Sequence == want[3] {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || next != want[3] {
		t.Errorf("scan failing on %d: next %d, err %v; want to resume at the failed message", want[3], next, err)
	}
}
