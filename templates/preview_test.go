package templates

import (
	"errors"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

func TestPreviewContext(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, 30*time.Second)
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 4, 10, 12, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.PutBorrower(ctx, domain.Borrower{ID: "b-1", Name: "Li Lei", Locale: "zh-CN", LoanIDs: []string{"L-paid", "L-open"}}))
	must(st.PutCase(ctx, domain.Case{LoanID: "L-paid", BorrowerID: "b-1", DueDate: "2026-01-01", AmountDue: "10.00", Currency: "CNY", Status: domain.LoanPaid}))
	must(st.PutCase(ctx, domain.Case{LoanID: "L-open", BorrowerID: "b-1", DueDate: "2026-04-05", AmountDue: "99.00", Currency: "CNY", AgreementID: "agr-1"}))
	must(st.PutAgreement(ctx, domain.Agreement{ID: "agr-1", BorrowerID: "b-1", Kind: "installment", LoanIDs: []string{"L-open"},
		Installments: []domain.Installment{{DueDate: "2026-04-01", Amount: "33.00"}, {DueDate: "2026-05-01", Amount: "34.00"}}}))
	must(st.PutBorrower(ctx, domain.Borrower{ID: "b-new", Name: "New Person"}))

	tests := []struct {
		name       string
		recs       Records
		borrower   string
		locale     string
		wantLocale string
		wantErr    error
		check      func(t *testing.T, c Context)
	}{
		{name: "sample", recs: st, wantLocale: "en-US", check: func(t *testing.T, c Context) {
			if c.Borrower.Name != Sample("en-US").Borrower.Name {
				t.Errorf("borrower %+v, want the sample", c.Borrower)
			}
		}},
		{name: "sample needs no records", locale: "zh-CN", wantLocale: "zh-CN"},
		{name: "the open case and its next instalment, in the borrower's locale", recs: st, borrower: "b-1", wantLocale: "zh-CN",
			check: func(t *testing.T, c Context) {
				if c.Loan.ID != "L-open" || c.Case.DaysPastDue != 5 || c.Agreement.NextDueDate != "2026-05-01" || c.Agreement.NextAmount != "34.00" {
					t.Errorf("context %+v", c)
				}
			}},
		{name: "the locale asked for wins", recs: st, borrower: "b-1", locale: "en-US", wantLocale: "en-US"},
		{name: "no case yet: the sample loan with the borrower's name", recs: st, borrower: "b-new", wantLocale: "en-US",
			check: func(t *testing.T, c Context) {
				if c.Borrower.Name != "New Person" || c.Loan.ID != Sample("").Loan.ID {
					t.Errorf("context %+v", c)
				}
			}},
		{name: "unknown borrower", recs: st, borrower: "nobody", wantErr: ErrUnknownBorrower},
		{name: "no records", borrower: "b-1", wantErr: ErrUnknownBorrower},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, loc, err := PreviewContext(ctx, tc.recs, tc.borrower, tc.locale, now, time.UTC)
			if !errors.Is(err, tc.wantErr) || tc.wantErr == nil && err != nil {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if loc != tc.wantLocale {
				t.Errorf("locale %q, want %q", loc, tc.wantLocale)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}
