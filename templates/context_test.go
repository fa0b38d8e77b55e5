package templates

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

func TestContextFor(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-03-07 20:00 UTC is already 2026-03-08 in Shanghai.
	now := time.Date(2026, 3, 7, 20, 0, 0, 0, time.UTC)
	c := domain.Case{LoanID: "L-1", AmountDue: "1200.00", Currency: "CNY", DueDate: "2026-03-05"}
	agr := &domain.Agreement{ID: "A-1", Kind: "installment", Installments: []domain.Installment{
		{DueDate: "2026-04-05", Amount: "400.00"}, {DueDate: "2026-05-05", Amount: "400.00"}, {DueDate: "2026-06-05", Amount: "400.01"},
	}}
	tests := []struct {
		name        string
		b           domain.Borrower
		a           *domain.Agreement
		installment int
		zone        *time.Location
		wantDays    int
		wantNext    Agreement
	}{
		{name: "borrower zone", b: domain.Borrower{ID: "b", Timezone: "Asia/Shanghai"}, wantDays: 3},
		{name: "default zone", b: domain.Borrower{ID: "b"}, zone: shanghai, wantDays: 3},
		{name: "UTC without any zone", b: domain.Borrower{ID: "b"}, wantDays: 2},
		{name: "unknown zone falls back", b: domain.Borrower{ID: "b", Timezone: "Mars/Olympus"}, wantDays: 2},
		{name: "third instalment", b: domain.Borrower{ID: "b"}, a: agr, installment: 3, wantDays: 2,
			wantNext: Agreement{ID: "A-1", Kind: "installment", NextDueDate: "2026-06-05", NextAmount: "400.01"}},
		{name: "no instalment picks the first", b: domain.Borrower{ID: "b"}, a: agr, wantDays: 2,
			wantNext: Agreement{ID: "A-1", Kind: "installment", NextDueDate: "2026-04-05", NextAmount: "400.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ContextFor(tt.b, c, tt.a, "overdue", tt.installment, now, tt.zone)
			if got.Case.DaysPastDue != tt.wantDays {
				t.Errorf("DaysPastDue = %d, want %d", got.Case.DaysPastDue, tt.wantDays)
			}
			if got.Agreement != tt.wantNext {
				t.Errorf("Agreement = %+v, want %+v", got.Agreement, tt.wantNext)
			}
			if got.Loan != (Loan{ID: "L-1", AmountDue: "1200.00", Currency: "CNY", DueDate: "2026-03-05"}) || got.Step != "overdue" {
				t.Errorf("Loan, Step = %+v, %q", got.Loan, got.Step)
			}
		})
	}
	if d := DaysPastDue("2026-03-10", time.UTC, now); d != 0 {
		t.Errorf("before the due date: %d days, want 0", d)
	}
}
