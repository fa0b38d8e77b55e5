package faketwilio_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
)

// post creates a message (or a call with twiml) with raw HTTP, as a
// client other than twilio-go would.
func post(t *testing.T, s *faketwilio.Server, kind, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/2010-04-01/Accounts/"+s.AccountSID+"/"+kind+".json", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	return do(t, req)
}

func get(t *testing.T, s *faketwilio.Server, path string, q url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.AccountSID, s.AuthToken)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return resp.StatusCode, body
}

// rawPost creates a message and returns the status (0 on a transport
// error); safe to call from any goroutine.
func rawPost(s *faketwilio.Server, form url.Values) int {
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/2010-04-01/Accounts/"+s.AccountSID+"/Messages.json", strings.NewReader(form.Encode()))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.AccountSID, s.AuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func sms(to, body string) url.Values {
	return url.Values{"To": {to}, "From": {"+15005550006"}, "Body": {body}}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(t)
	status, body := post(t, s, "Messages", s.AccountSID, "nope", sms("+15551230001", "x"))
	if status != 401 || body["code"] != float64(20003) {
		t.Errorf("bad token: %d %v, want 401 code 20003", status, body)
	}
	status, _ = post(t, s, "Messages", s.AccountSID, s.AuthToken, sms("+15551230001", "x"))
	if status != 201 {
		t.Errorf("good token: status %d, want 201", status)
	}
	if n := s.Count(); n != 2 {
		t.Errorf("Count = %d, want 2 (failed requests count too)", n)
	}
}

func TestCreateAndRecord(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(t)
	status, body := post(t, s, "Messages", s.AccountSID, s.AuthToken, sms("+15551230001", "hello"))
	sid, _ := body["sid"].(string)
	if status != 201 || len(sid) != 34 || !strings.HasPrefix(sid, "SM") || body["body"] != "hello" {
		t.Fatalf("create message: %d %v", status, body)
	}
	status, body = post(t, s, "Calls", s.AccountSID, s.AuthToken, url.Values{"To": {"+15551230001"}, "From": {"+15005550006"}, "Twiml": {"<Response/>"}})
	csid, _ := body["sid"].(string)
	if status != 201 || !strings.HasPrefix(csid, "CA") {
		t.Fatalf("create call: %d %v", status, body)
	}
	if m := s.Messages(); len(m) != 1 || m[0].SID != sid || m[0].Body != "hello" || m[0].Kind != faketwilio.SMS || m[0].At.IsZero() {
		t.Errorf("Messages() = %+v", m)
	}
	if c := s.Calls(); len(c) != 1 || c[0].SID != csid || c[0].Twiml != "<Response/>" {
		t.Errorf("Calls() = %+v", c)
	}
	status, body = post(t, s, "Messages", s.AccountSID, s.AuthToken, sms("0123", "x"))
	if status != 400 || body["code"] != float64(21211) {
		t.Errorf("invalid number: %d %v, want 400/21211", status, body)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(t)
	to := "+15551230002"
	s.FailNext(to, 429, 20429, 2)
	s.Fail(to, faketwilio.Failure{Status: 500})
	var got []int
	for range 4 {
		status, _ := post(t, s, "Messages", s.AccountSID, s.AuthToken, sms(to, "x"))
		got = append(got, status)
	}
	if want := []int{429, 429, 500, 201}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if status, _ := post(t, s, "Messages", s.AccountSID, s.AuthToken, sms("+15551230003", "x")); status != 201 {
		t.Errorf("other number: %d, want 201", status)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(t)
	for i := range 5 {
		post(t, s, "Messages", s.AccountSID, s.AuthToken, sms("+15551230004", fmt.Sprint(i)))
	}
	post(t, s, "Messages", s.AccountSID, s.AuthToken, sms("+15551230005", "other"))
	path := "/2010-04-01/Accounts/" + s.AccountSID + "/Messages.json"

	var bodies []string
	q := url.Values{"To": {"+15551230004"}, "PageSize": {"2"}}
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		status, body := get(t, s, path, q)
		if status != 200 {
			t.Fatalf("list: %d %v", status, body)
		}
		for _, m := range body["messages"].([]any) {
			bodies = append(bodies, m.(map[string]any)["body"].(string))
		}
		next, _ := body["next_page_uri"].(string)
		if next == "" {
			break
		}
		u, err := url.Parse(next)
		if err != nil || u.Path != path {
			t.Fatalf("next_page_uri %q", next)
		}
		q = u.Query()
	}
	if got := strings.Join(bodies, ","); got != "4,3,2,1,0" {
		t.Errorf("listed %s, want newest first 4,3,2,1,0", got)
	}

	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, tt := range []struct {
		q    url.Values
		want int
	}{
		{url.Values{"DateSent>": {past}}, 6},
		{url.Values{"DateSent>": {future}}, 0},
		{url.Values{"DateSent<": {past}}, 0},
		{url.Values{"DateSent>": {time.Now().UTC().Format(time.DateOnly)}}, 6},
		{url.Values{"From": {"+15005550001"}}, 0},
	} {
		_, body := get(t, s, path, tt.q)
		if got := len(body["messages"].([]any)); got != tt.want {
			t.Errorf("list %v: %d messages, want %d", tt.q, got, tt.want)
		}
	}
}

// TestCallListByStartTimeAndStatus: a call has no start time until it is
// dialled, so only Status finds a queued call; once dialled, StartTime>
// finds it.
func TestCallListByStartTimeAndStatus(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(t)
	to := "+15551230006"
	_, body := post(t, s, "Calls", s.AccountSID, s.AuthToken, url.Values{"To": {to}, "From": {"+15005550006"}, "Twiml": {"<Response/>"}})
	sid, _ := body["sid"].(string)
	path := "/2010-04-01/Accounts/" + s.AccountSID + "/Calls.json"
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	count := func(q url.Values) int {
		t.Helper()
		status, body := get(t, s, path, q)
		if status != 200 {
			t.Fatalf("list %v: %d %v", q, status, body)
		}
		return len(body["calls"].([]any))
	}
	if n := count(url.Values{"To": {to}, "StartTime>": {past}}); n != 0 {
		t.Errorf("queued call listed by StartTime>: %d, want 0 (not dialled)", n)
	}
	if n := count(url.Values{"To": {to}, "Status": {"queued"}}); n != 1 {
		t.Errorf("queued call listed by Status=queued: %d, want 1", n)
	}
	if !s.SetCallStatus(sid, "busy") {
		t.Fatal("SetCallStatus: unknown call")
	}
	for _, tt := range []struct {
		q    url.Values
		want int
	}{
		{url.Values{"To": {to}, "StartTime>": {past}}, 1},
		{url.Values{"To": {to}, "StartTime>": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}}, 0},
		{url.Values{"To": {"+15551230007"}, "StartTime>": {past}}, 0},
		{url.Values{"To": {to}, "Status": {"queued"}}, 0},
		{url.Values{"To": {to}, "Status": {"busy"}}, 1},
	} {
		if n := count(tt.q); n != tt.want {
			t.Errorf("list %v: %d calls, want %d", tt.q, n, tt.want)
		}
	}
}

func TestHoldAndRelease(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(t)
	hooked := make(chan faketwilio.Record, 10)
	s.SetOnRequest(func(r faketwilio.Record) { hooked <- r })
	g := s.Hold()
	statuses := make(chan int, 2)
	for i := range 2 {
		go func() { statuses <- rawPost(s, sms(fmt.Sprintf("+1555123001%d", i), "x")) }()
	}
	for range 2 {
		select {
		case <-g.Arrived():
		case <-time.After(10 * time.Second):
			t.Fatal("held request did not arrive")
		}
	}
	select {
	case st := <-statuses:
		t.Fatalf("a held request was answered (%d) before Release", st)
	default:
	}
	if n := len(s.Messages()); n != 2 {
		t.Errorf("held messages recorded: %d, want 2", n)
	}
	g.Release()
	g.Release() // idempotent
	for range 2 {
		if st := <-statuses; st != 201 {
			t.Errorf("released status %d, want 201", st)
		}
	}
	if n := len(hooked); n != 2 {
		t.Errorf("hook saw %d requests, want 2", n)
	}
	// After release, requests are answered at once.
	if st, _ := post(t, s, "Messages", s.AccountSID, s.AuthToken, sms("+15551230020", "x")); st != 201 {
		t.Errorf("after release: %d", st)
	}
}

// A test that ends with requests still held must not hang in Cleanup.
func TestCleanupReleasesHeldRequests(t *testing.T) {
	t.Parallel()
	t.Run("inner", func(t *testing.T) {
		s := faketwilio.New(t)
		g := s.Hold()
		go rawPost(s, sms("+15551230030", "x"))
		<-g.Arrived()
	})
}

// TestAnswerAsRequestsTheCallsURL: a call placed with a URL to a number the
// fake answers as a machine gets its URL requested, signed, with
// AnsweredBy; the TwiML that comes back is kept on the call's record, and
// the status callback repeats AnsweredBy. A call without machine detection
// is requested without AnsweredBy; calls to other numbers are not answered.
func TestAnswerAsRequestsTheCallsURL(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(t)
	type hit struct {
		answeredBy string
		signed     bool
	}
	hits := make(chan hit, 8)
	var app *httptest.Server
	app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		full := app.URL + r.URL.RequestURI()
		hits <- hit{r.PostForm.Get("AnsweredBy"), r.Header.Get("X-Twilio-Signature") == faketwilio.Sign(s.AuthToken, full, r.PostForm)}
		w.Header().Set("Content-Type", "text/xml")
		if r.URL.Path == "/status" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		fmt.Fprintf(w, "<Response><Say>%s</Say></Response>", r.PostForm.Get("AnsweredBy"))
	}))
	t.Cleanup(app.Close)
	s.AnswerAs("+15550000001", "machine_end_beep")
	s.AnswerAs("+15550000002", "human")

	call := func(to, detection string) {
		form := url.Values{"To": {to}, "From": {"+15005550006"}, "Url": {app.URL + "/answer?r=x"}, "StatusCallback": {app.URL + "/status"}}
		if detection != "" {
			form.Set("MachineDetection", detection)
		}
		if status, body := post(t, s, "Calls", s.AccountSID, s.AuthToken, form); status != http.StatusCreated {
			t.Fatalf("create call: %d %v", status, body)
		}
	}
	call("+15550000001", "DetectMessageEnd")
	if h := <-hits; h.answeredBy != "machine_end_beep" || !h.signed {
		t.Errorf("machine answer request: %+v, want AnsweredBy machine_end_beep, signed", h)
	}
	testkit.Eventually(t, 10*time.Second, "the answer on the record", func() bool { return s.Calls()[0].Answer != nil })
	machine := s.Calls()[0]
	if a := machine.Answer; a.Status != http.StatusOK || a.TwiML != "<Response><Say>machine_end_beep</Say></Response>" || a.AnsweredBy != "machine_end_beep" {
		t.Errorf("answer %+v", *a)
	}
	if machine.MachineDetection != "DetectMessageEnd" || !strings.HasSuffix(machine.URL, "/answer?r=x") {
		t.Errorf("record %+v lacks the call's URL or detection", machine)
	}
	if err := s.CallEnded(testkit.Context(t, 10*time.Second), machine, "completed", 20); err != nil {
		t.Fatal(err)
	}
	if h := <-hits; h.answeredBy != "machine_end_beep" {
		t.Errorf("status callback without AnsweredBy: %+v", h)
	}

	call("+15550000002", "")
	if h := <-hits; h.answeredBy != "" {
		t.Errorf("a call without detection was answered with AnsweredBy %q", h.answeredBy)
	}
	call("+15550000003", "DetectMessageEnd")
	if status, body := post(t, s, "Calls", s.AccountSID, s.AuthToken, url.Values{"To": {"+15550000003"}, "From": {"+15005550006"},
		"Url": {app.URL}, "MachineDetection": {"Sometimes"}}); status != http.StatusBadRequest {
		t.Errorf("MachineDetection=Sometimes: %d %v, want 400", status, body)
	}
	select {
	case h := <-hits:
		t.Errorf("a number the fake does not answer was answered: %+v", h)
	default:
	}
}
