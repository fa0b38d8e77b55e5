package httpapi

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/forbear/forbear/internal/ground/config"
)

// streamSlots caps the inbox streams this instance serves at once, per
// token and per borrower: one token (or one borrower) cannot take every
// stream the instance can hold.
type streamSlots struct {
	caps config.StreamCaps

	mu         sync.Mutex
	byToken    map[string]int
	byBorrower map[string]int
}

func newStreamSlots(caps config.StreamCaps) *streamSlots {
	def := config.Default().HTTP.InboxStreams
	if caps.PerToken <= 0 {
		caps.PerToken = def.PerToken
	}
	if caps.PerBorrower <= 0 {
		caps.PerBorrower = def.PerBorrower
	}
	return &streamSlots{caps: caps, byToken: map[string]int{}, byBorrower: map[string]int{}}
}

// take reserves a place for a stream of borrower opened with token, and
// returns the function that gives it back; a cap reached is a 429.
func (s *streamSlots) take(token, borrower string) (release func(), refused *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tooMany := func(format string, n int) (func(), *apiError) {
		return nil, &apiError{Status: http.StatusTooManyRequests, Code: "too_many_streams",
			Message: fmt.Sprintf(format, n) + "; close one and retry"}
	}
	if s.byToken[token] >= s.caps.PerToken {
		return tooMany("this token already has %d inbox streams open", s.caps.PerToken)
	}
	if s.byBorrower[borrower] >= s.caps.PerBorrower {
		return tooMany("this borrower already has %d inbox streams open", s.caps.PerBorrower)
	}
	s.byToken[token]++
	s.byBorrower[borrower]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			decrement(s.byToken, token)
			decrement(s.byBorrower, borrower)
		})
	}, nil
}

// decrement lowers m[k], forgetting keys that reach zero so the maps hold
// only open streams.
func decrement(m map[string]int, k string) {
	if m[k] <= 1 {
		delete(m, k)
		return
	}
	m[k]--
}
