package faketwilio

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

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
