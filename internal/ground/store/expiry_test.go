package store_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// TestSuppressionsThatHoldNothingExpire: a borrower's suppressions written
// with no suppression in them (only a note of changes, or after the last
// one went) carry a TTL of domain.ChangesKeep; a record that holds one
// carries none, also when it replaces a record that had one.
func TestSuppressionsThatHoldNothingExpire(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := n.JS.Stream(ctx, store.KVStream(store.SuppressionsBucket))
	if err != nil {
		t.Fatal(err)
	}
	ttlOf := func(borrower string) string {
		t.Helper()
		m, err := stream.GetLastMsgForSubject(ctx, store.KVSubject(store.SuppressionsBucket, store.Token(borrower)))
		if err != nil {
			t.Fatal(err)
		}
		return m.Header.Get(jetstream.MsgTTLHeader)
	}
	write := func(borrower string, change func(*domain.Suppressions)) {
		t.Helper()
		if _, err := st.UpdateSuppressions(ctx, borrower, func(s *domain.Suppressions) error { change(s); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	keep := domain.ChangesKeep.String()
	note := func(s *domain.Suppressions) { s.NoteChange(1, 0, time.Now()) }
	mute := func(s *domain.Suppressions) { s.Mutes = []domain.Mute{{ID: "m", Reason: "test"}} }
	unmute := func(s *domain.Suppressions) { s.Mutes = nil }

	write("noted", note)
	if got := ttlOf("noted"); got != keep {
		t.Errorf("a record with only a note: TTL %q, want %q", got, keep)
	}
	write("noted", note) // the key exists now: a compare-and-set with a TTL
	if got := ttlOf("noted"); got != keep {
		t.Errorf("a note rewritten: TTL %q, want %q", got, keep)
	}
	write("noted", mute)
	if got := ttlOf("noted"); got != "" {
		t.Errorf("the same record with a mute: TTL %q, want none", got)
	}
	write("noted", unmute)
	if got := ttlOf("noted"); got != keep {
		t.Errorf("the record after its last mute went: TTL %q, want %q", got, keep)
	}
	write("muted", mute)
	if got := ttlOf("muted"); got != "" {
		t.Errorf("a new record with a mute: TTL %q, want none", got)
	}
	// A mute that ends: the record goes a day after it ends, not never
	// (nothing else removes an ended mute).
	until := time.Now().Add(time.Hour)
	write("for an hour", func(s *domain.Suppressions) { s.Mutes = []domain.Mute{{ID: "m", Reason: "test", Until: &until}} })
	ttl, err := time.ParseDuration(ttlOf("for an hour"))
	if err != nil || ttl <= domain.ChangesKeep || ttl > time.Hour+time.Second+domain.ChangesKeep {
		t.Errorf("a record with a mute for an hour: TTL %v (%v), want an hour and a day at most, more than a day", ttl, err)
	}
}

// TestUpdateExpiringRemovesTheKey: a key written with a TTL goes when it
// runs out, and a compare-and-set on the key's marker writes it again.
func TestUpdateExpiringRemovesTheKey(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	bk := store.NewBucket[domain.Suppressions](n.JS, st.SuppressionKV)
	second := func(domain.Suppressions) time.Duration { return time.Second }
	set := func(s *domain.Suppressions) (bool, error) { s.NoteChange(1, 0, time.Now()); return true, nil }
	for range 2 { // a create, then a compare-and-set
		if _, err := bk.UpdateExpiring(ctx, "b1", set, second); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 30*time.Second, "the key to expire", func() bool {
		sup, err := st.Suppressions(ctx, "b1")
		return err == nil && sup.Changed == nil
	})
	if _, err := bk.UpdateExpiring(ctx, "b1", set, second); err != nil {
		t.Fatalf("writing over the expired key's marker: %v", err)
	}
}

// TestSetupLetsAnOlderSuppressionsBucketExpireRecords: a suppressions
// bucket made before records could expire is updated in place by Setup,
// keeping what it holds, and takes expiring writes afterwards.
func TestSetupLetsAnOlderSuppressionsBucketExpireRecords(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	// As an older version made it: no per-message TTLs.
	if err := n.JS.DeleteKeyValue(ctx, store.SuppressionsBucket); err != nil {
		t.Fatal(err)
	}
	kv, err := n.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: store.SuppressionsBucket, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, store.Token("old"), []byte(`{"borrower_id":"old","mutes":[{"id":"m","reason":"test"}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := store.Setup(ctx, n.JS, store.Options{}); err != nil {
		t.Fatalf("setup over the older bucket: %v", err)
	}
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	if sup, err := st.Suppressions(ctx, "old"); err != nil || len(sup.Mutes) != 1 {
		t.Fatalf("the older record after setup: %+v, %v", sup, err)
	}
	if _, err := st.UpdateSuppressions(ctx, "new", func(s *domain.Suppressions) error { s.NoteChange(1, 0, time.Now()); return nil }); err != nil {
		t.Fatalf("an expiring write after setup: %v", err)
	}
}
