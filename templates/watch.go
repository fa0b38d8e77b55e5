package templates

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/domain"
)

// fetchTimeout bounds the rare read of a version the watch has not
// delivered (it was written before a purge of history, say).
const fetchTimeout = 5 * time.Second

// watch applies every change of the templates bucket to the cache, in
// stream order: a version key is always written before the live pointer
// that names it, so the watch normally delivers the definition before the
// pointer needs it. It closes ready once the initial values are loaded.
func (s *Store) watch(ready chan struct{}) {
	defer close(s.done)
	defer func() {
		s.mu.Lock()
		s.stopped = true
		s.signalLocked()
		s.mu.Unlock()
	}()
	live := map[string]*compiled{}
	liveVer := map[string]int{}
	loading := true
	var loaded uint64
	for e := range s.watcher.Updates() {
		if e == nil {
			if loading {
				loading = false
				s.publish(live, loaded)
				close(ready)
			}
			continue
		}
		changed := s.apply(e, live, liveVer)
		if loading {
			loaded = max(loaded, e.Revision())
			continue
		}
		if changed {
			s.publish(live, e.Revision())
		} else {
			s.mark(e.Revision())
		}
	}
	select {
	case <-ready:
		s.log.Info("template watch ended; rendering keeps the last versions seen")
	default:
	}
}

// publish swaps in a copy of live (readers hold the old map safely) and
// signals waiters.
func (s *Store) publish(live map[string]*compiled, rev uint64) {
	next := liveSet(maps.Clone(live))
	s.live.Store(&next)
	s.mark(rev)
}

func (s *Store) mark(rev uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev > s.applied {
		s.applied = rev
	}
	s.signalLocked()
}

func (s *Store) signalLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// apply records one bucket entry and reports whether a live template
// changed.
func (s *Store) apply(e jetstream.KeyValueEntry, live map[string]*compiled, liveVer map[string]int) bool {
	log := s.log.WithField("key", e.Key())
	id, suffix, err := splitKey(e.Key())
	if err != nil {
		log.WithError(err).Warn("ignoring unexpected key in templates bucket")
		return false
	}
	removed := e.Operation() != jetstream.KeyValuePut
	if suffix == liveSuffix {
		if removed {
			delete(liveVer, id)
			_, had := live[id]
			delete(live, id)
			return had
		}
		p, err := s.pointers.Decode(e.Key(), e.Value())
		if err != nil {
			log.WithError(err).Error("ignoring undecodable live pointer")
			return false
		}
		liveVer[id] = p.Version
		return s.makeLive(log, id, p.Version, live)
	}
	_, n, ok := parseVersionKey(e.Key())
	if !ok {
		log.Warn("ignoring unexpected key in templates bucket")
		return false
	}
	if removed {
		delete(s.versions[id], n)
		return false
	}
	rec, err := s.records.Decode(e.Key(), e.Value())
	if err != nil {
		log.WithError(err).Error("ignoring undecodable template version")
		return false
	}
	s.remember(id, n, rec.Definition)
	// Only when a pointer arrived first (its version was fetched and
	// failed) does a version record change what is live.
	if liveVer[id] == n && (live[id] == nil || live[id].version != n) {
		return s.makeLive(log, id, n, live)
	}
	return false
}

func (s *Store) remember(id string, n int, def Definition) *versionEntry {
	if s.versions[id] == nil {
		s.versions[id] = map[int]*versionEntry{}
	}
	ve := &versionEntry{def: def}
	s.versions[id][n] = ve
	return ve
}

// makeLive compiles version n of id (once) and makes it live. A version
// that cannot be loaded leaves the previous one live: sending yesterday's
// wording beats sending nothing.
func (s *Store) makeLive(log *logrus.Entry, id string, n int, live map[string]*compiled) bool {
	log = log.WithFields(logrus.Fields{"template": id, "version": n})
	ve := s.versions[id][n]
	if ve == nil {
		ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		rec, err := s.Version(ctx, id, n)
		cancel()
		if err != nil {
			log.WithError(err).Error("live template version unavailable; keeping the previous one")
			return false
		}
		ve = s.remember(id, n, rec.Definition)
	}
	if ve.compiled == nil {
		c, err := compileStored(ve.def)
		if err != nil {
			log.WithError(err).Error("live template version does not parse; keeping the previous one")
			return false
		}
		c.id, c.version = id, n
		ve.compiled = c
	}
	live[id] = ve.compiled
	log.Debug("template version live")
	return true
}

// compileStored parses a saved definition. It was validated when saved, so
// only parsing is repeated: a later change of validation rules must not
// take a live template away.
func compileStored(def Definition) (*compiled, error) {
	c := &compiled{channels: make(map[domain.Channel]*compiledChannel, len(def.Channels))}
	for ch, texts := range def.Channels {
		cc := &compiledChannel{texts: make(map[string]*compiledText, len(texts))}
		for loc, t := range texts {
			ct, err := compileText(string(ch), loc, t)
			if err != nil {
				return nil, fmt.Errorf("%s/%s: %w", ch, loc, err)
			}
			cc.texts[loc] = ct
		}
		cc.finish()
		c.channels[ch] = cc
	}
	if len(def.Voicemail) > 0 {
		vm := &compiledChannel{texts: make(map[string]*compiledText, len(def.Voicemail))}
		for loc, body := range def.Voicemail {
			ct, err := compileText(voicemailKind, loc, Text{Body: body})
			if err != nil {
				return nil, fmt.Errorf("voicemail/%s: %w", loc, err)
			}
			vm.texts[loc] = ct
		}
		vm.finish()
		c.voicemail = vm
	}
	return c, nil
}
