package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/dispatcher/suppress"
	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/internal/signing"
	"github.com/forbear/forbear/internal/stats"
	"github.com/forbear/forbear/internal/support"
	"github.com/forbear/forbear/templates"
)

// maxBody bounds request bodies (an event batch of a few thousand events).
const maxBody = 8 << 20

// Inbox is the in-app channel's read side.
type Inbox interface {
	ListJSON(ctx context.Context, borrowerID string) (any, error)
	// MarkRead returns intake.ErrNotFound for an unknown message.
	MarkRead(ctx context.Context, borrowerID, messageID string) error
	ServeStream(w http.ResponseWriter, r *http.Request, borrowerID string)
}

// Upcoming is a reminder the scheduler will send next, as the borrower
// page lists it.
type Upcoming = support.Upcoming

// Options are the server's dependencies. Optional ones may be nil.
type Options struct {
	// Auth checks callers; nil builds one from Tokens and Signer.
	Auth   *auth.Authenticator
	Tokens []config.Token
	// Console, if set, serves the web console under /console/ (and / sends
	// browsers there).
	Console http.Handler
	Intake  *intake.Intake
	State   *store.State
	Audit   *audit.Recorder
	Fence   *suppress.Fence
	Inbox   Inbox
	Outbox  func(ctx context.Context, channel, borrowerID string, limit int) (any, error)
	// Support assembles the borrower page and answers searches.
	Support *support.Service
	// Stats computes the dashboard (GET /v1/stats); nil leaves it out.
	Stats   *stats.Reader
	Ready   func(ctx context.Context) error
	Metrics http.Handler
	// Twilio serves the provider callback routes; nil Outcomes leaves them
	// out.
	Twilio TwilioCallbacks
	// DefaultZone is scheduler.timezone, for borrowers without a zone
	// (template previews count days past due in it).
	DefaultZone *time.Location
	// Templates serves the template routes; nil leaves them out.
	Templates *templates.Store
	// Simulator runs dry runs (POST /v1/simulate); nil leaves the route
	// out.
	Simulator Simulator
	// Signer makes and checks borrower tokens and unsubscribe links; nil
	// disables both.
	Signer *signing.Signer
	// WriteTimeout (http.write_timeout) bounds each write of an answer,
	// counted from that write rather than from the request: see
	// perWriteDeadlines. 0 sets no deadline.
	WriteTimeout time.Duration
	// InboxStreams caps live inbox streams per token and per borrower
	// (zero values: the defaults, 4 and 8).
	InboxStreams config.StreamCaps
	Log          *logrus.Entry
}

// Server is the HTTP API.
type Server struct {
	o       Options
	auth    *auth.Authenticator
	streams *streamSlots
	log     *logrus.Entry
	mux     *http.ServeMux
	// routes is the route table as registered (Routes).
	routes []Route
}

// New builds the API handler.
func New(o Options) *Server {
	if o.Log == nil {
		// fail and the panic handler log through it.
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.Log = logrus.NewEntry(l)
	}
	if o.Auth == nil {
		var borrower func(string) (string, error)
		if o.Signer != nil {
			borrower = o.Signer.BorrowerFromToken
		}
		o.Auth = auth.New(o.Tokens, borrower)
	}
	s := &Server{o: o, auth: o.Auth, streams: newStreamSlots(o.InboxStreams), log: o.Log, mux: http.NewServeMux()}
	for _, rt := range s.apiRoutes() {
		s.handle(rt)
	}
	// Not API routes: the console's HTML pages under their own prefix, and
	// the JSON 404 for everything else.
	if o.Console != nil {
		s.mux.Handle("/console/", o.Console)
		s.mux.Handle("GET /{$}", http.RedirectHandler("/console/", http.StatusSeeOther))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, errNotFound) })
	return s
}

// ServeHTTP implements http.Handler; no panic reaches the client as a
// dropped connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.WithField("panic", v).WithField("path", r.URL.Path).Error("handler panic")
			writeError(w, errInternal)
		}
	}()
	perWriteDeadlines(s.o.WriteTimeout, s.mux.ServeHTTP)(w, r)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, errTooLarge)
		} else {
			writeError(w, apiError{Status: http.StatusBadRequest, Code: "bad_body", Message: "could not read the body"})
		}
		return nil, false
	}
	return body, true
}

func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	events, err := intake.ParseHTTPEvents(r.Header, body)
	if err != nil {
		s.failEvents(w, r, err)
		return
	}
	if err := s.o.Intake.Apply(r.Context(), events); err != nil {
		s.failEvents(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(events)})
}

func (s *Server) borrower(w http.ResponseWriter, r *http.Request) (domain.Borrower, bool) {
	b, err := s.o.State.Borrower(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, apiError{Status: http.StatusNotFound, Code: "not_found", Message: "unknown borrower", Field: "id"})
		return b, false
	}
	if err != nil {
		s.fail(w, r, err)
		return b, false
	}
	return b, true
}

// getBorrower serves the borrower page, assembled by support.Service (the
// console shows the same).
func (s *Server) getBorrower(w http.ResponseWriter, r *http.Request) {
	v, err := s.o.Support.Borrower(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, apiError{Status: http.StatusNotFound, Code: "not_found", Message: "unknown borrower", Field: "id"})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) postMute(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	req, bad := decodeMute(body)
	if bad != nil {
		writeError(w, *bad)
		return
	}
	m, err := s.o.Intake.AddMute(r.Context(), r.PathValue("id"), req, PrincipalFrom(r).Name)
	if errors.Is(err, intake.ErrNotFound) {
		writeError(w, apiError{Status: http.StatusNotFound, Code: "not_found", Message: "unknown borrower", Field: "id"})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// decodeMute decodes a mute body strictly: a key forbear does not know (a
// misspelt "until", say) would otherwise be dropped in silence, and the
// mute would last forever.
func decodeMute(body []byte) (intake.MuteRequest, *apiError) {
	var req intake.MuteRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		return req, nil
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		if len(name) > 64 {
			name = name[:64] // names the key without echoing a huge one
		}
		return req, &apiError{Status: http.StatusBadRequest, Code: "unknown_field", Field: name,
			Message: "unknown key; a mute has channels, until and reason"}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return req, &apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: te.Field,
			Message: "has the wrong type (" + te.Value + ")"}
	}
	return req, &apiError{Status: http.StatusBadRequest, Code: "invalid_json", Message: "body is not a mute: " + err.Error()}
}

func (s *Server) deleteMute(w http.ResponseWriter, r *http.Request) {
	err := s.o.Intake.DeleteMute(r.Context(), r.PathValue("id"), r.PathValue("mute_id"), PrincipalFrom(r).Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func limitParam(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || n <= 0 {
		return 100
	}
	return min(n, 10000)
}

func (s *Server) getDeliveries(w http.ResponseWriter, r *http.Request) {
	b, ok := s.borrower(w, r)
	if !ok {
		return
	}
	list, err := s.o.Audit.List(r.Context(), b.ID, limitParam(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []domain.Delivery{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": list})
}

func (s *Server) getInbox(w http.ResponseWriter, r *http.Request) {
	b, ok := s.borrower(w, r)
	if !ok {
		return
	}
	if s.o.Inbox == nil {
		writeError(w, errNotFound)
		return
	}
	msgs, err := s.o.Inbox.ListJSON(r.Context(), b.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

func (s *Server) getInboxStream(w http.ResponseWriter, r *http.Request) {
	b, ok := s.borrower(w, r)
	if !ok {
		return
	}
	if s.o.Inbox == nil {
		writeError(w, errNotFound)
		return
	}
	release, refused := s.streams.take(PrincipalFrom(r).TokenID, b.ID)
	if refused != nil {
		writeError(w, *refused)
		return
	}
	defer release()
	s.o.Inbox.ServeStream(w, r, b.ID)
}

func (s *Server) getOutbox(w http.ResponseWriter, r *http.Request) {
	ch := r.URL.Query().Get("channel")
	if ch != "" && !domain.Channel(ch).Valid() {
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "channel", Message: "must be sms, voice, email or inapp"})
		return
	}
	if s.o.Outbox == nil {
		writeJSON(w, http.StatusOK, map[string]any{"messages": []any{}})
		return
	}
	list, err := s.o.Outbox(r.Context(), ch, r.URL.Query().Get("borrower_id"), limitParam(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": list})
}

func (s *Server) getReady(w http.ResponseWriter, r *http.Request) {
	if s.o.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.o.Ready(ctx); err != nil {
			e := errUnavailable
			e.Message = "not ready: " + err.Error()
			writeError(w, e)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
