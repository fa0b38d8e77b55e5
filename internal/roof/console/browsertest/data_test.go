package browsertest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// round is the time between two sweeps of a populated console, and the
// period of its reminder steps.
const round = 6 * time.Hour

// busyOptions are the options of a console in use: reminders every round
// on every channel but voice, a call a day, at most two SMS a day per
// borrower. start is when the first round is swept.
func busyOptions(start time.Time) options {
	return options{now: start, every: round, callEvery: 24 * time.Hour, channels: []string{"sms", "voice", "email", "inapp"},
		caps: map[string]config.Cap{"sms": {Max: 2, Per: config.Duration(24 * time.Hour)}}}
}

// regulars are the borrowers of a console in use from its first round;
// Wang Fang shares Li Lei's phone number (a family's).
func regulars(due string) []borrower {
	return []borrower{
		{ID: "b-zhang", Name: "张伟", Locale: "zh-CN", Zone: "Asia/Shanghai", Phone: "+8613900000003",
			Email: "zhangwei@example.com", Loan: "L-1003", Amount: "3400.00", Currency: "CNY", Due: due},
		{ID: "b-wang", Name: "王芳", Locale: "zh-CN", Zone: "Asia/Shanghai", Phone: "+8613800000001",
			Email: "wangfang@example.com", Loan: "L-1004", Amount: "528.80", Currency: "CNY", Due: due},
		{ID: "b-chen", Name: "Chen Jie", Locale: "en-US", Zone: "Asia/Shanghai", Phone: "+8613700000005",
			Email: "chenjie@example.com", Loan: "L-1005", Amount: "2150.00", Currency: "CNY", Due: due},
	}
}

// populated is what populate made: Li Lei's mute.
type populated struct {
	muteID, borrowerID string
}

// populate gives an instance what a console in use shows: rounds sweeps a
// round apart (each settled) with loans due three days before the first;
// the regulars from the first round, Li Lei and Han Meimei for the last
// three only (their pages stay short), Li Lei's calls muted and Han
// Meimei on an instalment agreement after their first round, and an event
// refused on NATS. The fake clock ends at the last round.
func (in *instance) populate(t *testing.T, rounds int) populated {
	t.Helper()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	due := in.clock.Now().In(sh).AddDate(0, 0, -3).Format(time.DateOnly)
	join := max(0, rounds-3)
	var p populated
	for r := range rounds {
		if r > 0 {
			in.clock.Advance(round)
		}
		if r == 0 {
			in.load(t, regulars(due)...)
		}
		switch r {
		case join:
			in.load(t, liLei(due), hanMeimei(due))
		case join + 1:
			until := in.clock.Now().Add(10 * 24 * time.Hour)
			var m domain.Mute
			if status := in.api(t, http.MethodPost, "/v1/borrowers/b-li/mutes", supportToken,
				map[string]any{"channels": []string{"voice"}, "until": until, "reason": "Works nights: no calls until the 15th"}, &m); status != http.StatusCreated {
				t.Fatalf("mute: %d", status)
			}
			p.muteID, p.borrowerID = m.ID, "b-li"
			next := in.clock.Now().In(sh)
			in.publish(t, event("agreement.activated", map[string]any{"borrower_id": "b-han", "agreement_id": "A-2001",
				"kind": "installment", "loan_ids": []string{"L-1002"}, "installments": []map[string]string{
					{"due_date": next.AddDate(0, 0, 7).Format(time.DateOnly), "amount": "430.25"},
					{"due_date": next.AddDate(0, 1, 7).Format(time.DateOnly), "amount": "430.25"}}}))
		}
		in.sweep(t)
		in.settle(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if _, err := in.nats.JS.Publish(ctx, store.EventsPrefix+"loan.updated",
		[]byte(`{"specversion":"1.0","id":"feed-77","source":"backend","type":"loan.updated","data":{"borrower_id":"b-chen","loan_id":"L-1005","due_date":"2026-02-30","amount_due":"2150.00","currency":"CNY","status":"overdue"}}`)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, settleTimeout, "the bad event refused", func() bool { return in.stats(t).Refused.Count == 1 })
	return p
}
