package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/roof/httpapi"
	"github.com/forbear/forbear/internal/simulate"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
)

// callers a description may name in x-forbear-roles.
var knownCallers = []string{httpapi.RolePublisher, httpapi.RoleOps, httpapi.RoleSupport, httpapi.RoleAdmin, httpapi.BorrowerRole}

// TestOpenAPIDocument: the description is OpenAPI 3.1 JSON whose
// references all resolve, whose operations all have answers, callers and
// security, and whose path parameters match their paths.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	if v, _ := doc.root["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info, _ := doc.root["info"].(map[string]any)
	for _, key := range []string{"title", "version"} {
		if s, _ := info[key].(string); s == "" {
			t.Errorf("info.%s is missing", key)
		}
	}
	for at, ref := range doc.refs() {
		if _, err := doc.resolve(ref); err != nil {
			t.Errorf("%s: $ref %v", at, err)
		}
	}
	schemes, _ := doc.root["components"].(map[string]any)["securitySchemes"].(map[string]any)
	ops := doc.operations()
	if len(ops) == 0 {
		t.Fatal("no operations")
	}
	ids := map[string]string{}
	for _, o := range ops {
		id, _ := o.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", o.key())
		} else if other, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q is also %s's", o.key(), id, other)
		}
		ids[id] = o.key()

		responses, _ := o.op["responses"].(map[string]any)
		if len(responses) == 0 {
			t.Errorf("%s: no responses", o.key())
		}
		for status, r := range responses {
			if !regexp.MustCompile(`^([1-5][0-9][0-9]|default)$`).MatchString(status) {
				t.Errorf("%s: response %q is not a status code", o.key(), status)
			}
			if d, _ := doc.deref(t, r)["description"].(string); d == "" {
				t.Errorf("%s %s: response without a description", o.key(), status)
			}
		}

		roles := stringList(o.op["x-forbear-roles"])
		if roles == nil {
			t.Errorf("%s: no x-forbear-roles (an empty list for a route that takes no token)", o.key())
		}
		for _, r := range roles {
			if !slices.Contains(knownCallers, r) {
				t.Errorf("%s: x-forbear-roles names %q, not one of %v", o.key(), r, knownCallers)
			}
		}
		if _, ok := o.op["security"].([]any); !ok {
			t.Errorf("%s: no security (an empty list for a route open to all)", o.key())
		}
		security := securitySchemes(o)
		for _, s := range security {
			if _, ok := schemes[s]; !ok {
				t.Errorf("%s: security scheme %q is not in components.securitySchemes", o.key(), s)
			}
		}
		if bearer := slices.Equal(security, []string{"bearerToken"}); bearer != (len(roles) > 0) {
			t.Errorf("%s: security %v with x-forbear-roles %v: a token route has both, others neither", o.key(), security, roles)
		} else if bearer && (responses["401"] == nil || responses["403"] == nil) {
			t.Errorf("%s: a token route documents 401 and 403", o.key())
		}

		var inPath []string
		for _, p := range doc.parameters(t, o) {
			if p["in"] != "path" {
				continue
			}
			name, _ := p["name"].(string)
			inPath = append(inPath, name)
			if p["required"] != true {
				t.Errorf("%s: path parameter %q is not required", o.key(), name)
			}
		}
		want := pathParams(o.path)
		sort.Strings(inPath)
		sort.Strings(want)
		if !slices.Equal(inPath, want) {
			t.Errorf("%s: path parameters %v, the path has %v", o.key(), inPath, want)
		}
	}
}

// accessSecurity is the security scheme the description gives each kind
// of access.
var accessSecurity = map[httpapi.Access][]string{
	httpapi.AccessPublic:     {},
	httpapi.AccessPublisher:  {"bearerToken"},
	httpapi.AccessOps:        {"bearerToken"},
	httpapi.AccessSupport:    {"bearerToken"},
	httpapi.AccessOwnInbox:   {"bearerToken"},
	httpapi.AccessSignedLink: {"unsubscribeLink"},
	httpapi.AccessTwilio:     {"twilioSignature"},
	httpapi.AccessStaff:      {"bearerToken"},
}

// TestOpenAPIDescribesEveryRoute: every route of a full instance is
// described (method, path and parameter names), every description has its
// route, and the description names the callers and the security the route
// lets through. It lists every difference, by side.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	srv := b.app.Handler().(*httpapi.Server)
	doc := loadDoc(t)
	described := map[string]operation{}
	for _, o := range doc.operations() {
		described[o.key()] = o
	}
	routes := map[string]httpapi.Route{}
	var undescribed, unrouted, outsideTable, callers []string
	for _, rt := range srv.Routes() {
		key := rt.Method + " " + rt.Path
		routes[key] = rt
		o, ok := described[key]
		if !ok {
			undescribed = append(undescribed, fmt.Sprintf("%s (access %s)", key, rt.Access))
			continue
		}
		wantRoles := slices.Sorted(slices.Values(rt.Access.Roles()))
		wantSecurity, known := accessSecurity[rt.Access]
		if !known {
			t.Errorf("access %q has no security scheme in this test", rt.Access)
		}
		if gotRoles, gotSecurity := stringList(o.op["x-forbear-roles"]), securitySchemes(o); !slices.Equal(gotRoles, wantRoles) || !slices.Equal(gotSecurity, wantSecurity) {
			callers = append(callers, fmt.Sprintf("%s: the route lets %v through by %v; the description says %v by %v",
				key, wantRoles, wantSecurity, gotRoles, gotSecurity))
		}
	}
	for key, o := range described {
		if _, ok := routes[key]; ok {
			continue
		}
		served := srv.Serves(o.method, fill(o.path, nil))
		if served {
			outsideTable = append(outsideTable, key)
		} else {
			unrouted = append(unrouted, key)
		}
	}
	var report strings.Builder
	for _, part := range []struct {
		title string
		keys  []string
	}{
		{"Routes without a description (describe them in internal/roof/httpapi/openapi.json):", undescribed},
		{"Descriptions without a route (add the route to apiRoutes in internal/roof/httpapi/routes.go, or remove the description):", unrouted},
		{"Described and served, but registered outside the route table (move them into apiRoutes, which declares their access):", outsideTable},
		{"Callers differ (x-forbear-roles and security against the route's access):", callers},
	} {
		if len(part.keys) == 0 {
			continue
		}
		sort.Strings(part.keys)
		fmt.Fprintf(&report, "\n%s\n  %s", part.title, strings.Join(part.keys, "\n  "))
	}
	if report.Len() > 0 {
		t.Errorf("the API description and the routes differ:%s", report.String())
	}
}

// TestOpenAPIRoles: for every token route of the description, the real
// handlers answer 401 without a token, 403 to every caller that
// x-forbear-roles leaves out, and let through every caller it names.
func TestOpenAPIRoles(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.addBorrower(t, "b-roles")
	callerTokens := map[string]string{
		httpapi.RolePublisher: tokPublisher,
		httpapi.RoleOps:       tokOps,
		httpapi.RoleSupport:   tokSupport,
		httpapi.RoleAdmin:     tokAdmin,
		httpapi.BorrowerRole:  b.borrowerToken(t, "b-roles"),
	}
	// Requests carry no body: the ones let through are refused as bad
	// input or not found, and change nothing.
	values := map[string]string{"id": "b-roles", "mute_id": "mute_none", "msg_id": "msg_none", "n": "1"}
	templateValues := map[string]string{"id": "overdue", "n": "1"}
	for _, o := range loadDoc(t).operations() {
		roles := stringList(o.op["x-forbear-roles"])
		if len(roles) == 0 {
			continue
		}
		path := fill(o.path, values)
		if strings.HasPrefix(o.path, "/v1/templates/") {
			path = fill(o.path, templateValues)
		}
		t.Run(o.key(), func(t *testing.T) {
			t.Parallel()
			if status, body := b.statusOf(t, o.method, path, ""); status != http.StatusUnauthorized {
				t.Errorf("without a token: %d %s, want 401", status, body)
			}
			for _, caller := range knownCallers {
				status, body := b.statusOf(t, o.method, path, callerTokens[caller])
				switch allowed := slices.Contains(roles, caller); {
				case allowed && (status == http.StatusUnauthorized || status == http.StatusForbidden):
					t.Errorf("%s, named in x-forbear-roles: %d %s", caller, status, body)
				case !allowed && status != http.StatusForbidden:
					t.Errorf("%s, not in x-forbear-roles %v: %d %s, want 403", caller, roles, status, body)
				}
			}
		})
	}
}

// statusOf makes a request without a body and returns the status and the
// body; an event stream is closed once its headers are in.
func (b *bundle) statusOf(t *testing.T, method, path, token string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, b.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return res.StatusCode, "(event stream)"
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.StatusCode, string(body)
}

// TestOpenAPIAnswers: the real handlers answer what the description says,
// for a walk through the API: each answer's status is documented for its
// route, with its content type and the shape of its body (required fields,
// types, enums), and errors name the field the description says they do.
func TestOpenAPIAnswers(t *testing.T) {
	t.Parallel()
	const twilioToken, public = "tw-doc-token", "https://forbear.example"
	b := setupWith(t, roleTokens, func(c *config.Config) {
		c.HTTP.PublicURL = public
		c.Providers.SMS.Twilio.AuthToken = twilioToken
	}, nil)
	doc := loadDoc(t)
	const ctBatch, ctJSON, ctForm = "application/cloudevents-batch+json", "application/json", "application/x-www-form-urlencoded"
	ask := func(want int, method, path, token, contentType, body string) response {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := b.do(t, method, path, token, rd, contentType)
		if r.status != want {
			t.Errorf("%s %s: %d %s, want %d", method, path, r.status, bytes.TrimSpace(r.body), want)
		}
		u, err := url.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range doc.checkAnswer(t, method, u.Path, r) {
			t.Error(p)
		}
		return r
	}
	wantField := func(r response, field string) {
		t.Helper()
		if e := decode[apiErr](t, r); e.Error == nil || e.Error.Field != field {
			t.Errorf("error %s, want field %q", r.body, field)
		}
	}

	// Events: 200 {"accepted":n}; a bad one 400 naming the field; a batch
	// that fails at one event says which and how many were applied.
	r := ask(200, "POST", "/v1/events", tokPublisher, ctBatch,
		"["+borrowerEvent("ev-doc-1", "b-doc", "Doc")+","+loanEvent("ev-doc-2", "b-doc", "L-doc", "2030-01-15")+"]")
	if got := decode[map[string]int](t, r); got["accepted"] != 2 {
		t.Errorf("batch of 2: %s, want {\"accepted\":2}", r.body)
	}
	r = ask(200, "POST", "/v1/events", tokPublisher, ctJSON, borrowerEvent("ev-doc-3", "b-doc-2", "Other"))
	if got := decode[map[string]int](t, r); got["accepted"] != 1 {
		t.Errorf("one event: %s, want {\"accepted\":1}", r.body)
	}
	wantField(ask(400, "POST", "/v1/events", tokPublisher, ctJSON, loanEvent("ev-doc-4", "b-doc", "L-doc", "15/01/2030")), "data.due_date")
	r = ask(404, "POST", "/v1/events", tokPublisher, ctBatch,
		"["+borrowerEvent("ev-doc-5", "b-doc-3", "Third")+","+paymentEvent("ev-doc-6", "b-doc-3", "L-none")+"]")
	wantEventsError(t, r, 404, "[1].data.loan_id", 1, 1)
	ask(401, "POST", "/v1/events", "", ctJSON, borrowerEvent("ev-doc-7", "b-doc", "Doc"))
	ask(403, "POST", "/v1/events", tokSupport, ctJSON, borrowerEvent("ev-doc-8", "b-doc", "Doc"))
	ask(413, "POST", "/v1/events", tokPublisher, ctJSON, strings.Repeat(" ", 9<<20))

	// Borrowers, mutes, the audit trail.
	ask(200, "GET", "/v1/borrowers/b-doc", tokSupport, "", "")
	wantField(ask(404, "GET", "/v1/borrowers/nobody", tokSupport, "", ""), "id")
	r = ask(201, "POST", "/v1/borrowers/b-doc/mutes", tokSupport, ctJSON, `{"channels":["sms"],"reason":"doc"}`)
	muteID := decode[struct{ ID string }](t, r).ID
	ask(200, "GET", "/v1/borrowers/b-doc", tokSupport, "", "") // with the mute in force
	wantField(ask(400, "POST", "/v1/borrowers/b-doc/mutes", tokSupport, ctJSON, `{"reason":"doc","untill":"2030-01-01T00:00:00Z"}`), "untill")
	wantField(ask(404, "POST", "/v1/borrowers/nobody/mutes", tokSupport, ctJSON, `{"reason":"doc"}`), "id")
	ask(204, "DELETE", "/v1/borrowers/b-doc/mutes/"+muteID, tokSupport, "", "")
	ask(404, "DELETE", "/v1/borrowers/b-doc/mutes/"+muteID, tokSupport, "", "")
	ask(200, "GET", "/v1/borrowers/b-doc/deliveries?limit=5", tokSupport, "", "")
	ask(200, "GET", "/v1/borrowers/b-doc/export", tokSupport, "", "")
	ask(200, "GET", "/v1/borrowers/b-doc/export?format=csv", tokSupport, "", "")
	wantField(ask(400, "GET", "/v1/borrowers/b-doc/export?format=pdf", tokSupport, "", ""), "format")
	wantField(ask(404, "GET", "/v1/borrowers/nobody/export", tokSupport, "", ""), "id")
	ask(200, "GET", "/v1/outbox?channel=sms", tokSupport, "", "")
	wantField(ask(400, "GET", "/v1/outbox?channel=fax", tokSupport, "", ""), "channel")

	// The inbox, by support and by the borrower's own token.
	r = ask(201, "POST", "/v1/borrowers/b-doc/token", tokSupport, "", "")
	own := decode[map[string]string](t, r)["token"]
	ask(200, "GET", "/v1/borrowers/b-doc/inbox", own, "", "")
	ask(200, "GET", "/v1/borrowers/b-doc/inbox", tokSupport, "", "")
	ask(403, "GET", "/v1/borrowers/b-doc-2/inbox", own, "", "")
	wantField(ask(404, "GET", "/v1/borrowers/nobody/inbox", tokSupport, "", ""), "id")
	ask(404, "POST", "/v1/borrowers/b-doc/inbox/msg-none/read", own, "", "")
	if _, sr := b.openStream(t, "b-doc", own); sr.status == http.StatusOK {
		for _, p := range doc.checkAnswer(t, "GET", "/v1/borrowers/b-doc/inbox/stream", sr) {
			t.Error(p)
		}
	} else {
		t.Errorf("inbox stream: %d %s", sr.status, sr.body)
	}

	// Templates.
	ask(200, "GET", "/v1/templates", tokOps, "", "")
	ask(200, "GET", "/v1/templates/overdue", tokOps, "", "")
	ask(404, "GET", "/v1/templates/nothing", tokOps, "", "")
	ask(200, "GET", "/v1/templates/overdue/versions/1", tokOps, "", "")
	wantField(ask(400, "GET", "/v1/templates/overdue/versions/zero", tokOps, "", ""), "n")
	wantField(ask(400, "PUT", "/v1/templates/doc", tokOps, ctJSON, `{"channels":{"sms":{"en-US":"Hi {{.Borrower.Nmae}}"}}}`), "channels.sms.en-US")
	ask(200, "PUT", "/v1/templates/doc?note=first", tokOps, ctJSON, `{"channels":{"sms":{"en-US":"Hi {{.Borrower.Name}}"},"inapp":{"en-US":{"title":"Hi","body":"Hello"}}}}`)
	ask(200, "PUT", "/v1/templates/doc", tokOps, ctJSON, `{"channels":{"sms":{"en-US":"Hello {{.Borrower.Name}}"}}}`)
	ask(409, "PUT", "/v1/templates/doc", tokOps, ctJSON, bigTemplate())
	ask(200, "GET", "/v1/templates/doc/diff", tokOps, "", "")
	ask(200, "POST", "/v1/templates/doc/rollback", tokOps, ctJSON, `{"version":1}`)
	wantField(ask(400, "POST", "/v1/templates/doc/rollback", tokOps, ctJSON, `{"version":0}`), "version")
	ask(200, "POST", "/v1/templates/overdue/preview", tokOps, ctJSON, `{"borrower_id":"b-doc","channel":"sms"}`)
	ask(200, "POST", "/v1/templates/doc/preview", tokOps, ctJSON, `{"channel":"inapp","channels":{"inapp":{"en-US":{"title":"T","body":"B"}}}}`)
	wantField(ask(404, "POST", "/v1/templates/overdue/preview", tokOps, ctJSON, `{"borrower_id":"nobody","channel":"sms"}`), "borrower_id")
	wantField(ask(400, "POST", "/v1/templates/overdue/preview", tokOps, ctJSON, `{"channel":"fax"}`), "channel")

	// The dry run: generated, sampled from the live state (b-doc and its
	// loan), with a variant and charts; bad input names its field.
	r = ask(200, "POST", "/v1/simulate", tokOps, ctJSON, `{"days":3,"start":"2026-12-01","generate":{"borrowers":20,"seed":1},
		"variant":{"name":"regf","compliance":{"preset":"us-regf"}},"charts":true}`)
	if got := decode[simulate.Answer](t, r); got.Run == nil || got.Comparison == nil || !strings.HasPrefix(got.Charts["status"], "<?xml") {
		t.Errorf("dry run: %.300s, want a run, a comparison and an SVG status chart", r.body)
	}
	r = ask(200, "POST", "/v1/simulate", tokOps, ctJSON, `{"days":2,"sample":5,"borrowers":["b-doc"]}`)
	if got := decode[simulate.Answer](t, r); got.Run == nil || got.Run.Borrowers == 0 || len(got.Run.Schedules) != 1 {
		t.Errorf("sampled dry run: %.300s, want b-doc's schedule", r.body)
	}
	wantField(ask(400, "POST", "/v1/simulate", tokOps, ctJSON, `{"days":400,"generate":{"borrowers":1}}`), "days")
	wantField(ask(400, "POST", "/v1/simulate", tokOps, ctJSON, `{"generate":{"borrowers":1},"dayz":3}`), "dayz")
	wantField(ask(400, "POST", "/v1/simulate", tokOps, ctJSON, `{"population":{"borrowers":[{"borrower_id":"b1",
		"loans":[{"loan_id":"L1","due_date":"2026-13-01","amount_due":"1","currency":"USD","status":"overdue"}]}]}}`), "population.borrowers[0].loans[0].due_date")
	wantField(ask(400, "POST", "/v1/simulate", tokOps, ctJSON, `{"generate":{"borrowers":1},"variant":{"compliance":{"preset":"nope"}}}`), "variant.compliance.preset")
	wantField(ask(400, "POST", "/v1/simulate", tokOps, ctJSON, `{"generate":{"borrowers":1},"sample":3}`), "population")
	wantField(ask(400, "POST", "/v1/simulate", tokOps, ctJSON, `{"generate":{"borrowers":10001}}`), "generate.borrowers")
	wantField(ask(400, "POST", "/v1/simulate", tokOps, ctJSON, `{"population":"borrower_id,loan_id,due_date,amount_due,currency,status\nb1,L1,2026-12-01,1,USD,overdue\nb2,L2,12/01/2026,1,USD,overdue\n"}`), "population.line[3].due_date")
	ask(200, "POST", "/v1/simulate", tokOps, ctJSON, `{"days":2,"start":"2026-12-01","population":"borrower_id,loan_id,due_date,amount_due,currency,status\nb1,L1,2026-11-28,1,USD,overdue\n"}`)

	// Signed routes refuse what is not signed, and answer what is; open
	// routes need nothing.
	ask(403, "POST", "/v1/providers/twilio/status", "", ctForm, "CallSid=CA1&CallStatus=completed")
	ask(403, "POST", "/v1/providers/twilio/inbound", "", ctForm, "From=%2B8613800000000&Body=STOP")
	signed := func(want int, path string, form url.Values) response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, b.url+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctForm)
		req.Header.Set("X-Twilio-Signature", faketwilio.Sign(twilioToken, public+path, form))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		r := response{status: res.StatusCode, header: res.Header, body: body}
		if r.status != want {
			t.Errorf("signed POST %s: %d %s, want %d", path, r.status, bytes.TrimSpace(r.body), want)
		}
		u, err := url.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range doc.checkAnswer(t, http.MethodPost, u.Path, r) {
			t.Error(p)
		}
		return r
	}
	signed(204, "/v1/providers/twilio/status", url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}})
	wantField(signed(400, "/v1/providers/twilio/status", url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}, "CallDuration": {"abc"}}), "CallDuration")
	signed(200, "/v1/providers/twilio/inbound", url.Values{"From": {"+8613800000009"}, "Body": {"hello"}})
	signed(200, "/v1/providers/twilio/voice?r=none", url.Values{"CallSid": {"CA1"}, "AnsweredBy": {"machine_end_beep"}})
	wantField(signed(400, "/v1/providers/twilio/voice", url.Values{"CallSid": {"CA1"}, "AnsweredBy": {"human"}}), "r")
	ask(403, "GET", "/v1/unsubscribe?b=b-doc&a=doc%40example.com&sig=forged", "", "", "")
	ask(403, "POST", "/v1/unsubscribe", "", ctForm, "b=b-doc&a=doc%40example.com&sig=forged")
	ask(200, "GET", "/healthz", "", "", "")
	ask(200, "GET", "/readyz", "", "", "")
	ask(200, "GET", "/metrics", "", "", "")
	r = ask(200, "GET", "/v1/openapi.json", "", "", "")
	if !bytes.Equal(r.body, httpapi.OpenAPI) {
		t.Error("GET /v1/openapi.json is not the embedded description")
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET /v1/openapi.json: Content-Type %q, want application/json", ct)
	}
	var served map[string]any
	if err := json.Unmarshal(r.body, &served); err != nil {
		t.Errorf("GET /v1/openapi.json: %v", err)
	}
}
