package httpapi_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/support"
	"github.com/forbear/forbear/internal/testkit"
)

// event is one CloudEvent of type typ with data.
func event(id, typ, data string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"lender-backend","type":%q,"data":%s}`, id, typ, data)
}

// exportBorrower gives borrower id a history: a loan, an agreement made
// and broken, a mute added and lifted by support, an SMS opt-out and a
// cease request (in force), and two delivery records as a worker writes
// them (rendered text, template version, reason).
func exportBorrower(t *testing.T, b *bundle, id string) (sent, suppressed domain.Delivery) {
	t.Helper()
	for _, ev := range []string{
		loanEvent("ev-l-"+id, id, "L-"+id, "2030-01-15"),
		event("ev-a-"+id, "agreement.activated", `{"borrower_id":"`+id+`","agreement_id":"A-`+id+`","kind":"settlement","loan_ids":["L-`+id+`"]}`),
		event("ev-b-"+id, "agreement.broken", `{"borrower_id":"`+id+`","agreement_id":"A-`+id+`"}`),
	} {
		if r := b.post(t, "/v1/events", tokPublisher, ev); r.status != http.StatusOK {
			t.Fatalf("event: %d %s", r.status, r.body)
		}
	}
	r := b.post(t, "/v1/borrowers/"+id+"/mutes", tokSupport, `{"channels":["voice"],"reason":"complaint by phone"}`)
	muteID := decode[domain.Mute](t, r).ID
	if r := b.do(t, http.MethodDelete, "/v1/borrowers/"+id+"/mutes/"+muteID, tokSupport, nil, ""); r.status != http.StatusNoContent {
		t.Fatalf("lift the mute: %d %s", r.status, r.body)
	}
	for _, ev := range []string{
		event("ev-o-"+id, "borrower.opted_out", `{"borrower_id":"`+id+`","channel":"sms"}`),
		event("ev-c-"+id, "borrower.ceased", `{"borrower_id":"`+id+`","reason":"asked in writing"}`),
	} {
		if r := b.post(t, "/v1/events", tokPublisher, ev); r.status != http.StatusOK {
			t.Fatalf("event: %d %s", r.status, r.body)
		}
	}
	ctx := testkit.Context(t, time.Minute)
	at := time.Date(2030, 1, 16, 9, 0, 0, 0, time.UTC)
	sent = domain.Delivery{ID: "L-" + id + "/overdue/0/sms", BorrowerID: id, LoanID: "L-" + id, Channel: domain.SMS, Template: "overdue",
		TemplateVersion: 3, Category: domain.Collection, Step: "overdue", Status: domain.Sent, To: "+8613800000000", At: at, ProviderRef: "SM1"}
	sent.SetText("", "Hi, loan L-"+id+" is overdue, \"please\" pay. Reply STOP")
	suppressed = sent
	suppressed.ID, suppressed.Status, suppressed.Reason, suppressed.ProviderRef = "L-"+id+"/overdue/1/sms", domain.Suppressed, "opt_out:sms", ""
	suppressed.At = at.Add(72 * time.Hour)
	for _, d := range []domain.Delivery{sent, suppressed} {
		if err := b.app.Audit().Record(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	return sent, suppressed
}

// TestBorrowerExportJSON: the JSON export is one document with the
// profile, the suppressions in force, every change of suppressions with
// who made it and when, and every delivery record with its text, template
// version and reason, oldest first.
func TestBorrowerExportJSON(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.addBorrower(t, "b-exp")
	sent, suppressed := exportBorrower(t, b, "b-exp")

	r := b.get(t, "/v1/borrowers/b-exp/export?format=json", tokSupport)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("export: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, ".json") {
		t.Errorf("Content-Disposition %q, want an attachment named .json", cd)
	}
	doc := decode[support.Export](t, r)
	if doc.Borrower.ID != "b-exp" || doc.Borrower.Name != "Borrower b-exp" || len(doc.Cases) != 1 {
		t.Errorf("profile %+v with %d cases", doc.Borrower, len(doc.Cases))
	}
	if doc.Suppressions.Ceased == nil || len(doc.Suppressions.OptOuts) != 1 || len(doc.Suppressions.Mutes) != 0 || len(doc.Suppressions.Holds) != 0 {
		t.Errorf("suppressions in force %+v, want the cease and the SMS opt-out", doc.Suppressions)
	}
	if len(doc.Deliveries) != 2 || doc.Deliveries[0].ID != sent.ID || doc.Deliveries[1].ID != suppressed.ID {
		t.Fatalf("deliveries %+v, want the two records oldest first", doc.Deliveries)
	}
	if d := doc.Deliveries[0]; d.Text != sent.Text || d.TemplateVersion != 3 || d.ProviderRef != "SM1" {
		t.Errorf("sent record %+v", d)
	}
	if d := doc.Deliveries[1]; d.Reason != "opt_out:sms" || d.Status != domain.Suppressed {
		t.Errorf("suppressed record %+v", d)
	}
	type change struct{ action, kind, by string }
	var got []change
	for _, c := range doc.SuppressionHistory {
		got = append(got, change{c.Action, c.Kind, c.By})
		if c.At.IsZero() || c.BorrowerID != "b-exp" {
			t.Errorf("change %+v without a time or borrower", c)
		}
	}
	want := []change{
		{"added", "agreement", "event ev-a-b-exp from lender-backend"},
		{"removed", "agreement", "event ev-b-b-exp from lender-backend"},
		{"added", "mute", "desk"},
		{"removed", "mute", "desk"},
		{"added", "opt_out", "event ev-o-b-exp from lender-backend"},
		{"added", "ceased", "event ev-c-b-exp from lender-backend"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("suppression history\n got %v\nwant %v", got, want)
	}
	for _, c := range doc.SuppressionHistory {
		if c.Kind == "mute" && (c.Reason != "complaint by phone" || !slices.Equal(c.Channels, []domain.Channel{domain.Voice})) {
			t.Errorf("mute change %+v lost its reason or channels", c)
		}
		if c.Kind == "agreement" && !slices.Equal(c.LoanIDs, []string{"L-b-exp"}) {
			t.Errorf("agreement change %+v lost its loans", c)
		}
	}

	if r := b.get(t, "/v1/borrowers/b-exp/export", tokSupport); r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("export without a format: %d %s, want JSON", r.status, r.header.Get("Content-Type"))
	}
}

// TestBorrowerExportCSV: the CSV export is one row per record under the
// documented header: the suppressions in force, their history, then the
// deliveries with text, template version and reason.
func TestBorrowerExportCSV(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.addBorrower(t, "b-csv")
	sent, suppressed := exportBorrower(t, b, "b-csv")

	r := b.get(t, "/v1/borrowers/b-csv/export?format=csv", tokSupport)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, r.body)
	}
	if !slices.Equal(rows[0], support.CSVHeader) {
		t.Fatalf("header %v, want %v", rows[0], support.CSVHeader)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	kinds := map[string]int{}
	var deliveries [][]string
	var history, inForce []string
	for _, row := range rows[1:] {
		if len(row) != len(support.CSVHeader) {
			t.Fatalf("row %v has %d fields, want %d", row, len(row), len(support.CSVHeader))
		}
		kinds[row[col["record"]]]++
		switch row[col["record"]] {
		case "delivery":
			deliveries = append(deliveries, row)
		case "suppression_change":
			if row[col["at"]] == "" {
				t.Errorf("change row %v without a time", row)
			}
			history = append(history, row[col["action"]]+" "+row[col["suppression"]]+" by "+row[col["by"]])
		case "suppression":
			inForce = append(inForce, row[col["action"]]+" "+row[col["suppression"]]+" "+row[col["channel"]])
		}
	}
	if kinds["suppression"] != 2 || kinds["suppression_change"] != 6 || kinds["delivery"] != 2 {
		t.Errorf("rows by record: %v, want 2 suppressions in force, 6 changes, 2 deliveries", kinds)
	}
	if len(deliveries) == 2 {
		d := deliveries[0]
		if d[col["reminder_id"]] != sent.ID || d[col["text"]] != sent.Text || d[col["template_version"]] != "3" ||
			d[col["status"]] != "sent" || d[col["at"]] != "2030-01-16T09:00:00Z" {
			t.Errorf("sent row %v", d)
		}
		if d := deliveries[1]; d[col["reminder_id"]] != suppressed.ID || d[col["reason"]] != "opt_out:sms" {
			t.Errorf("suppressed row %v", d)
		}
	}
	wantHistory := []string{
		"added agreement by event ev-a-b-csv from lender-backend",
		"removed agreement by event ev-b-b-csv from lender-backend",
		"added mute by desk",
		"removed mute by desk",
		"added opt_out by event ev-o-b-csv from lender-backend",
		"added ceased by event ev-c-b-csv from lender-backend",
	}
	if !slices.Equal(history, wantHistory) {
		t.Errorf("history rows\n got %q\nwant %q", history, wantHistory)
	}
	slices.Sort(inForce)
	if want := []string{"in_force ceased ", "in_force opt_out sms"}; !slices.Equal(inForce, want) {
		t.Errorf("suppressions in force %q, want %q", inForce, want)
	}
}

// TestBorrowerExportRefusals: an unknown borrower is a 404 in either
// format, an unknown format a 400 naming it, and only support (or admin)
// may export.
func TestBorrowerExportRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.addBorrower(t, "b-ref")
	for _, format := range []string{"json", "csv"} {
		e := wantError(t, b.get(t, "/v1/borrowers/nobody/export?format="+format, tokSupport), http.StatusNotFound)
		if e.Error.Field != "id" {
			t.Errorf("unknown borrower (%s): %+v", format, *e.Error)
		}
	}
	if e := wantError(t, b.get(t, "/v1/borrowers/b-ref/export?format=xml", tokSupport), http.StatusBadRequest); e.Error.Field != "format" {
		t.Errorf("format xml: %+v", *e.Error)
	}
	wantError(t, b.get(t, "/v1/borrowers/b-ref/export", tokOps), http.StatusForbidden)
}
