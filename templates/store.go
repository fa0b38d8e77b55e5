package templates

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// ErrClosed is returned by waits on a Store whose watcher has stopped.
var ErrClosed = errors.New("templates: store closed")

// VersionMeta describes one saved version.
type VersionMeta struct {
	Version int       `json:"version"`
	Author  string    `json:"author,omitempty"`
	Note    string    `json:"note,omitempty"`
	At      time.Time `json:"at"`
}

// Record is one saved version as stored: who saved what, when.
type Record struct {
	ID string `json:"id"`
	VersionMeta
	Definition Definition `json:"definition"`
}

// Info is a template's live version and the list of its versions, oldest
// first, with what the ops view shows beside them.
type Info struct {
	ID       string        `json:"id"`
	Live     int           `json:"live"`
	Versions []VersionMeta `json:"versions"`
	// Category is the live version's own category ("" when it declares
	// none; the policies in UsedBy may give it theirs).
	Category string `json:"category,omitempty"`
	// UsedBy are the policies whose steps send the template (see WithUses).
	UsedBy []Use `json:"used_by"`
	// LiveAuthor and LiveAt say who saved the live version, and when.
	LiveAuthor string    `json:"live_author,omitempty"`
	LiveAt     time.Time `json:"live_at,omitzero"`
	// MadeLiveBy and MadeLiveAt say who last made a version live (a
	// publish or a rollback), and when.
	MadeLiveBy string    `json:"made_live_by,omitempty"`
	MadeLiveAt time.Time `json:"made_live_at,omitzero"`
}

// liveSet is an immutable map of template id to its live compiled version;
// a change swaps in a new map, so Render reads without locks.
type liveSet map[string]*compiled

// Store keeps versioned templates in JetStream KV and renders the live
// versions from an in-memory cache that a KV watch keeps current on every
// instance.
type Store struct {
	// records and pointers are the two kinds of value of the templates
	// bucket: saved versions and live pointers (see versionKey, liveKey).
	records  store.Bucket[Record]
	pointers store.Bucket[livePointer]
	log      *logrus.Entry
	rules    rules
	clock    clock.Clock

	live atomic.Pointer[liveSet]

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever the watcher applied something
	applied uint64        // stream sequence of the last entry the watcher applied
	stopped bool          // the watcher has ended

	watcher     jetstream.KeyWatcher
	cancelWatch context.CancelFunc
	done        chan struct{}
	closeOnce   sync.Once

	// Owned by the watch goroutine. Versions are small and immutable, so
	// every one seen is kept: a rollback then costs no network round trip.
	versions map[string]map[int]*versionEntry
}

type versionEntry struct {
	def      Definition
	compiled *compiled // parsed on first use, then shared
}

// Open binds the templates bucket (store.Setup must have run), loads the
// live version of every template and keeps watching for changes until
// Close. It returns once the cache holds everything published before the
// call, so Render works at once.
func Open(ctx context.Context, js jetstream.JetStream, log *logrus.Entry, opts ...Option) (*Store, error) {
	o := options{rules: defaultRules(), clock: clock.Real{}}
	for _, opt := range opts {
		opt(&o)
	}
	kv, err := store.OpenBucket(ctx, js, store.TemplatesBucket)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	s := &Store{
		records: store.NewBucket[Record](js, kv), pointers: store.NewBucket[livePointer](js, kv),
		log: log.WithField("component", "templates"), rules: o.rules, clock: o.clock,
		changed: make(chan struct{}), done: make(chan struct{}),
		versions: make(map[string]map[int]*versionEntry),
	}
	s.live.Store(&liveSet{})
	// The watch outlives ctx, which only bounds Open; cancelling its own
	// context is what ends it (and the client's goroutine that waits on it).
	watchCtx, cancel := context.WithCancel(context.Background())
	w, err := kv.WatchAll(watchCtx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("templates: watch %s: %w", store.TemplatesBucket, err)
	}
	s.watcher, s.cancelWatch = w, cancel
	ready := make(chan struct{})
	go s.watch(ready)
	select {
	case <-ready:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("templates: watch %s ended while loading: %w", store.TemplatesBucket, ErrClosed)
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("templates: load %s: %w", store.TemplatesBucket, ctx.Err())
	}
}

// Close stops the watch. Render keeps serving the last versions it saw.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		if err := s.watcher.Stop(); err != nil {
			s.log.WithError(err).Debug("stop template watch")
		}
		s.cancelWatch()
		<-s.done
	})
}

// Validate checks definition def of template id as Put would: every text
// parses and renders against Sample with missingkey=error, there is at
// least one channel, email texts have a subject and a body, SMS and email
// texts of a collection template (its own category, or a collection policy
// sends it: see WithUses) carry one of the store's opt-out phrases, and SMS
// texts rendered with LongSample fit the store's segment limit. Problems are
// *ValidationError values (several are joined).
func (s *Store) Validate(id string, def Definition) error {
	_, err := compileChecked(id, def, s.rules)
	return err
}

// Put validates def, saves it as the template's next version and makes that
// version live. Concurrent publishers never get the same number (the
// version key is created, never overwritten), and the live pointer only
// moves forward on Put, so a slower publisher cannot undo a newer one. Put
// returns once this instance's cache has the change, so a Render right
// after a Put on the same instance sees it.
func (s *Store) Put(ctx context.Context, id string, def Definition, author, note string) (int, error) {
	if err := ValidateID(id); err != nil {
		return 0, fmt.Errorf("templates: put: %w", err)
	}
	if _, err := compileChecked(id, def, s.rules); err != nil {
		return 0, fmt.Errorf("templates: put %s: %w", id, err)
	}
	last, err := s.lastVersion(ctx, id)
	if err != nil {
		return 0, err
	}
	rec := Record{ID: id, VersionMeta: VersionMeta{Author: author, Note: note, At: s.clock.Now().UTC()}, Definition: def}
	n, err := s.createVersion(ctx, rec, last+1, false)
	if err != nil {
		return 0, err
	}
	rev, err := s.setLive(ctx, id, n, author, true)
	if err != nil {
		return 0, err
	}
	s.settle(ctx, rev)
	return n, nil
}

// Rollback makes an existing version live again.
func (s *Store) Rollback(ctx context.Context, id string, version int, author string) error {
	if _, err := s.Version(ctx, id, version); err != nil {
		return fmt.Errorf("templates: rollback: %w", err)
	}
	rev, err := s.setLive(ctx, id, version, author, false)
	if err != nil {
		return err
	}
	s.settle(ctx, rev)
	return nil
}

// Version reads one saved version.
func (s *Store) Version(ctx context.Context, id string, version int) (Record, error) {
	rec, _, err := s.records.Get(ctx, versionKey(id, version))
	if store.IsNotFound(err) {
		return Record{}, &UnknownVersionError{ID: id, Version: version}
	}
	if err != nil {
		return Record{}, fmt.Errorf("templates: get %s v%d: %w", id, version, err)
	}
	return rec, nil
}

// Get returns a template's live version and its versions.
func (s *Store) Get(ctx context.Context, id string) (Info, error) {
	infos, err := s.scan(ctx, store.Token(id)+".*")
	if err != nil {
		return Info{}, err
	}
	if len(infos) == 0 {
		return Info{}, fmt.Errorf("templates: %s: %w", id, ErrNotFound)
	}
	return infos[0], nil
}

// List returns every template, sorted by id.
func (s *Store) List(ctx context.Context) ([]Info, error) {
	return s.scan(ctx, ">")
}

// Live returns the live version number of a template as this instance's
// cache sees it, or 0.
func (s *Store) Live(id string) int {
	if c := (*s.live.Load())[id]; c != nil {
		return c.version
	}
	return 0
}

// Render renders the live version of a template for one channel, picking
// the text of locale, then en-US, then the first locale. It reads only the
// in-memory cache: no network, no parsing. An unknown id or a channel the
// template has no text for is ErrNotFound.
func (s *Store) Render(id string, ch domain.Channel, locale string, data Context) (Rendered, error) {
	c := (*s.live.Load())[id]
	if c == nil {
		return Rendered{}, fmt.Errorf("templates: %s: %w", id, ErrNotFound)
	}
	return c.render(ch, locale, data)
}

// WaitVersion waits until this instance's cache has version live for id.
// It waits on the watcher's change signal, not on a timer.
func (s *Store) WaitVersion(ctx context.Context, id string, version int) error {
	return s.waitFor(ctx, func() bool { return s.Live(id) == version })
}

// waitApplied waits until the watcher has applied the stream sequence rev.
func (s *Store) waitApplied(ctx context.Context, rev uint64) error {
	return s.waitFor(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.applied >= rev
	})
}

func (s *Store) waitFor(ctx context.Context, cond func() bool) error {
	for {
		// Take the signal before checking, so a change in between is seen.
		s.mu.Lock()
		changed, stopped := s.changed, s.stopped
		s.mu.Unlock()
		if cond() {
			return nil
		}
		if stopped {
			return ErrClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("templates: wait: %w", ctx.Err())
		}
	}
}

// settleTimeout bounds how long a write waits for the local cache. Missing
// it is not an error: the write is durable and the cache follows.
const settleTimeout = 2 * time.Second

func (s *Store) settle(ctx context.Context, rev uint64) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if err := s.waitApplied(ctx, rev); err != nil {
		s.log.WithError(err).WithField("revision", rev).Warn("template cache did not catch up with a write")
	}
}
