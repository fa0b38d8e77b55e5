package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
)

// TestServiceRefusesBadInput: what POST /v1/simulate refuses, and the
// field each refusal names. The bounds: 1 to MaxRequestDays days, at most
// MaxRequestBorrowers borrowers given or generated, MaxSample sampled,
// MaxKeep schedules.
func TestServiceRefusesBadInput(t *testing.T) {
	t.Parallel()
	defs, err := bundledDefs()
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Config: config.Default(), Templates: defs, Clock: clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))}
	const header = "borrower_id,loan_id,due_date,amount_due,currency,status\n"
	csvText := func(lines ...string) string {
		data, _ := json.Marshal(header + strings.Join(lines, "\n") + "\n")
		return string(data)
	}
	var many strings.Builder
	many.WriteString(`{"borrowers":[`)
	for i := range MaxRequestBorrowers + 1 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"borrower_id":"b%d","loans":[{"loan_id":"L%d","due_date":"2026-12-01","amount_due":"1","currency":"USD","status":"current"}]}`, i, i)
	}
	many.WriteString("]}")
	var manyCSV strings.Builder
	manyCSV.WriteString(header)
	for i := range MaxRequestBorrowers + 1 {
		fmt.Fprintf(&manyCSV, "b%d,L%d,2026-12-01,1,USD,current\n", i, i)
	}
	manyCSVText, _ := json.Marshal(manyCSV.String())
	tests := []struct {
		name, body string
		wantField  string
	}{
		{name: "no days", body: `{"days":-1,"generate":{"borrowers":1}}`, wantField: "days"},
		{name: "too many days", body: `{"days":367,"generate":{"borrowers":1}}`, wantField: "days"},
		{name: "bad start", body: `{"start":"01/12/2026","generate":{"borrowers":1}}`, wantField: "start"},
		{name: "no population", body: `{"days":3}`, wantField: "population"},
		{name: "two populations", body: `{"generate":{"borrowers":1},"sample":3}`, wantField: "population"},
		{name: "too many generated", body: `{"generate":{"borrowers":10001}}`, wantField: "generate.borrowers"},
		{name: "none generated", body: `{"generate":{"borrowers":0}}`, wantField: "generate.borrowers"},
		{name: "too many sampled", body: `{"sample":1001}`, wantField: "sample"},
		{name: "no live state", body: `{"sample":10}`, wantField: "sample"},
		{name: "too many given (JSON)", body: `{"population":` + many.String() + `}`, wantField: "population.borrowers"},
		{name: "too many given (CSV)", body: `{"population":` + string(manyCSVText) + `}`, wantField: "population.line[10002].borrower_id"},
		{name: "bad CSV row", body: `{"population":` + csvText("b1,L1,2026-12-01,1,USD,current", "b2,L2,2026-13-01,1,USD,overdue") + `}`, wantField: "population.line[3].due_date"},
		{name: "bad CSV column", body: `{"population":` + csvText("b1,L1,2026-12-01,1,USD") + `}`, wantField: "population.line[2].line"},
		{name: "bad JSON borrower", body: `{"population":{"borrowers":[{"borrower_id":"b1","phone":"12","loans":[]}]}}`, wantField: "population.borrowers[0].phone"},
		{name: "population of another type", body: `{"population":[1,2]}`, wantField: "population"},
		{name: "unknown preset", body: `{"generate":{"borrowers":1},"variant":{"compliance":{"preset":"nope"}}}`, wantField: "variant.compliance.preset"},
		{name: "unknown variant key", body: `{"generate":{"borrowers":1},"variant":{"complience":{}}}`, wantField: "variant"},
		{name: "share of answered calls", body: `{"generate":{"borrowers":1},"call_answered":1.5}`, wantField: "call_answered"},
		{name: "too many schedules", body: `{"generate":{"borrowers":1},"borrowers":[` + strings.Repeat(`"b",`, MaxKeep) + `"b"]}`, wantField: "borrowers"},
	}
	for _, tt := range tests {
		var req Request
		if err := json.Unmarshal([]byte(tt.body), &req); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		_, err := svc.Do(context.Background(), req)
		var re *RequestError
		if !errors.As(err, &re) || re.Field != tt.wantField {
			t.Errorf("%s: %v, want a RequestError naming %q", tt.name, err, tt.wantField)
		}
	}

	// A CSV population as text runs as its file would.
	var req Request
	if err := json.Unmarshal([]byte(`{"days":3,"start":"2026-12-01","population":`+csvText("b1,L1,2026-11-28,1,USD,overdue")+`}`), &req); err != nil {
		t.Fatal(err)
	}
	ans, err := svc.Do(context.Background(), req)
	if err != nil || ans.Run.Borrowers != 1 {
		t.Fatalf("CSV population: %+v %v, want a run of one borrower", ans.Run, err)
	}
}

// TestOneDryRunAtATime: a dry run asked for while another runs on the
// instance is refused with ErrBusy, not run beside it; once the first has
// finished, the next runs.
func TestOneDryRunAtATime(t *testing.T) {
	t.Parallel()
	defs, err := bundledDefs()
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Config: config.Default(), Templates: defs, Clock: clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))}
	req := Request{Days: 2, Generate: &GenerateRequest{Borrowers: 5, Seed: 1}}
	svc.running.Lock() // a run in progress
	if _, err := svc.Run(context.Background(), req, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("a second dry run: %v, want ErrBusy", err)
	}
	svc.running.Unlock()
	if ans, err := svc.Run(context.Background(), req, nil); err != nil || ans.Run.Borrowers != 5 {
		t.Fatalf("after the first finished: %+v %v, want a run of 5 borrowers", ans.Run, err)
	}
}
