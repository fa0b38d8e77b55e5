package templates

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
)

// Key layout in store.TemplatesBucket. Versions are immutable keys, so the
// bucket's history limit never loses a version; the live pointer is the
// only key that changes, and its history is the publish/rollback log.
const (
	liveSuffix    = "live"
	versionPrefix = "v"
)

func versionKey(id string, n int) string {
	return store.Token(id) + "." + versionPrefix + strconv.Itoa(n)
}

func liveKey(id string) string { return store.Token(id) + "." + liveSuffix }

// livePointer is the value of a live key. Author and At record who made the
// version live (a publish or a rollback).
type livePointer struct {
	Version int       `json:"version"`
	Author  string    `json:"author,omitempty"`
	At      time.Time `json:"at"`
}

// lastVersion is the highest version number saved for id, or 0.
func (s *Store) lastVersion(ctx context.Context, id string) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lister, err := s.records.KV().ListKeysFiltered(ctx, store.Token(id)+".*")
	if err != nil {
		return 0, fmt.Errorf("templates: list versions of %s: %w", id, err)
	}
	last := 0
	for key := range lister.Keys() {
		if _, n, ok := parseVersionKey(key); ok && n > last {
			last = n
		}
	}
	return last, ctx.Err()
}

// createVersion writes rec as version n, or the next free number after n
// when another publisher took it. With firstOnly it writes version 1 or
// nothing (seeding from several instances at once).
func (s *Store) createVersion(ctx context.Context, rec Record, n int, firstOnly bool) (int, error) {
	for attempt := 0; attempt < 100; attempt++ {
		rec.Version = n
		// Revision 0: the version key is created, never overwritten.
		_, err := s.records.PutAt(ctx, versionKey(rec.ID, n), rec, 0)
		if err == nil {
			return n, nil
		}
		if !store.IsWrongSequence(err) {
			return 0, fmt.Errorf("templates: save %s v%d: %w", rec.ID, n, err)
		}
		if firstOnly {
			return 0, nil
		}
		n++
	}
	return 0, fmt.Errorf("templates: save %s: too many concurrent publishers", rec.ID)
}

// setLive points the live key of id at version. With forwardOnly it leaves a
// newer live version in place. It returns the stream sequence of the
// pointer as it now stands.
func (s *Store) setLive(ctx context.Context, id string, version int, author string, forwardOnly bool) (uint64, error) {
	key := liveKey(id)
	next := livePointer{Version: version, Author: author, At: s.clock.Now().UTC()}
	rev, err := s.pointers.Update(ctx, key, func(cur *livePointer) (bool, error) {
		// A missing pointer reads as version 0, older than any version.
		if forwardOnly && cur.Version > version {
			return false, nil
		}
		*cur = next
		return true, nil
	})
	if err != nil {
		return 0, fmt.Errorf("templates: move live pointer of %s: %w", id, err)
	}
	if rev != 0 {
		return rev, nil
	}
	// A newer version is live: its pointer is what the cache must reach.
	if _, rev, err = s.pointers.Get(ctx, key); err != nil {
		return 0, fmt.Errorf("templates: read live pointer of %s: %w", id, err)
	}
	return rev, nil
}

// scan reads every entry matching filter in one pass and groups them by
// template.
func (s *Store) scan(ctx context.Context, filter string) ([]Info, error) {
	// The client ties the watch's lifetime to its context: end it with the
	// scan, not with the caller's context.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.records.KV().Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("templates: scan %s: %w", filter, err)
	}
	defer func() { _ = w.Stop() }()
	byID := map[string]*Info{}
	categories := map[string]map[int]string{} // id -> version -> its category
	info := func(id string) *Info {
		if byID[id] == nil {
			byID[id] = &Info{ID: id, Versions: []VersionMeta{}, UsedBy: append([]Use{}, s.rules.uses[id]...)}
			categories[id] = map[int]string{}
		}
		return byID[id]
	}
	for {
		var e jetstream.KeyValueEntry
		var ok bool
		select {
		case e, ok = <-w.Updates():
		case <-ctx.Done():
			return nil, fmt.Errorf("templates: scan %s: %w", filter, ctx.Err())
		}
		if !ok {
			return nil, fmt.Errorf("templates: scan %s: %w", filter, ErrClosed)
		}
		if e == nil {
			break
		}
		id, suffix, err := splitKey(e.Key())
		if err != nil {
			continue
		}
		if suffix == liveSuffix {
			if p, err := s.pointers.Decode(e.Key(), e.Value()); err == nil {
				i := info(id)
				i.Live, i.MadeLiveBy, i.MadeLiveAt = p.Version, p.Author, p.At
			}
			continue
		}
		if rec, err := s.records.Decode(e.Key(), e.Value()); err == nil {
			i := info(id)
			i.Versions = append(i.Versions, rec.VersionMeta)
			categories[id][rec.Version] = rec.Definition.Category
		}
	}
	out := make([]Info, 0, len(byID))
	for _, id := range sortedKeys(byID) {
		i := byID[id]
		sortVersions(i.Versions)
		i.Category = categories[id][i.Live]
		for _, v := range i.Versions {
			if v.Version == i.Live {
				i.LiveAuthor, i.LiveAt = v.Author, v.At
			}
		}
		out = append(out, *i)
	}
	return out, nil
}

func sortVersions(v []VersionMeta) {
	slices.SortFunc(v, func(a, b VersionMeta) int { return cmp.Compare(a.Version, b.Version) })
}

// splitKey splits a bucket key into the template id and "live" or "v<n>".
func splitKey(key string) (id, suffix string, err error) {
	tok, suffix, ok := strings.Cut(key, ".")
	if !ok {
		return "", "", fmt.Errorf("templates: unexpected key %q", key)
	}
	id, err = store.FromToken(tok)
	return id, suffix, err
}

func parseVersionKey(key string) (id string, n int, ok bool) {
	id, suffix, err := splitKey(key)
	if err != nil || !strings.HasPrefix(suffix, versionPrefix) {
		return "", 0, false
	}
	n, err = strconv.Atoi(suffix[len(versionPrefix):])
	return id, n, err == nil && n > 0
}
