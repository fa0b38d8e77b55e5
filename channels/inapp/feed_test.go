package inapp_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/channels/inapp"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// consumers is how many consumers (KV watchers among them) the inbox
// bucket's stream has.
func (b bundle) consumers(t *testing.T) int {
	t.Helper()
	s, err := b.nats.JS.Stream(ctx(t), store.KVStream(store.InboxBucket))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Consumers
}

// TestListNeedsNoConsumer: the inbox reads even when the bucket's stream
// has all the consumers it may have (it used to open a KV watcher per read,
// so 1,000 live streams made every inbox read fail).
func TestListNeedsNoConsumer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for range 3 {
		if _, err := b.ib.Send(ctx(t), message("b-1")); err != nil {
			t.Fatal(err)
		}
	}
	c := ctx(t)
	// The server's limit is 1,000 consumers per stream; a limit of 3 on
	// this stream fills faster and means the same.
	s, err := b.nats.JS.Stream(c, store.KVStream(store.InboxBucket))
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxConsumers = 3
	if _, err := b.nats.JS.UpdateStream(c, cfg); err != nil {
		t.Fatal(err)
	}
	full := false
	for i := 0; i < 10 && !full; i++ {
		_, err := b.nats.JS.CreateConsumer(c, store.KVStream(store.InboxBucket), jetstream.ConsumerConfig{
			Name: fmt.Sprintf("filler-%d", i), AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute})
		full = errors.Is(err, jetstream.ErrMaximumConsumersLimit)
		if err != nil && !full {
			t.Fatal(err)
		}
	}
	if !full {
		t.Fatal("the stream took 10 consumers with a limit of 3")
	}
	for i := range 100 {
		got, err := b.ib.List(c, "b-1")
		if err != nil || len(got) != 3 {
			t.Fatalf("list %d with the consumer limit reached: %d messages, %v", i, len(got), err)
		}
	}
}

// TestListSkipsDeletedMessages: a deleted or purged key leaves a marker in
// the bucket's stream, which is not a message.
func TestListSkipsDeletedMessages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var ids []string
	for range 3 {
		m := message("b-1")
		if _, err := b.ib.Send(ctx(t), m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ReminderID)
	}
	kv, err := b.nats.JS.KeyValue(ctx(t), store.InboxBucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx(t), "b-1."+store.Token(ids[0])); err != nil {
		t.Fatal(err)
	}
	if err := kv.Purge(ctx(t), "b-1."+store.Token(ids[1])); err != nil {
		t.Fatal(err)
	}
	got, err := b.ib.List(ctx(t), "b-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != ids[2] {
		t.Fatalf("List = %+v, want only %s", got, ids[2])
	}
}

// TestStreamsShareOneWatcher: every stream on an instance, of any number
// of borrowers, shares one KV watcher; each gets its borrower's new
// messages and no one else's, and the watcher goes when the last stream
// ends. A watcher per stream, or per borrower, reached the stream's limit
// of 1,000 consumers with that many borrowers online.
func TestStreamsShareOneWatcher(t *testing.T) {
	t.Parallel()
	b := setup(t)
	before := b.consumers(t)
	sctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	const borrowers = 1100
	streams := map[string][]<-chan inapp.Message{}
	for i := range borrowers {
		id := fmt.Sprintf("b-%d", i)
		for range 1 + i%3 {
			ch, err := b.ib.Stream(sctx, id)
			if err != nil {
				t.Fatalf("stream %d of %s: %v", len(streams[id]), id, err)
			}
			streams[id] = append(streams[id], ch)
		}
	}
	if n := b.consumers(t) - before; n != 1 {
		t.Fatalf("%d watchers for the streams of %d borrowers, want 1", n, borrowers)
	}
	for _, id := range []string{"b-0", "b-1", "b-1099"} {
		m := message(id)
		if _, err := b.ib.Send(ctx(t), m); err != nil {
			t.Fatal(err)
		}
		for i, ch := range streams[id] {
			select {
			case got := <-ch:
				if got.ID != m.ReminderID {
					t.Fatalf("%s stream %d got %s, want %s", id, i, got.ID, m.ReminderID)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s stream %d got nothing within 10s", id, i)
			}
		}
	}
	for _, id := range []string{"b-2", "b-1098"} {
		select {
		case got := <-streams[id][0]:
			t.Fatalf("%s's stream got another borrower's message %s", id, got.ID)
		default:
		}
	}
	cancel()
	for id, chs := range streams {
		for i, ch := range chs {
			drain(t, ch, fmt.Sprintf("%s stream %d", id, i))
		}
	}
	testkit.Eventually(t, 10*time.Second, "the watcher to go", func() bool { return b.consumers(t) == before })

	// A new stream after the last one ended gets a watcher again.
	nctx, ncancel := context.WithCancel(ctx(t))
	defer ncancel()
	again, err := b.ib.Stream(nctx, "b-1")
	if err != nil {
		t.Fatal(err)
	}
	m := message("b-1")
	if _, err := b.ib.Send(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-again:
		if got.ID != m.ReminderID {
			t.Fatalf("new stream got %s, want %s", got.ID, m.ReminderID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("new stream got nothing within 10s")
	}
}

// TestSlowStreamIsDisconnected: a stream whose reader stops reading is
// closed once its buffer is full, rather than holding up the shared
// watcher; the borrower's other streams get every message.
func TestSlowStreamIsDisconnected(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	slow, err := b.ib.Stream(sctx, "b-1")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := b.ib.Stream(sctx, "b-1")
	if err != nil {
		t.Fatal(err)
	}
	const sent = inapp.StreamBuffer * 3
	got := make(chan int)
	go func() {
		n := 0
		for range fast {
			n++
			if n == sent {
				break
			}
		}
		got <- n
	}()
	for range sent {
		if _, err := b.ib.Send(ctx(t), message("b-1")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case n := <-got:
		if n != sent {
			t.Fatalf("the reading stream got %d messages, want %d", n, sent)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reading stream did not get every message within 30s")
	}
	// The slow one holds what fitted in its buffer, then is closed.
	if n := drain(t, slow, "the stream that did not read"); n > inapp.StreamBuffer {
		t.Fatalf("the stream that did not read got %d messages, more than its buffer of %d", n, inapp.StreamBuffer)
	}
}

// drain reads ch until it closes and returns how many messages it held.
func drain(t *testing.T, ch <-chan inapp.Message, what string) int {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for n := 0; ; n++ {
		select {
		case _, ok := <-ch:
			if !ok {
				return n
			}
		case <-deadline:
			t.Fatalf("%s not closed within 10s", what)
		}
	}
}
