package inapp

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
)

// StreamBuffer is how many messages a stream may fall behind before it is
// disconnected: one slow client never holds up the others.
const StreamBuffer = 32

// feed shares one KV watcher among every stream of an Inbox, whatever the
// borrower. A watcher is a consumer on the bucket's stream, and a stream
// has at most 1,000 of them (the server's default): one per stream, or per
// borrower, would refuse the 1,001st borrower online. The watcher runs
// while at least one stream is open.
type feed struct {
	inbox store.Bucket[Message]

	mu sync.Mutex
	// followers by store.Token(borrower)
	followers map[string]map[*follower]struct{}
	count     int
	watch     *watch // nil while no stream is open
}

// watch is one run of the shared watcher.
type watch struct {
	ready  chan struct{} // closed once the watcher is in place, or failed
	err    error         // why it failed; read after ready
	cancel context.CancelFunc
}

// follower is one stream's place in the feed.
type follower struct {
	borrower string // store.Token(borrower)
	ch       chan Message
	closed   bool
}

func newFeed(inbox store.Bucket[Message]) *feed {
	return &feed{inbox: inbox, followers: map[string]map[*follower]struct{}{}}
}

// follow adds a stream of the borrower and returns once the watcher is in
// place, so every message written after follow returns reaches it.
func (f *feed) follow(ctx context.Context, borrowerID string) (*follower, error) {
	fl := &follower{borrower: store.Token(borrowerID), ch: make(chan Message, StreamBuffer)}
	f.mu.Lock()
	if f.followers[fl.borrower] == nil {
		f.followers[fl.borrower] = map[*follower]struct{}{}
	}
	f.followers[fl.borrower][fl] = struct{}{}
	f.count++
	w := f.watch
	if w == nil {
		// The watcher outlives the request that starts it: it is the
		// feed's, stopped when the last stream leaves.
		wctx, cancel := context.WithCancel(context.Background())
		w = &watch{ready: make(chan struct{}), cancel: cancel}
		f.watch = w
		go f.run(wctx, w)
	}
	f.mu.Unlock()
	select {
	case <-w.ready:
	case <-ctx.Done():
		f.leave(fl)
		return nil, fmt.Errorf("inapp: watch: %w", ctx.Err())
	}
	if w.err != nil {
		f.leave(fl)
		return nil, w.err
	}
	return fl, nil
}

// leave removes a stream; the last one out stops the watcher.
func (f *feed) leave(fl *follower) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.remove(fl)
}

// remove takes fl out of the feed and closes its channel; f.mu is held.
func (f *feed) remove(fl *follower) {
	if !fl.closed {
		close(fl.ch)
		fl.closed = true
	}
	set := f.followers[fl.borrower]
	if _, ok := set[fl]; !ok {
		return
	}
	delete(set, fl)
	if len(set) == 0 {
		delete(f.followers, fl.borrower)
	}
	f.count--
	if f.count == 0 && f.watch != nil {
		f.watch.cancel()
		f.watch = nil
	}
}

// run owns one watcher: it fans new messages out to their borrower's
// streams until ctx ends (no stream left) or the watcher fails.
func (f *feed) run(ctx context.Context, w *watch) {
	kw, err := f.inbox.KV().Watch(ctx, "*.*", jetstream.UpdatesOnly(), jetstream.IgnoreDeletes())
	if err != nil {
		w.err = fmt.Errorf("inapp: watch: %w", err)
		close(w.ready)
		f.end(w)
		return
	}
	close(w.ready)
	defer func() { _ = kw.Stop() }()
	for {
		select {
		case e, ok := <-kw.Updates():
			if !ok {
				f.end(w)
				return
			}
			// Only new messages are news: a read mark rewrites a message.
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			m, err := f.inbox.Decode(e.Key(), e.Value())
			if err != nil || m.Read {
				continue
			}
			borrower, _, _ := strings.Cut(e.Key(), ".")
			f.deliver(borrower, m)
		case <-ctx.Done():
			return
		}
	}
}

// deliver hands m to every stream of the borrower without waiting: a stream
// whose buffer is full is disconnected (its client reconnects and reads the
// inbox) rather than slowing the watcher that every stream shares.
func (f *feed) deliver(borrower string, m Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for fl := range f.followers[borrower] {
		select {
		case fl.ch <- m:
		default:
			f.remove(fl)
		}
	}
}

// end closes every stream of a watcher that stopped on its own (the
// connection closed, say): their clients reconnect and get a new one.
func (f *feed) end(w *watch) {
	w.cancel()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.watch != w {
		return
	}
	for _, set := range f.followers {
		for fl := range set {
			f.remove(fl)
		}
	}
}
