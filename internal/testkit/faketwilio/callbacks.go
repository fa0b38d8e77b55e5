package faketwilio

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Sign computes X-Twilio-Signature the way Twilio does for a POST webhook:
// base64(HMAC-SHA1(auth token, URL followed by each form key and its value,
// keys sorted)).
func Sign(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(form.Get(k))
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Post sends a signed webhook to fullURL, as Twilio would, and returns the
// status code and body of the answer.
func (s *Server) Post(ctx context.Context, fullURL string, form url.Values) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fullURL, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(s.AuthToken, fullURL, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// CallEnded ends a call with a final status (SetCallStatus, so that lists
// show it) and reports it to the StatusCallback the call was created with
// (duration in seconds; > 0 with "completed" is a conversation).
func (s *Server) CallEnded(ctx context.Context, call Record, status string, duration int) error {
	if call.StatusCallback == "" {
		return fmt.Errorf("faketwilio: call %s has no status callback", call.SID)
	}
	s.SetCallStatus(call.SID, status)
	form := url.Values{"CallSid": {call.SID}, "CallStatus": {status}, "CallDuration": {fmt.Sprint(duration)},
		"To": {call.To}, "From": {call.From}, "AccountSid": {s.AccountSID}}
	// A call answered with machine detection reports its result again in
	// the status callback.
	if a := s.answerOf(call.SID); a != nil && a.AnsweredBy != "" {
		form.Set("AnsweredBy", a.AnsweredBy)
	}
	code, body, err := s.Post(ctx, call.StatusCallback, form)
	if err != nil {
		return err
	}
	if code >= 300 {
		return fmt.Errorf("faketwilio: status callback answered %d: %s", code, body)
	}
	return nil
}

// InboundSMS delivers an incoming SMS to the inbound webhook at fullURL and
// returns the TwiML answer.
func (s *Server) InboundSMS(ctx context.Context, fullURL, from, to, body string) (string, error) {
	form := url.Values{"MessageSid": {"SM" + randomHex(16)}, "From": {from}, "To": {to}, "Body": {body}, "AccountSid": {s.AccountSID}}
	code, answer, err := s.Post(ctx, fullURL, form)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return answer, fmt.Errorf("faketwilio: inbound webhook answered %d: %s", code, answer)
	}
	return answer, nil
}

// answerTimeout bounds the fake's request to a call's URL.
const answerTimeout = 30 * time.Second

// AnswerAs makes calls to number answered, once created, the way Twilio
// answers them: a call placed with a URL has it requested (a signed POST)
// with the call's details, and, when the call asked for machine detection,
// AnsweredBy set to answeredBy ("human", "machine_end_beep", "fax", ...).
// The TwiML the URL returns is kept on the call's record (Record.Answer).
// Calls with inline TwiML have nothing to request.
func (s *Server) AnswerAs(number, answeredBy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answerAs[number] = answeredBy
}

// answer requests call's URL as Twilio does when the call is picked up,
// and records the result.
func (s *Server) answer(call Record, answeredBy string) {
	ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	s.SetCallStatus(call.SID, "in-progress")
	form := url.Values{"CallSid": {call.SID}, "AccountSid": {s.AccountSID}, "From": {call.From}, "To": {call.To},
		"CallStatus": {"in-progress"}, "Direction": {"outbound-api"}, "ApiVersion": {"2010-04-01"}}
	a := &Answer{}
	if call.MachineDetection != "" {
		a.AnsweredBy = answeredBy
		form.Set("AnsweredBy", answeredBy)
	}
	code, body, err := s.Post(ctx, call.URL, form)
	if err != nil {
		a.Err = err.Error()
	} else {
		a.Status, a.TwiML = code, body
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.requests {
		if s.requests[i].SID == call.SID {
			s.requests[i].Answer = a
		}
	}
	for i := range s.created {
		if s.created[i].rec.SID == call.SID {
			s.created[i].rec.Answer = a
		}
	}
}

// answerOf is how the fake answered the call sid; nil when it did not.
func (s *Server) answerOf(sid string) *Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, res := range s.created {
		if res.rec.SID == sid {
			return res.rec.Answer
		}
	}
	return nil
}
