package intake_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// Not parallel: decoding 8 MB is CPU-heavy under -race, and would starve
// the fence tests' short leases.
func TestOversizedNameIsRefusedAtIntake(t *testing.T) {
	body := fmt.Sprintf(`{"specversion":"1.0","id":"e","source":"s","type":"borrower.upserted","data":{"borrower_id":"b","name":%q}}`,
		strings.Repeat("n", 8_000_000))
	_, err := intake.ParseEvents([]byte(body))
	var fe *intake.FieldError
	if !errors.As(err, &fe) || fe.Field != "data.name" {
		t.Fatalf("err = %.200v, want a field error on data.name", err)
	}
	if len(fe.Message) > 300 {
		t.Fatalf("the message echoes the value (%d bytes)", len(fe.Message))
	}
}

func TestManyMutesWithLargeReasonsStillLetAnAgreementThrough(t *testing.T) {
	t.Parallel()
	b := setupLease(t, 5*time.Millisecond) // 200 held mutes, quickly
	ctx := testkit.Context(t, 2*time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1"), loanEvent("e2", "b1", "l1")}); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		_, err := b.intake.AddMute(ctx, "b1", intake.MuteRequest{Channels: []domain.Channel{domain.SMS},
			Reason: strings.Repeat("r", 8<<10)}, "desk")
		var fe *intake.FieldError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("mute %d: %v (want success or a field error, never an internal one)", i, err)
		}
	}
	if err := b.intake.Apply(ctx, []intake.Event{agreementEvent("e3", "b1", "a1", "l1")}); err != nil {
		t.Fatalf("agreement after many mutes: %v", err)
	}
	sup, err := b.state.Suppressions(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sup.Holds) != 1 {
		t.Fatalf("holds = %+v, want the agreement's", sup.Holds)
	}
}

func TestExpiredMutesArePrunedOnWrite(t *testing.T) {
	t.Parallel()
	b := setupLease(t, 5*time.Millisecond)
	ctx := testkit.Context(t, 2*time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1"), loanEvent("e2", "b1", "l1")}); err != nil {
		t.Fatal(err)
	}
	reason := strings.Repeat("r", intake.MaxReasonBytes)
	// More mutes than may be in force at once: without pruning, the cap
	// would refuse the last ones.
	for i := range intake.MaxActiveMutes + 10 {
		until := b.clock.Now().Add(time.Minute)
		if _, err := b.intake.AddMute(ctx, "b1", intake.MuteRequest{Until: &until, Reason: reason}, "desk"); err != nil {
			t.Fatalf("mute %d: %v", i, err)
		}
		b.clock.Advance(2 * time.Minute)
	}
	if err := b.intake.Apply(ctx, []intake.Event{agreementEvent("e3", "b1", "a1", "l1")}); err != nil {
		t.Fatalf("agreement after many mutes: %v", err)
	}
	sup, err := b.state.Suppressions(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sup.Mutes) != 0 {
		t.Fatalf("%d expired mutes kept in the borrower's suppressions", len(sup.Mutes))
	}
}

func TestActiveMutesAreCapped(t *testing.T) {
	t.Parallel()
	b := setupLease(t, 5*time.Millisecond)
	ctx := testkit.Context(t, 2*time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1")}); err != nil {
		t.Fatal(err)
	}
	for i := range intake.MaxActiveMutes {
		if _, err := b.intake.AddMute(ctx, "b1", intake.MuteRequest{Reason: fmt.Sprint("m", i)}, "desk"); err != nil {
			t.Fatalf("mute %d: %v", i, err)
		}
	}
	_, err := b.intake.AddMute(ctx, "b1", intake.MuteRequest{Reason: "one too many"}, "desk")
	var fe *intake.FieldError
	if !errors.As(err, &fe) || fe.Code != intake.CodeLimitReached {
		t.Fatalf("mute over the cap: err = %v, want %s", err, intake.CodeLimitReached)
	}
	// Lifting one makes room again.
	sup, err := b.state.Suppressions(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.intake.DeleteMute(ctx, "b1", sup.Mutes[0].ID, "desk"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.intake.AddMute(ctx, "b1", intake.MuteRequest{Reason: "room again"}, "desk"); err != nil {
		t.Fatalf("mute after a delete: %v", err)
	}
}

func TestBorrowerLoanListIsCapped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	full := domain.Borrower{ID: "b1", Name: "Li Lei"}
	for i := range intake.MaxLoansPerBorrower {
		full.LoanIDs = append(full.LoanIDs, fmt.Sprint("l", i))
	}
	if err := b.state.PutBorrower(ctx, full); err != nil {
		t.Fatal(err)
	}
	err := b.intake.Apply(ctx, []intake.Event{loanEvent("over", "b1", "l-over")})
	var fe *intake.FieldError
	if !errors.As(err, &fe) || fe.Code != intake.CodeLimitReached || fe.Field != "data.loan_id" {
		t.Fatalf("loan over the cap: err = %v, want %s on data.loan_id", err, intake.CodeLimitReached)
	}
	if _, err := b.state.Case(ctx, "l-over"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused loan's case was written (err %v)", err)
	}
	// A loan the borrower already has is still updated.
	if err := b.intake.Apply(ctx, []intake.Event{loanEvent("again", "b1", "l0")}); err != nil {
		t.Fatalf("update of a known loan at the cap: %v", err)
	}
}

func TestMuteRangesAndLimits(t *testing.T) {
	t.Parallel()
	b := setupLease(t, 5*time.Millisecond)
	ctx := testkit.Context(t, time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1")}); err != nil {
		t.Fatal(err)
	}
	far := b.clock.Now().AddDate(11, 0, 0)
	year1 := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		req       intake.MuteRequest
		wantField string
	}{
		{"until too far", intake.MuteRequest{Until: &far, Reason: "x"}, "until"},
		{"until year 1", intake.MuteRequest{Until: &year1, Reason: "x"}, "until"},
		{"reason too long", intake.MuteRequest{Reason: strings.Repeat("x", intake.MaxReasonBytes+1)}, "reason"},
		{"reason with control", intake.MuteRequest{Reason: "a\x00b"}, "reason"},
		{"too many channels", intake.MuteRequest{Channels: []domain.Channel{"sms", "sms", "voice", "email", "inapp"}, Reason: "x"}, "channels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.intake.AddMute(ctx, "b1", tt.req, "desk")
			var fe *intake.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("err = %v, want a field error on %q", err, tt.wantField)
			}
		})
	}
}

func TestParseEventsRangesAndLimits(t *testing.T) {
	t.Parallel()
	envelope := func(typ, data string) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":"e","source":"s","type":%q,"data":%s}`, typ, data)
	}
	loan := func(field, value string) string {
		d := map[string]string{"borrower_id": "b", "loan_id": "l", "due_date": "2026-11-23", "amount_due": "1200.00", "currency": "CNY", "status": "current"}
		d[field] = value
		return envelope("loan.updated", mustJSON(d))
	}
	borrower := func(field string, value any) string {
		d := map[string]any{"borrower_id": "b", "name": "Li Lei", "locale": "zh-CN", "timezone": "Asia/Shanghai"}
		d[field] = value
		return envelope("borrower.upserted", mustJSON(d))
	}
	payment := func(amount, remaining string) string {
		return envelope("payment.received", mustJSON(map[string]string{"borrower_id": "b", "loan_id": "l", "amount": amount, "remaining": remaining}))
	}
	agreement := func(field string, value any) string {
		d := map[string]any{"borrower_id": "b", "agreement_id": "a", "kind": "installment", "loan_ids": []string{"l"},
			"installments": []map[string]string{{"due_date": "2026-12-01", "amount": "600.00"}}}
		d[field] = value
		return envelope("agreement.activated", mustJSON(d))
	}
	many := func(n int, v any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	loanIDs := make([]string, intake.MaxAgreementLoans+1)
	for i := range loanIDs {
		loanIDs[i] = fmt.Sprint("l", i)
	}
	tests := []struct {
		name      string
		body      string
		wantField string // "" means valid
	}{
		{"plain loan", loan("due_date", "2026-11-23"), ""},
		{"due date year 1", loan("due_date", "0001-01-01"), "data.due_date"},
		{"due date 2100", loan("due_date", "2100-01-01"), "data.due_date"},
		{"due date 1999", loan("due_date", "1999-12-31"), "data.due_date"},
		{"due date 2000", loan("due_date", "2000-01-01"), ""},
		{"negative amount", loan("amount_due", "-5.00"), "data.amount_due"},
		{"absurd amount", loan("amount_due", "1000000000000000.00"), "data.amount_due"},
		{"zero amount due", loan("amount_due", "0"), ""},
		{"unknown currency", loan("currency", "XYZ"), "data.currency"},
		{"lower-case currency", loan("currency", "cny"), "data.currency"},
		{"gold is no loan currency", loan("currency", "XAU"), "data.currency"},
		{"euro", loan("currency", "EUR"), ""},
		{"long loan id", loan("loan_id", strings.Repeat("l", 129)), "data.loan_id"},
		{"loan id with zero-width space", loan("loan_id", "l\u200b1"), "data.loan_id"},
		{"loan id with newline", loan("loan_id", "l\n1"), "data.loan_id"},
		{"long policy", loan("policy", strings.Repeat("p", 129)), "data.policy"},
		{"payment of zero", payment("0.00", "10.00"), "data.amount"},
		{"negative payment", payment("-1", "10.00"), "data.amount"},
		{"negative remaining", payment("1", "-10.00"), "data.remaining"},
		{"good payment", payment("1.50", "0"), ""},
		{"zone Factory", borrower("timezone", "Factory"), "data.timezone"},
		{"zone Local", borrower("timezone", "Local"), "data.timezone"},
		{"legacy zone EST5EDT", borrower("timezone", "EST5EDT"), "data.timezone"},
		{"legacy zone US/Eastern", borrower("timezone", "US/Eastern"), "data.timezone"},
		{"zone Etc/GMT+5", borrower("timezone", "Etc/GMT+5"), "data.timezone"},
		{"zone UTC", borrower("timezone", "UTC"), ""},
		{"zone America/Argentina/Buenos_Aires", borrower("timezone", "America/Argentina/Buenos_Aires"), ""},
		{"long name", borrower("name", strings.Repeat("n", intake.MaxNameBytes+1)), "data.name"},
		{"name with control", borrower("name", "Li\x07Lei"), "data.name"},
		{"long email", borrower("email", strings.Repeat("e", 250)+"@example.com"), "data.email"},
		{"long locale", borrower("locale", "zh-"+strings.Repeat("abcdefgh-", 10)+"x"), "data.locale"},
		{"long zone", borrower("timezone", "Asia/"+strings.Repeat("x", 100)), "data.timezone"},
		{"too many blackouts", borrower("blackouts", many(intake.MaxBlackouts+1, map[string]string{"start": "09:00", "end": "10:00"})), "data.blackouts"},
		{"blackout channels", borrower("blackouts", []any{map[string]any{"start": "09:00", "end": "10:00", "channels": many(5, "sms")}}), "data.blackouts[0].channels"},
		{"empty blackout", borrower("blackouts", []any{map[string]string{"start": "09:00", "end": "09:00"}}), "data.blackouts[0].end"},
		{"blackout starting at 24:00", borrower("blackouts", []any{map[string]string{"start": "24:00", "end": "07:00"}}), "data.blackouts[0].start"},
		{"installment year 1", agreement("installments", []map[string]string{{"due_date": "0001-01-01", "amount": "1"}}), "data.installments[0].due_date"},
		{"negative installment", agreement("installments", []map[string]string{{"due_date": "2026-12-01", "amount": "-1"}}), "data.installments[0].amount"},
		{"too many installments", agreement("installments", many(intake.MaxInstallments+1, map[string]string{"due_date": "2026-12-01", "amount": "1"})), "data.installments"},
		{"too many loans", agreement("loan_ids", loanIDs), "data.loan_ids"},
		{"long event id", strings.Replace(loan("due_date", "2026-11-23"), `"id":"e"`, `"id":"`+strings.Repeat("e", 257)+`"`, 1), "id"},
		{"event id with control", strings.Replace(loan("due_date", "2026-11-23"), `"id":"e"`, `"id":"e\u0001"`, 1), "id"},
		{"long source", strings.Replace(loan("due_date", "2026-11-23"), `"source":"s"`, `"source":"`+strings.Repeat("s", 600)+`"`, 1), "source"},
		{"long type", envelope(strings.Repeat("t", 10_000), `{}`), "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := intake.ParseEvents([]byte(tt.body))
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe *intake.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("err = %.300v, want a field error on %q", err, tt.wantField)
			}
			if len(fe.Message) > 300 {
				t.Fatalf("message of %d bytes echoes the value", len(fe.Message))
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
