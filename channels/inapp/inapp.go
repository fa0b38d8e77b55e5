package inapp

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// Message is one in-app message as the API shows it (spec §4).
type Message struct {
	// ID is the reminder id that produced the message: stable, so a resend
	// finds the same message.
	ID    string    `json:"id"`
	Title string    `json:"title"`
	Body  string    `json:"body"`
	At    time.Time `json:"at"`
	Read  bool      `json:"read"`
}

// ErrNotFound is returned by MarkRead for a message that does not exist.
var ErrNotFound = errors.New("inapp: message not found")

// DefaultHeartbeat is how often ServeStream writes a comment line so that
// proxies and load balancers keep an idle stream open.
const DefaultHeartbeat = 15 * time.Second

// Option changes an Inbox.
type Option func(*Inbox)

// WithClock sets the clock that stamps new messages (default wall clock).
func WithClock(c clock.Clock) Option { return func(ib *Inbox) { ib.clock = c } }

// WithHeartbeat sets ServeStream's heartbeat interval (default
// DefaultHeartbeat).
func WithHeartbeat(d time.Duration) Option { return func(ib *Inbox) { ib.heartbeat = d } }

// Inbox is the in-app provider and the inbox reader. It is safe for
// concurrent use.
type Inbox struct {
	inbox     store.Bucket[Message]
	read      *store.Reader
	feed      *feed
	clock     clock.Clock
	heartbeat time.Duration
}

var (
	_ channels.Provider = (*Inbox)(nil)
	_ channels.Looker   = (*Inbox)(nil)
)

// New opens the inbox bucket, which store.Setup must have created.
func New(js jetstream.JetStream, opts ...Option) (*Inbox, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, store.InboxBucket)
	if err != nil {
		return nil, fmt.Errorf("inapp: open bucket %s: %w", store.InboxBucket, err)
	}
	inbox := store.NewBucket[Message](js, kv)
	ib := &Inbox{inbox: inbox, read: store.NewReader(js), feed: newFeed(inbox), clock: clock.Real{}, heartbeat: DefaultHeartbeat}
	for _, o := range opts {
		o(ib)
	}
	return ib, nil
}

// recipient is the borrower a message is for: msg.To, or BorrowerID when a
// caller left To empty.
func recipient(msg channels.Message) string {
	if msg.To != "" {
		return msg.To
	}
	return msg.BorrowerID
}

// Send puts msg in the borrower's inbox. Sending the same reminder again
// leaves the first message as it is and reports it as delivered.
func (ib *Inbox) Send(ctx context.Context, msg channels.Message) (channels.Result, error) {
	borrower := recipient(msg)
	if borrower == "" || msg.ReminderID == "" {
		return channels.Result{}, &channels.Error{Kind: channels.Permanent, Code: "invalid_message",
			Err: errors.New("inapp: message needs a borrower (To) and a reminder id")}
	}
	m := Message{ID: msg.ReminderID, Title: msg.Subject, Body: msg.Text, At: ib.clock.Now().UTC()}
	if err := channels.BeginCall(ctx); err != nil {
		return channels.Result{}, err
	}
	res := channels.Result{ProviderRef: m.ID, Status: domain.Delivered}
	// Written only where the key is missing: a resend finds the first.
	if _, err := ib.inbox.PutAt(ctx, store.InboxKey(borrower, m.ID), m, 0); err != nil {
		if store.IsWrongSequence(err) {
			return res, nil
		}
		return channels.Result{}, &channels.Error{Kind: channels.Retry, Err: fmt.Errorf("inapp: write: %w", err)}
	}
	return res, nil
}

// Lookup reports whether the reminder is already in the borrower's inbox.
func (ib *Inbox) Lookup(ctx context.Context, msg channels.Message) (channels.Result, bool, error) {
	// Only whether the key is there counts: nothing to decode.
	_, err := ib.inbox.KV().Get(ctx, store.InboxKey(recipient(msg), msg.ReminderID))
	if store.IsNotFound(err) {
		return channels.Result{}, false, nil
	}
	if err != nil {
		return channels.Result{}, false, fmt.Errorf("inapp: lookup: %w", err)
	}
	return channels.Result{ProviderRef: msg.ReminderID, Status: domain.Delivered}, true, nil
}

// MaxListed is the most messages List returns: the borrower's newest by
// last change.
const MaxListed = 1000

// List returns the borrower's messages (at most MaxListed), newest first.
//
// It reads the bucket's stream directly (store.Reader), not through a KV
// watcher: a watcher is a consumer, and reads must not compete with live
// streams for the stream's consumers. Any replica may answer: a message
// written or marked read a moment ago shows on the next read, and nothing
// is decided on this one.
func (ib *Inbox) List(ctx context.Context, borrowerID string) ([]Message, error) {
	msgs, err := ib.read.Last(ctx, store.KVStream(store.InboxBucket),
		store.KVSubject(store.InboxBucket, store.InboxBorrowerKeys(borrowerID)), MaxListed)
	if err != nil {
		return nil, fmt.Errorf("inapp: list: %w", err)
	}
	// Oldest first: a later revision of a key replaces an earlier one.
	latest := map[string]*jetstream.RawStreamMsg{}
	for _, m := range msgs {
		latest[m.Subject] = m
	}
	out := []Message{}
	for subject, m := range latest {
		if store.IsRemoved(m) {
			continue
		}
		msg, err := ib.inbox.Decode(strings.TrimPrefix(subject, store.KVSubject(store.InboxBucket, "")), m.Data)
		if err != nil {
			return nil, fmt.Errorf("inapp: list: %w", err)
		}
		out = append(out, msg)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.After(out[j].At)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// MarkRead marks one message read. It is a compare-and-set, so a message
// written again concurrently is never overwritten with stale content.
func (ib *Inbox) MarkRead(ctx context.Context, borrowerID, messageID string) error {
	_, err := ib.inbox.Update(ctx, store.InboxKey(borrowerID, messageID), func(m *Message) (bool, error) {
		if m.ID == "" { // missing or deleted: every stored message has its id
			return false, ErrNotFound
		}
		if m.Read {
			return false, nil
		}
		m.Read = true
		return true, nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("inapp: mark read: %w", err)
	}
	return err
}

// Stream follows the borrower's inbox: every message created after Stream
// returns is sent on the channel. Updates of existing messages (marking
// them read) are not sent again. The channel closes when ctx ends, or
// earlier when the caller falls StreamBuffer messages behind or the shared
// watcher stops; the caller then reads the inbox again.
//
// Every stream of the Inbox shares one KV watcher (see feed).
func (ib *Inbox) Stream(ctx context.Context, borrowerID string) (<-chan Message, error) {
	fl, err := ib.feed.follow(ctx, borrowerID)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { ib.feed.leave(fl) })
	return fl.ch, nil
}
