package faketwilio

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
)

// Kind is what a request was about.
type Kind string

// Request kinds.
const (
	SMS  Kind = "sms"
	Call Kind = "call"
)

// Record is one request the fake received.
type Record struct {
	Kind   Kind
	Method string // POST creates, GET lists
	At     time.Time
	To     string
	From   string
	// Body is the SMS text (Kind SMS).
	Body string
	// Twiml is the call's TwiML (Kind Call).
	Twiml string
	// URL is where a call without inline TwiML gets it once answered, and
	// MachineDetection its answering-machine detection ("Enable",
	// "DetectMessageEnd" or empty).
	URL              string
	MachineDetection string
	StatusCallback   string
	// SID is the created resource's id; empty when the request failed or
	// was a list.
	SID string
	// Status and Code are the HTTP status and Twilio error code the fake
	// answered with (Code 0 on success).
	Status int
	Code   int
	// Answer is what happened when the fake answered the call (see
	// AnswerAs); nil until then.
	Answer *Answer
}

// Answer is the fake's answering of a call placed with a URL: it requested
// the URL as Twilio does once the called party picks up, and kept what it
// got back.
type Answer struct {
	// AnsweredBy is what answering-machine detection reported ("" when the
	// call asked for none).
	AnsweredBy string
	// Status is the HTTP status of the URL's answer, TwiML its body (0 and
	// "" when the request failed: Err says why).
	Status int
	TwiML  string
	Err    string
}

// Failure is a programmed failure for requests to one number.
type Failure struct {
	// Status is the HTTP status, Code the Twilio error code in the JSON body.
	Status int
	Code   int
	// RetryAfter, when positive, is sent as a Retry-After header (seconds).
	RetryAfter time.Duration
	// RawBody, when set, replaces the JSON error body, as a proxy's HTML
	// error page would.
	RawBody string
	// N is how many requests fail this way (at least 1).
	N int
}

// Server is a fake Twilio REST API. Its zero value is not usable; use New.
type Server struct {
	// AccountSID and AuthToken are the credentials the fake accepts.
	AccountSID string
	AuthToken  string

	srv *httptest.Server

	mu        sync.Mutex
	requests  []Record
	created   []resource // accepted messages and calls, oldest first
	failures  map[string][]Failure
	onRequest func(Record)
	gate      *Gate
	// answerAs: number -> what answers calls to it (AnswerAs).
	answerAs map[string]string

	// answering tracks the goroutines that answer calls; stop ends them
	// when the test ends.
	answering sync.WaitGroup
	stop      chan struct{}
}

// resource is an accepted message or call.
type resource struct {
	rec     Record
	created time.Time
	// status is Twilio's status of the message or call ("queued" until a
	// test moves a call on with SetCallStatus).
	status string
	// started is when a call was dialled; zero while it is queued, as
	// Twilio leaves start_time empty until then.
	started time.Time
}

// New starts a fake on a loopback port; it is closed when the test ends
// (releasing any held requests first).
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		AccountSID: "AC" + randomHex(16),
		AuthToken:  randomHex(16),
		failures:   make(map[string][]Failure),
		answerAs:   make(map[string]string),
		stop:       make(chan struct{}),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.mu.Lock()
		g := s.gate
		s.mu.Unlock()
		if g != nil {
			g.Release()
		}
		close(s.stop)
		s.answering.Wait()
		s.srv.Close()
	})
	return s
}

// URL is the fake's base URL, the value for twilio.api_base_url.
func (s *Server) URL() string { return s.srv.URL }

// Twilio returns provider credentials pointing at the fake.
func (s *Server) Twilio() config.Twilio {
	return config.Twilio{AccountSID: s.AccountSID, AuthToken: s.AuthToken, APIBaseURL: s.srv.URL}
}

// FailNext makes the next n create requests (messages or calls) to the
// number to fail with the HTTP status and Twilio error code, e.g. 429/20429,
// 500/0, 400/21211, 400/21610.
func (s *Server) FailNext(to string, status, code, n int) {
	s.Fail(to, Failure{Status: status, Code: code, N: n})
}

// Fail queues a failure for create requests to the number; failures queued
// for the same number apply in order.
func (s *Server) Fail(to string, f Failure) {
	if f.N < 1 {
		f.N = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[to] = append(s.failures[to], f)
}

// SetOnRequest installs a hook called with every request's record after it
// is recorded and before it is answered, on the handler goroutine (it
// delays the answer while it runs). nil removes the hook.
func (s *Server) SetOnRequest(fn func(Record)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRequest = fn
}

// Requests returns every request received so far, lists included.
func (s *Server) Requests() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Messages returns every message create request, failed ones included
// (their SID is empty).
func (s *Server) Messages() []Record { return s.creates(SMS) }

// Calls returns every call create request, failed ones included.
func (s *Server) Calls() []Record { return s.creates(Call) }

// Count is how many create requests (messages and calls) reached the fake,
// whatever the answer: the number of provider calls made.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

func (s *Server) creates(k Kind) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.requests {
		if r.Kind == k && r.Method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

// SetCallStatus moves an accepted call to a Twilio call status
// ("ringing", "in-progress", "completed", "busy", "no-answer", "failed",
// "canceled"). Any status but "queued" and "canceled" also dials the call:
// its start_time is set (to now) if it had none. It reports whether the call
// exists.
func (s *Server) SetCallStatus(sid, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.created {
		res := &s.created[i]
		if res.rec.Kind != Call || res.rec.SID != sid {
			continue
		}
		res.status = status
		if status != "queued" && status != "canceled" && res.started.IsZero() {
			res.started = time.Now().UTC()
		}
		return true
	}
	return false
}

// Gate holds create requests in flight: each is recorded and, when it
// succeeds, accepted, but not answered until Release. This is how a test
// makes "the provider accepted the message but the worker never heard
// back".
type Gate struct {
	arrived chan Record
	release chan struct{}
	once    sync.Once
	s       *Server
}

// Hold makes create requests wait until the returned gate is released. If
// a gate is already active, it is returned.
func (s *Server) Hold() *Gate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = &Gate{arrived: make(chan Record, 1024), release: make(chan struct{}), s: s}
	}
	return s.gate
}

// Arrived delivers the record of each request as it starts waiting at the
// gate.
func (g *Gate) Arrived() <-chan Record { return g.arrived }

// Release answers every held request and stops holding new ones. It may be
// called more than once.
func (g *Gate) Release() {
	g.once.Do(func() {
		g.s.mu.Lock()
		if g.s.gate == g {
			g.s.gate = nil
		}
		g.s.mu.Unlock()
		close(g.release)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
