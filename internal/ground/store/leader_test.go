package store_test

import (
	"errors"
	"testing"

	"github.com/forbear/forbear/internal/ground/store"
)

// TestLastRevisionIsTheNewestEntryOfAnyKey: the revision the fence waits
// for is the bucket's newest entry, whatever its key and whether it is a
// value or a delete marker; an empty bucket has none.
func TestLastRevisionIsTheNewestEntryOfAnyKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := store.LastRevision(b.ctx, b.kv); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastRevision of an empty bucket = %v, want ErrNotFound", err)
	}
	if _, err := b.raw.Put(b.ctx, "a", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	want, err := b.raw.Put(b.ctx, "b", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := store.LastRevision(b.ctx, b.kv); err != nil || got != want {
		t.Fatalf("LastRevision = %d, %v; want %d (key b)", got, err, want)
	}
	if err := b.raw.Delete(b.ctx, "a"); err != nil {
		t.Fatal(err)
	}
	e, err := b.raw.Get(b.ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := store.LastRevision(b.ctx, b.kv); err != nil || got != e.Revision()+1 {
		t.Fatalf("LastRevision after deleting a = %d, %v; want %d (the delete marker)", got, err, e.Revision()+1)
	}
	if _, err := store.LastRevision(b.ctx, b.raw); err == nil {
		t.Fatal("LastRevision of a bucket that is not leader-backed answered; it must refuse (its reads may come from a replica)")
	}
}
