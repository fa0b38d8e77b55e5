package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// TestBucketRoundTrip: what Put and Update write, Get and GetMany read
// back with the revision written.
func TestBucketRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := store.NewBucket[record](b.js, b.kv)
	putRev, err := bk.Put(b.ctx, "k", record{Name: "first"})
	if err != nil {
		t.Fatal(err)
	}
	got, rev, err := bk.Get(b.ctx, "k")
	if err != nil || got.Name != "first" || rev != putRev {
		t.Fatalf("Get after Put = %+v, %d, %v; want first at %d", got, rev, err, putRev)
	}
	updRev, err := bk.Update(b.ctx, "k", func(r *record) (bool, error) {
		r.Loans = append(r.Loans, "L1")
		return true, nil
	})
	if err != nil || updRev <= putRev {
		t.Fatalf("Update = %d, %v; want a revision after %d", updRev, err, putRev)
	}
	if rev, err := bk.Update(b.ctx, "k", func(*record) (bool, error) { return false, nil }); err != nil || rev != 0 {
		t.Fatalf("Update that chose not to write = %d, %v; want 0, nil", rev, err)
	}
	many, err := bk.GetMany(b.ctx, []string{"k"})
	if err != nil {
		t.Fatal(err)
	}
	if e := many["k"]; e.Value.Name != "first" || len(e.Value.Loans) != 1 || e.Revision != updRev {
		t.Fatalf("GetMany = %+v, want first with [L1] at %d", many, updRev)
	}

	// A Bucket[[]byte] keeps bytes as they are: no JSON either way.
	raw := store.NewBucket[[]byte](b.js, b.kv)
	if _, err := raw.Put(b.ctx, "raw", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if v, _, err := raw.Get(b.ctx, "raw"); err != nil || string(v) != "not json" {
		t.Fatalf("raw Get = %q, %v", v, err)
	}
	rawMany, err := raw.GetMany(b.ctx, []string{"raw", "k"})
	if err != nil || string(rawMany["raw"].Value) != "not json" || !strings.Contains(string(rawMany["k"].Value), `"first"`) {
		t.Fatalf("raw GetMany = %v, %v", rawMany, err)
	}
}

// TestBucketUpdateRetriesALostCompareAndSet: a write that lands between
// Update's read and its write makes the compare-and-set lose; Update runs
// change again on the new value and both changes are kept.
func TestBucketUpdateRetriesALostCompareAndSet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := store.NewBucket[record](b.js, b.kv)
	if _, err := bk.Put(b.ctx, "k", record{Loans: []string{"L0"}}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	_, err := bk.Update(b.ctx, "k", func(r *record) (bool, error) {
		calls++
		if calls == 1 {
			// Another writer gets there first.
			if _, err := b.raw.Put(b.ctx, "k", []byte(`{"loans":["L0","other"]}`)); err != nil {
				return false, err
			}
		}
		r.Loans = append(r.Loans, "mine")
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := bk.Get(b.ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || strings.Join(got.Loans, ",") != "L0,other,mine" {
		t.Fatalf("after a lost compare-and-set: change ran %d times, loans %v; want 2 and [L0 other mine]", calls, got.Loans)
	}
}

// TestBucketPutAtWritesOnlyOverTheRevisionRead: PutAt at a revision
// read earlier loses to any write since; at 0 it creates, also over a
// deleted key, and loses to a key that exists.
func TestBucketPutAtWritesOnlyOverTheRevisionRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := store.NewBucket[record](b.js, b.kv)
	first, err := bk.PutAt(b.ctx, "k", record{Name: "first"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bk.PutAt(b.ctx, "k", record{Name: "create again"}, 0); !store.IsWrongSequence(err) {
		t.Fatalf("PutAt 0 over an existing key = %v, want a wrong sequence", err)
	}
	second, err := bk.PutAt(b.ctx, "k", record{Name: "second"}, first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bk.PutAt(b.ctx, "k", record{Name: "stale"}, first); !store.IsWrongSequence(err) {
		t.Fatalf("PutAt at an old revision = %v, want a wrong sequence", err)
	}
	if got, rev, err := bk.Get(b.ctx, "k"); err != nil || got.Name != "second" || rev != second {
		t.Fatalf("Get = %+v at %d, %v; want second at %d", got, rev, err, second)
	}
	if err := b.raw.Delete(b.ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := bk.PutAt(b.ctx, "k", record{Name: "after delete"}, 0); err != nil {
		t.Fatalf("PutAt 0 over a deleted key: %v", err)
	}
}

// TestBucketMissingAndUndecodable: a missing or deleted key is a not-found
// error naming the key; a value that does not decode is an error naming
// the key, in Get and in GetMany.
func TestBucketMissingAndUndecodable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := store.NewBucket[record](b.js, b.kv)
	if _, err := b.raw.Put(b.ctx, "gone", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := b.raw.Delete(b.ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"never-written", "gone"} {
		_, _, err := bk.Get(b.ctx, key)
		if !store.IsNotFound(err) || !errors.Is(err, store.ErrNotFound) || !strings.Contains(fmt.Sprint(err), key) {
			t.Errorf("Get(%s) = %v; want a not-found error naming the key", key, err)
		}
	}

	if _, err := b.raw.Put(b.ctx, "fine", []byte(`{"name":"ok"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.raw.Put(b.ctx, "broken-value", []byte(`{"name":`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := bk.Get(b.ctx, "broken-value"); err == nil || !strings.Contains(err.Error(), "broken-value") {
		t.Errorf("Get of an undecodable value = %v; want an error naming the key", err)
	}
	if _, err := bk.GetMany(b.ctx, []string{"fine", "broken-value"}); err == nil || !strings.Contains(err.Error(), "broken-value") {
		t.Errorf("GetMany with an undecodable value = %v; want an error naming the key", err)
	}
	if _, err := bk.Update(b.ctx, "broken-value", func(*record) (bool, error) { return true, nil }); err == nil {
		t.Error("Update wrote over a value it could not decode")
	}
}

// TestGetManyLeavesOutRemovedKeys: keys never written, deleted, purged or
// removed by age (the server's marker) are absent from GetMany; the rest
// are there with their revisions.
func TestGetManyLeavesOutRemovedKeys(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	kv, err := n.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "getmany", LimitMarkerTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	bk := store.NewBucket[[]byte](n.JS, kv)
	revs := map[string]uint64{}
	for _, k := range []string{"kept", "deleted", "purged", "other"} {
		if revs[k], err = kv.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := kv.Delete(ctx, "deleted"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Purge(ctx, "purged"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "aged", []byte("aged"), jetstream.KeyTTL(time.Second)); err != nil {
		t.Fatal(err)
	}
	// Wait for the server's marker of the aged key.
	stream, err := n.JS.Stream(ctx, store.KVStream("getmany"))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, "the aged key's marker", func() bool {
		m, err := stream.GetLastMsgForSubject(ctx, store.KVSubject("getmany", "aged"))
		return err == nil && m.Header.Get(jetstream.MarkerReasonHeader) != ""
	})

	tests := []struct {
		name string
		keys []string
		want []string
	}{
		{"mixed", []string{"kept", "deleted", "purged", "aged", "never", "other"}, []string{"kept", "other"}},
		{"none present", []string{"deleted", "purged", "aged", "never"}, nil},
		{"no keys", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bk.GetMany(ctx, tt.keys)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("GetMany(%v) = %d entries %v, want %v", tt.keys, len(got), got, tt.want)
			}
			for _, k := range tt.want {
				if e, ok := got[k]; !ok || string(e.Value) != k || e.Revision != revs[k] {
					t.Errorf("GetMany[%s] = %q at %d, want %q at %d", k, e.Value, e.Revision, k, revs[k])
				}
			}
		})
	}
}

// TestGetManyReadsMoreKeysThanOneRequestAnswers: more keys than one
// multi-last request may ask for are all read.
func TestGetManyReadsMoreKeysThanOneRequestAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const stored = store.MaxGetMany + 300
	for i := range stored {
		if _, err := b.raw.PutString(b.ctx, fmt.Sprintf("k%04d", i), fmt.Sprintf(`{"name":"n%d"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	keys := make([]string, 0, stored+10)
	for i := range stored + 10 { // ten never written
		keys = append(keys, fmt.Sprintf("k%04d", i))
	}
	got, err := store.NewBucket[record](b.js, b.kv).GetMany(b.ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != stored {
		t.Fatalf("GetMany of %d keys (%d stored) = %d entries", len(keys), stored, len(got))
	}
	for _, i := range []int{0, store.MaxGetMany - 1, store.MaxGetMany, stored - 1} {
		if e := got[fmt.Sprintf("k%04d", i)]; e.Value.Name != fmt.Sprintf("n%d", i) || e.Revision == 0 {
			t.Errorf("k%04d = %+v", i, e)
		}
	}
}

// TestGetManyAsksAgainWhenTheAnswerIsCutShort: the server ends a
// multi-last answer early once it has sent its max_pending bytes (here: a
// smaller batch); GetMany asks again for the keys the answer did not reach
// rather than take them for missing.
func TestGetManyAsksAgainWhenTheAnswerIsCutShort(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const stored = 40
	keys := make([]string, 0, stored+3)
	for i := range stored {
		keys = append(keys, fmt.Sprintf("k%02d", i))
		if _, err := b.raw.PutString(b.ctx, keys[i], fmt.Sprintf(`{"name":"n%d"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.raw.Delete(b.ctx, "k05"); err != nil {
		t.Fatal(err)
	}
	keys = append(keys, "never1", "never2", "never3")
	got, err := store.WithBatch(store.NewBucket[record](b.js, b.kv), 7).GetMany(b.ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != stored-1 {
		t.Fatalf("GetMany = %d entries, want %d: an answer cut short lost keys", len(got), stored-1)
	}
	for i := range stored {
		k := fmt.Sprintf("k%02d", i)
		if e, ok := got[k]; ok == (i == 5) || (ok && e.Value.Name != fmt.Sprintf("n%d", i)) {
			t.Errorf("%s = %+v, %v", k, e, ok)
		}
	}
}

// TestGetManyThroughAJetStreamDomain: a client of a JetStream domain, or
// one with an explicit API prefix, reads many keys as any other does.
func TestGetManyThroughAJetStreamDomain(t *testing.T) {
	t.Parallel()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, JetStreamDomain: "hub",
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := testkit.Context(t, time.Minute)
	viaDomain, err := jetstream.NewWithDomain(nc, "hub")
	if err != nil {
		t.Fatal(err)
	}
	viaPrefix, err := jetstream.NewWithAPIPrefix(nc, "$JS.hub.API")
	if err != nil {
		t.Fatal(err)
	}
	kv, err := viaDomain.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "domain"})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Put(ctx, "k", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	for name, js := range map[string]jetstream.JetStream{"domain": viaDomain, "api prefix": viaPrefix} {
		got, err := store.NewBucket[[]byte](js, kv).GetMany(ctx, []string{"k", "missing"})
		if err != nil || len(got) != 1 || string(got["k"].Value) != "v" || got["k"].Revision != rev {
			t.Errorf("%s: GetMany = %v, %v; want k=v at %d", name, got, err, rev)
		}
	}
}
