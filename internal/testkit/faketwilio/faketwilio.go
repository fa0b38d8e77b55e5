package faketwilio

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/config"
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

var pathRE = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/(Messages|Calls)\.json$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	m := pathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	rec := Record{Kind: SMS, Method: r.Method, At: time.Now()}
	if m[2] == "Calls" {
		rec.Kind = Call
	}
	if err := r.ParseForm(); err != nil {
		s.finish(w, r, rec, nil, &apiError{status: http.StatusBadRequest, code: 0, message: "unreadable form: " + err.Error()})
		return
	}
	rec.To, rec.From = r.Form.Get("To"), r.Form.Get("From")
	if r.Method == http.MethodPost {
		rec.Body, rec.Twiml = r.PostForm.Get("Body"), r.PostForm.Get("Twiml")
		rec.URL, rec.MachineDetection = r.PostForm.Get("Url"), r.PostForm.Get("MachineDetection")
		rec.StatusCallback = r.PostForm.Get("StatusCallback")
	}

	user, pass, ok := r.BasicAuth()
	switch {
	case !ok || user != s.AccountSID || pass != s.AuthToken:
		s.finish(w, r, rec, nil, &apiError{status: http.StatusUnauthorized, code: 20003, message: "Authenticate"})
		return
	case m[1] != s.AccountSID:
		s.finish(w, r, rec, nil, &apiError{status: http.StatusNotFound, code: 20404, message: "The requested resource was not found"})
		return
	}

	switch r.Method {
	case http.MethodPost:
		s.create(w, r, rec)
	case http.MethodGet:
		s.list(w, r, rec)
	default:
		s.finish(w, r, rec, nil, &apiError{status: http.StatusMethodNotAllowed, code: 20004, message: "Method not allowed"})
	}
}

type apiError struct {
	status, code int
	message      string
	raw          string // replaces the JSON body when set
}

var e164 = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)

func (s *Server) create(w http.ResponseWriter, r *http.Request, rec Record) {
	if f, ok := s.takeFailure(rec.To); ok {
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
		}
		s.finish(w, r, rec, nil, &apiError{status: f.Status, code: f.Code, message: failureMessage(f.Code, rec.To), raw: f.RawBody})
		return
	}
	var bad *apiError
	switch {
	case rec.To == "":
		bad = &apiError{status: http.StatusBadRequest, code: 21604, message: "A 'To' phone number is required."}
	case rec.From == "":
		bad = &apiError{status: http.StatusBadRequest, code: 21603, message: "A 'From' phone number is required."}
	case !e164.MatchString(rec.To):
		bad = &apiError{status: http.StatusBadRequest, code: 21211, message: failureMessage(21211, rec.To)}
	case rec.Kind == SMS && rec.Body == "" && r.PostForm.Get("MediaUrl") == "":
		bad = &apiError{status: http.StatusBadRequest, code: 21602, message: "Message body is required."}
	case rec.Kind == Call && rec.Twiml == "" && r.PostForm.Get("Url") == "" && r.PostForm.Get("ApplicationSid") == "":
		bad = &apiError{status: http.StatusBadRequest, code: 21205, message: "Url parameter is required."}
	case rec.Kind == Call && rec.MachineDetection != "" && rec.MachineDetection != "Enable" && rec.MachineDetection != "DetectMessageEnd":
		bad = &apiError{status: http.StatusBadRequest, code: 21219, message: "MachineDetection must be Enable or DetectMessageEnd."}
	}
	if bad != nil {
		s.finish(w, r, rec, nil, bad)
		return
	}
	prefix := "SM"
	if rec.Kind == Call {
		prefix = "CA"
	}
	rec.SID = prefix + randomHex(16)
	rec.Status = http.StatusCreated
	res := resource{rec: rec, created: rec.At.UTC(), status: "queued"}
	s.mu.Lock()
	s.created = append(s.created, res)
	answeredBy, answers := s.answerAs[rec.To]
	s.mu.Unlock()
	s.finish(w, r, rec, s.render(res), nil)
	if answers && rec.Kind == Call && rec.URL != "" {
		s.answering.Add(1)
		go func() {
			defer s.answering.Done()
			s.answer(rec, answeredBy)
		}()
	}
}

// finish records the request, runs the hook, waits at the gate (creates
// only) and answers with body or apiErr.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, rec Record, body any, apiErr *apiError) {
	if apiErr != nil {
		rec.Status, rec.Code = apiErr.status, apiErr.code
	} else if rec.Status == 0 {
		rec.Status = http.StatusOK
	}
	hook, gate := s.record(rec)
	if hook != nil {
		hook(rec)
	}
	if gate != nil && rec.Method == http.MethodPost {
		select {
		case gate.arrived <- rec:
		case <-gate.release:
		case <-r.Context().Done():
		}
		select {
		case <-gate.release:
		case <-r.Context().Done():
			return // the client gave up; the resource (if any) stays created
		}
	}
	switch {
	case apiErr != nil && apiErr.raw != "":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(apiErr.status)
		fmt.Fprint(w, apiErr.raw)
		return
	case apiErr != nil:
		writeError(w, apiErr.status, apiErr.code, apiErr.message)
		return
	}
	writeJSON(w, rec.Status, body)
}

func (s *Server) record(rec Record) (func(Record), *Gate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	return s.onRequest, s.gate
}

func (s *Server) takeFailure(to string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.failures[to]
	if len(q) == 0 {
		return Failure{}, false
	}
	f := q[0]
	q[0].N--
	if q[0].N <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(s.failures, to)
	} else {
		s.failures[to] = q
	}
	return f, true
}

func failureMessage(code int, to string) string {
	switch code {
	case 21211:
		return fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)
	case 21610:
		return "Attempt to send to unsubscribed recipient"
	case 20429:
		return "Too Many Requests"
	case 0:
		return "Internal Server Error"
	default:
		return fmt.Sprintf("Error %d", code)
	}
}

// list answers a Messages or Calls list with Twilio's paging fields, newest
// first, filtered by To, From, Status and the date filters twilio-go sends
// (DateSent for messages, StartTime for calls, with optional < or >
// suffix). A call not yet dialled has no start time and so matches no
// StartTime filter, as at Twilio.
func (s *Server) list(w http.ResponseWriter, r *http.Request, rec Record) {
	q := r.URL.Query()
	dateKey, listKey := "DateSent", "messages"
	if rec.Kind == Call {
		dateKey, listKey = "StartTime", "calls"
	}
	var filters []func(time.Time) bool
	for _, op := range []string{"", "<", ">"} {
		raw := q.Get(dateKey + op)
		if raw == "" {
			continue
		}
		at, dayOnly, err := parseDate(raw)
		if err != nil {
			s.finish(w, r, rec, nil, &apiError{status: http.StatusBadRequest, code: 20001, message: "Invalid " + dateKey + op + ": " + raw})
			return
		}
		filters = append(filters, dateFilter(op, at, dayOnly))
	}
	status := q.Get("Status")
	pageSize := 50
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.finish(w, r, rec, nil, &apiError{status: http.StatusBadRequest, code: 20001, message: "Invalid PageSize"})
			return
		}
		pageSize = n
	}
	page := 0
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.finish(w, r, rec, nil, &apiError{status: http.StatusBadRequest, code: 20001, message: "Invalid Page"})
			return
		}
		page = n
	}

	s.mu.Lock()
	var match []resource
	for i := len(s.created) - 1; i >= 0; i-- {
		res := s.created[i]
		if res.rec.Kind != rec.Kind || (rec.To != "" && res.rec.To != rec.To) || (rec.From != "" && res.rec.From != rec.From) ||
			(status != "" && res.status != status) {
			continue
		}
		at := res.created
		if rec.Kind == Call {
			at = res.started
		}
		ok := true
		for _, f := range filters {
			ok = ok && !at.IsZero() && f(at)
		}
		if ok {
			match = append(match, res)
		}
	}
	s.mu.Unlock()

	start := min(page*pageSize, len(match))
	end := min(start+pageSize, len(match))
	items := make([]map[string]any, 0, end-start)
	for _, res := range match[start:end] {
		items = append(items, s.render(res))
	}
	base := r.URL.Path
	pageURI := func(p int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "Page" && k != "PageToken" {
				v[k] = vs
			}
		}
		v.Set("PageSize", strconv.Itoa(pageSize))
		v.Set("Page", strconv.Itoa(p))
		return base + "?" + v.Encode()
	}
	body := map[string]any{
		listKey:             items,
		"page":              page,
		"page_size":         pageSize,
		"start":             start,
		"end":               max(end-1, start),
		"uri":               pageURI(page),
		"first_page_uri":    pageURI(0),
		"next_page_uri":     nil,
		"previous_page_uri": nil,
	}
	if end < len(match) {
		body["next_page_uri"] = pageURI(page + 1)
	}
	if page > 0 {
		body["previous_page_uri"] = pageURI(page - 1)
	}
	s.finish(w, r, rec, body, nil)
}

// parseDate accepts what Twilio does (YYYY-MM-DD) and what twilio-go sends
// (RFC 3339).
func parseDate(raw string) (time.Time, bool, error) {
	if t, err := time.Parse(time.DateOnly, raw); err == nil {
		return t, true, nil
	}
	t, err := time.Parse(time.RFC3339, raw)
	return t, false, err
}

func dateFilter(op string, at time.Time, dayOnly bool) func(time.Time) bool {
	if dayOnly {
		day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
		switch op {
		case ">":
			return func(t time.Time) bool { return !day(t).Before(at) }
		case "<":
			return func(t time.Time) bool { return !day(t).After(at) }
		default:
			return func(t time.Time) bool { return day(t).Equal(at) }
		}
	}
	switch op {
	case ">":
		return func(t time.Time) bool { return !t.Before(at) }
	case "<":
		return func(t time.Time) bool { return !t.After(at) }
	default:
		return func(t time.Time) bool { return t.Equal(at) }
	}
}

// render is a message or call in Twilio's JSON shape (the fields twilio-go
// models; dates in RFC 2822 as Twilio writes them).
func (s *Server) render(res resource) map[string]any {
	date := res.created.Format(time.RFC1123Z)
	out := map[string]any{
		"sid":          res.rec.SID,
		"account_sid":  s.AccountSID,
		"to":           res.rec.To,
		"from":         res.rec.From,
		"status":       res.status,
		"direction":    "outbound-api",
		"api_version":  "2010-04-01",
		"date_created": date,
		"date_updated": date,
	}
	if res.rec.Kind == SMS {
		out["body"] = res.rec.Body
		out["date_sent"] = date
		out["num_segments"] = "1"
		out["num_media"] = "0"
		out["uri"] = "/2010-04-01/Accounts/" + s.AccountSID + "/Messages/" + res.rec.SID + ".json"
	} else {
		out["start_time"] = nil
		if !res.started.IsZero() {
			out["start_time"] = res.started.Format(time.RFC1123Z)
		}
		out["uri"] = "/2010-04-01/Accounts/" + s.AccountSID + "/Calls/" + res.rec.SID + ".json"
	}
	return out
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	more := ""
	if code != 0 {
		more = "https://www.twilio.com/docs/errors/" + strconv.Itoa(code)
	}
	writeJSON(w, status, map[string]any{"code": code, "message": message, "more_info": more, "status": status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
