package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit"
)

// TestAuditRetentionE2E: with the default audit.retention (three years), the
// daily run removes every record of a borrower idle for longer, and keeps
// every record, the first SMS included, of one whose suppressions changed
// since; with audit.retention 0 nothing goes however old.
func TestAuditRetentionE2E(t *testing.T) {
	t.Parallel()
	const year = 365 * 24 * time.Hour
	tests := []struct {
		name      string
		retention time.Duration
		wantIdle  bool // the idle borrower's records are kept
	}{
		{name: "default three years", retention: config.DefaultRetention},
		{name: "0 keeps forever", retention: 0, wantIdle: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testkit.Context(t, 2*time.Minute)
			clk := clock.NewFake(time.Now())
			w := newWorld(t)
			cfg := w.config(t, 0, "sms")
			cfg.Audit.Retention = config.Age(tt.retention)
			a := w.startWithClock(t, cfg, "A", clk)
			base := "http://" + a.Addr()
			loadBorrowers(t, base, 2, 0)
			waitFor(t, 30*time.Second, "both SMS in the trail", func() bool {
				_, ok0 := withStatus(deliveries(t, base, "b0"), domain.Sent)
				_, ok1 := withStatus(deliveries(t, base, "b1"), domain.Sent)
				return ok0 && ok1
			})
			count := func(borrower string) uint64 {
				n, err := a.Audit().CountRecords(ctx, borrower)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			idleBefore := count("b0")

			// Two years on, support mutes b1: activity on b1's records.
			clk.Advance(2 * year)
			if status, body := post(t, base+"/v1/borrowers/b1/mutes", map[string]any{"reason": "dispute"}); status != http.StatusCreated {
				t.Fatalf("mute: %d %s", status, body)
			}
			activeBefore := count("b1")

			// Three years and two days after b0's last record.
			clk.Advance(year + 48*time.Hour)
			if tt.retention == 0 {
				if ran, r, err := a.Retention().RunDue(ctx); err != nil || ran {
					t.Fatalf("retention 0: ran %v, %+v, %v; want no run", ran, r, err)
				}
			} else {
				// The instance's own first check may hold the claim for a
				// moment.
				waitFor(t, 30*time.Second, "a retention run", func() bool {
					ran, r, err := a.Retention().RunDue(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if ran && r.Purged != 1 {
						t.Errorf("run report %+v, want one borrower purged", r)
					}
					return ran
				})
			}
			wantIdle := uint64(0)
			if tt.wantIdle {
				wantIdle = idleBefore
			}
			if n := count("b0"); n != wantIdle {
				t.Errorf("idle borrower has %d records, want %d (of %d)", n, wantIdle, idleBefore)
			}
			if n := count("b1"); n != activeBefore {
				t.Errorf("borrower active two years ago has %d records, want all %d", n, activeBefore)
			}
			if _, ok := withStatus(deliveries(t, base, "b1"), domain.Sent); !ok {
				t.Errorf("the active borrower's first SMS record is gone")
			}
		})
	}
}
