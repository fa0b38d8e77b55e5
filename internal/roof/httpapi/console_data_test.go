package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/stats"
	"github.com/forbear/forbear/internal/support"
	"github.com/forbear/forbear/templates"
)

func upsertEvent(eventID, borrowerID, name, phone, email string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"test","type":"borrower.upserted",
		"data":{"borrower_id":%q,"name":%q,"locale":"en-US","timezone":"Asia/Shanghai","phone":%q,"email":%q}}`,
		eventID, borrowerID, name, phone, email)
}

func (b *bundle) publish(t *testing.T, events ...string) {
	t.Helper()
	r := b.do(t, http.MethodPost, "/v1/events", tokPublisher, strings.NewReader("["+strings.Join(events, ",")+"]"),
		"application/cloudevents-batch+json")
	if r.status != http.StatusOK {
		t.Fatalf("events: %d %s", r.status, r.body)
	}
}

// TestSearch: GET /v1/search finds borrowers by id, loan id, email (any
// case) and phone number typed in any format (numbers without a country
// code read in console.phone_region, CN by default); every borrower that
// shares a number is listed; bad queries are a 400 naming q.
func TestSearch(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.publish(t,
		upsertEvent("s-1", "b-wang", "Wang Fang", "+8613912345678", "Wang.Fang@Example.com"),
		upsertEvent("s-2", "b-us", "Jane Roe", "+15550100001", "jane@example.org"),
		upsertEvent("s-3", "b-twin-1", "Twin One", "+8613700000001", "twin1@example.com"),
		upsertEvent("s-4", "b-twin-2", "Twin Two", "+8613700000001", "twin2@example.com"),
		loanEvent("s-5", "b-wang", "L-wang-1", "2026-11-20"),
	)
	type hit struct{ id, field string }
	tests := []struct {
		q    string
		want []hit
	}{
		{q: "b-wang", want: []hit{{"b-wang", "id"}}},
		{q: "L-wang-1", want: []hit{{"b-wang", "loan_id"}}},
		{q: "wang.fang@example.com", want: []hit{{"b-wang", "email"}}},
		{q: "  WANG.FANG@EXAMPLE.COM ", want: []hit{{"b-wang", "email"}}},
		{q: "+8613912345678", want: []hit{{"b-wang", "phone"}}},
		{q: "139 1234 5678", want: []hit{{"b-wang", "phone"}}},
		{q: "139-1234-5678", want: []hit{{"b-wang", "phone"}}},
		{q: "+86 139 1234 5678", want: []hit{{"b-wang", "phone"}}},
		{q: "0086 13912345678", want: []hit{{"b-wang", "phone"}}},
		{q: "(+86) 139.1234.5678", want: []hit{{"b-wang", "phone"}}},
		{q: "+1 (555) 010-0001", want: []hit{{"b-us", "phone"}}},
		{q: "001-555-010-0001", want: []hit{{"b-us", "phone"}}},
		// Without a country code, a US number is read as Chinese: no match.
		{q: "(555) 010-0001", want: nil},
		{q: "137 0000 0001", want: []hit{{"b-twin-1", "phone"}, {"b-twin-2", "phone"}}},
		{q: "nobody", want: nil},
		{q: "nobody@example.com", want: nil},
	}
	for _, tt := range tests {
		r := b.get(t, "/v1/search?q="+url.QueryEscape(tt.q), tokSupport)
		if r.status != http.StatusOK {
			t.Errorf("q=%q: %d %s", tt.q, r.status, r.body)
			continue
		}
		res := decode[struct {
			Matches []support.Match `json:"matches"`
		}](t, r)
		var got []hit
		for _, m := range res.Matches {
			got = append(got, hit{m.BorrowerID, m.Field})
			if m.Name == "" {
				t.Errorf("q=%q: match %+v has no name", tt.q, m)
			}
		}
		slices.SortFunc(got, func(a, b hit) int { return strings.Compare(a.id, b.id) })
		if !slices.Equal(got, tt.want) {
			t.Errorf("q=%q: matches %v, want %v", tt.q, got, tt.want)
		}
		if res.Matches == nil {
			t.Errorf("q=%q: matches is null, want a list", tt.q)
		}
	}
	for _, q := range []string{"", "%20%20", strings.Repeat("x", support.MaxQuery+1), "%ff%fe"} {
		e := wantError(t, b.get(t, "/v1/search?q="+q, tokSupport), http.StatusBadRequest)
		if e.Error.Field != "q" {
			t.Errorf("q=%.20q: field %q, want q", q, e.Error.Field)
		}
	}
	wantError(t, b.get(t, "/v1/search?q=b-wang", tokOps), http.StatusForbidden)
	wantError(t, b.get(t, "/v1/search?q=b-wang", ""), http.StatusUnauthorized)
}

// TestBorrowerPageAddsZoneDaysPastDueAndChecks: GET /v1/borrowers/{id}
// keeps its fields and adds the borrower's zone and local time, each
// case's days past due in that zone, and per next reminder what the rules
// would do on each channel at its time.
func TestBorrowerPageAddsZoneDaysPastDueAndChecks(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	due := time.Now().In(sh).AddDate(0, 0, -5).Format(time.DateOnly)
	b.publish(t, upsertEvent("p-1", "b-page", "Li Lei", "+8613800000011", "li@example.com"),
		fmt.Sprintf(`{"specversion":"1.0","id":"p-2","source":"test","type":"loan.updated",
		"data":{"borrower_id":"b-page","loan_id":"L-page","due_date":%q,"amount_due":"1200.00","currency":"CNY","status":"overdue","policy":"standard"}}`, due))
	r := b.get(t, "/v1/borrowers/b-page", tokSupport)
	if r.status != http.StatusOK {
		t.Fatalf("GET borrower: %d %s", r.status, r.body)
	}
	v := decode[map[string]any](t, r)
	for _, key := range []string{"id", "name", "phone", "email", "timezone", "loan_ids", "cases", "suppressions", "next_reminders", "zone", "local_time", "contacts"} {
		if _, ok := v[key]; !ok {
			t.Errorf("borrower page lacks %q: %s", key, r.body)
		}
	}
	page := decode[support.View](t, r)
	if page.Zone != "Asia/Shanghai" {
		t.Errorf("zone = %q", page.Zone)
	}
	if _, off := page.LocalTime.Zone(); off != 8*3600 {
		t.Errorf("local time %s is not in +08:00", page.LocalTime)
	}
	if len(page.Cases) != 1 || page.Cases[0].DaysPastDue != 5 || page.Cases[0].LoanID != "L-page" {
		t.Errorf("cases = %+v, want L-page 5 days past due", page.Cases)
	}
	if len(page.Next) == 0 {
		t.Fatalf("no next reminders: %s", r.body)
	}
	for _, u := range page.Next {
		if len(u.Checks) != len(u.Channels) || u.Template == "" {
			t.Errorf("next reminder %+v: want a template and a check per channel", u)
		}
		for _, c := range u.Checks {
			if !slices.Contains([]string{"allowed", "deferred", "capped", "suppressed", "failed"}, c.Status) {
				t.Errorf("check %+v has an unknown status", c)
			}
		}
	}
}

// TestStatsAnswersEveryStaffRole: GET /v1/stats is for every staff role
// and no one else; it lists this instance as up.
func TestStatsAnswersEveryStaffRole(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.addBorrower(t, "b-stats")
	for _, tok := range []string{tokPublisher, tokOps, tokSupport, tokAdmin} {
		r := b.get(t, "/v1/stats", tok)
		if r.status != http.StatusOK {
			t.Fatalf("token %s: %d %s", tok, r.status, r.body)
		}
		s := decode[stats.Snapshot](t, r)
		if len(s.Instances) != 1 || len(s.Deliveries.Hourly) != stats.Hours || len(s.QueueDepth) != 4 {
			t.Errorf("snapshot = %s", r.body)
		}
	}
	wantError(t, b.get(t, "/v1/stats", ""), http.StatusUnauthorized)
	wantError(t, b.get(t, "/v1/stats", b.borrowerToken(t, "b-stats")), http.StatusForbidden)
}

// TestTemplateListShowsUsage: GET /v1/templates gives, per template, its
// category, the policies that send it, who saved the live version and
// when, and who last made a version live.
func TestTemplateListShowsUsage(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	list := func() map[string]templates.Info {
		r := b.get(t, "/v1/templates", tokOps)
		if r.status != http.StatusOK {
			t.Fatalf("GET templates: %d %s", r.status, r.body)
		}
		out := map[string]templates.Info{}
		for _, i := range decode[struct {
			Templates []templates.Info `json:"templates"`
		}](t, r).Templates {
			out[i.ID] = i
		}
		return out
	}
	got := list()
	overdue, plan := got["overdue"], got["installment_due"]
	if !slices.Equal(overdue.UsedBy, []templates.Use{{Policy: "standard", Category: "collection"}}) {
		t.Errorf("overdue used by %+v, want the standard policy", overdue.UsedBy)
	}
	if !slices.Equal(plan.UsedBy, []templates.Use{{Policy: "plan", Category: "agreement"}}) {
		t.Errorf("installment_due used by %+v, want the plan policy", plan.UsedBy)
	}
	if overdue.Category != "collection" || overdue.LiveAuthor != "forbear" || overdue.LiveAt.IsZero() || overdue.MadeLiveBy != "forbear" {
		t.Errorf("overdue = %+v, want category collection, saved and made live by forbear", overdue)
	}
	b.putTemplate(t, "fresh", `{"category":"agreement","channels":{"inapp":{"en-US":{"title":"Hi","body":"{{.Borrower.Name}}"}}}}`)
	b.putTemplate(t, "fresh", `{"channels":{"inapp":{"en-US":{"title":"Hello","body":"{{.Borrower.Name}}"}}}}`)
	if r := b.post(t, "/v1/templates/fresh/rollback", tokAdmin, `{"version":1}`); r.status != http.StatusOK {
		t.Fatalf("rollback: %d %s", r.status, r.body)
	}
	fresh := list()["fresh"]
	if fresh.Live != 1 || fresh.Category != "agreement" || fresh.LiveAuthor != "ops" || fresh.MadeLiveBy != "root" ||
		fresh.MadeLiveAt.Before(fresh.LiveAt) || fresh.UsedBy == nil || len(fresh.UsedBy) != 0 {
		t.Errorf("fresh after a rollback by root = %+v, want v1 (agreement, saved by ops) made live by root, used by no policy", fresh)
	}
}
