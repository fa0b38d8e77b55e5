// Package tz loads IANA time zones once. time.LoadLocation reads and parses
// a zoneinfo file on every call, and forbear asks for a borrower's zone on
// every sweep, rule check and render.
package tz

import (
	"sync"
	"time"
)

// maxBad bounds how many unknown names are remembered, so bad data does
// not hit the disk on every call nor grow the cache without end.
const maxBad = 1024

var cache = struct {
	sync.RWMutex
	ok  map[string]*time.Location
	bad map[string]error
}{ok: map[string]*time.Location{}, bad: map[string]error{}}

// Load is time.LoadLocation with a cache of known and unknown names.
func Load(name string) (*time.Location, error) {
	cache.RLock()
	loc, ok := cache.ok[name]
	err := cache.bad[name]
	cache.RUnlock()
	if ok {
		return loc, nil
	}
	if err != nil {
		return nil, err
	}
	loc, err = time.LoadLocation(name)
	cache.Lock()
	defer cache.Unlock()
	if err != nil {
		if len(cache.bad) < maxBad {
			cache.bad[name] = err
		}
		return nil, err
	}
	cache.ok[name] = loc
	return loc, nil
}
