package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/stats"
	"github.com/forbear/forbear/internal/testkit"
)

// dashboard reads GET /v1/stats of an instance.
func dashboard(t *testing.T, base string) stats.Snapshot {
	t.Helper()
	status, body := do(t, http.MethodGet, base+"/v1/stats", "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /v1/stats: %d %s", status, body)
	}
	var s stats.Snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func names(in []stats.Instance) []string {
	var out []string
	for _, i := range in {
		out = append(out, i.Name)
	}
	return out
}

// startFolding runs an instance that folds its delivery counts every
// 100ms.
func (w *world) startFolding(t *testing.T, cfg config.Config, name string) *app.App {
	t.Helper()
	ctx := testkit.Context(t, 5*time.Minute)
	a, err := app.New(ctx, cfg, app.Options{NATSURL: w.nats.Server.ClientURL(), Instance: name, Log: quiet(),
		StatsInterval: 100 * time.Millisecond, Version: "test-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = a.Stop(c)
	})
	return a
}

// TestDashboardSumsEveryInstance: instance A sends to five borrowers and
// stops; B, started meanwhile, takes over the sweep lease and sends to
// five more. B's dashboard counts all twenty records (queued and sent, A's
// included, folded by A as it stopped), lists B alone once A's heartbeat
// is gone, and names B as the sweep lease holder.
func TestDashboardSumsEveryInstance(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	audit := watchAudit(t, w.nats.Conn)
	a := w.startFolding(t, cfg, "A")
	baseA := "http://" + a.Addr()
	loadBorrowers(t, baseA, 5, 0)
	waitFor(t, 60*time.Second, "A's five SMS", func() bool { return len(w.twilio.Messages()) == 5 })

	cfgB := w.config(t, 0, "sms")
	b := w.startFolding(t, cfgB, "B")
	baseB := "http://" + b.Addr()
	waitFor(t, 30*time.Second, "both instances listed", func() bool { return len(dashboard(t, baseB).Instances) == 2 })
	if up := dashboard(t, baseA).Instances; up[0].Name != "A" || up[0].Version != "test-1" || up[0].HTTP != a.Addr() || up[1].Name != "B" {
		t.Errorf("instances = %+v, want A (test-1, %s) and B", up, a.Addr())
	}
	stopCtx := testkit.Context(t, 15*time.Second)
	if err := a.Stop(stopCtx); err != nil {
		t.Fatalf("stop A: %v", err)
	}
	if up := names(dashboard(t, baseB).Instances); len(up) != 1 || up[0] != "B" {
		t.Errorf("after A stopped: instances %v, want B alone", up)
	}

	loadBorrowers(t, baseB, 5, 5)
	waitFor(t, 60*time.Second, "B's five SMS", func() bool { return len(w.twilio.Messages()) == 10 })
	byInstance := map[string]int{}
	waitFor(t, 30*time.Second, "the twenty records", func() bool { return len(audit.all()) == 20 })
	for _, d := range audit.all() {
		byInstance[d.Instance]++
	}
	if byInstance["A"] != 10 || byInstance["B"] != 10 {
		t.Fatalf("records by instance %v, want ten each", byInstance)
	}
	var s stats.Snapshot
	waitFor(t, 30*time.Second, "the dashboard to count all twenty records", func() bool {
		s = dashboard(t, baseB)
		return s.Deliveries.Last24h.Total == 20
	})
	day := s.Deliveries.Last24h
	if day.ByChannel["sms"]["queued"] != 10 || day.ByChannel["sms"]["sent"] != 10 || day.ByStatus["sent"] != 10 {
		t.Errorf("last 24h = %+v, want 10 queued and 10 sent SMS", day)
	}
	if s.Deliveries.Last7d.Total != 20 {
		t.Errorf("last 7 days total %d, want 20", s.Deliveries.Last7d.Total)
	}
	var hourly int64
	for _, h := range s.Deliveries.Hourly {
		for _, byStatus := range h.Counts {
			for _, n := range byStatus {
				hourly += n
			}
		}
	}
	if hourly != 20 {
		t.Errorf("hourly counts add up to %d, want 20", hourly)
	}
	if s.SweepLease == nil || s.SweepLease.Holder != "B" {
		t.Errorf("sweep lease = %+v, want B", s.SweepLease)
	}
}

// TestDashboardShowsDeferredAndRefused: at 22:30 in Shanghai an SMS is
// deferred to the stream's message scheduler, and the dashboard lists it
// with when it comes back (after dispatcher.max_defer, 1h); an event
// published on NATS with a bad date is dead-lettered and counted, with
// its reason.
func TestDashboardShowsDeferredAndRefused(t *testing.T) {
	t.Parallel()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	clk := clock.NewFake(time.Date(2026, 11, 23, 22, 30, 0, 0, sh))
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	cfg.Compliance.SendWindow = config.Window{Start: "08:00", End: "21:00"}
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, cfg, "A", clk)
	base := "http://" + a.Addr()
	postBorrower(t, base, "night", "+8613800000097", "night@example.com", "Asia/Shanghai", "2026-11-23")
	waitFor(t, 30*time.Second, "a deferred record", func() bool { return len(recordsFor(audit, "night", domain.Deferred)) > 0 })
	deferredAt := time.Now()

	ctx := testkit.Context(t, time.Minute)
	if _, err := w.nats.JS.Publish(ctx, "forbear.events.loan.updated", []byte(`{"specversion":"1.0","id":"bad-1","source":"test",
		"type":"loan.updated","data":{"borrower_id":"night","loan_id":"L-x","due_date":"2026-13-45","amount_due":"1.00",
		"currency":"USD","status":"overdue"}}`)); err != nil {
		t.Fatal(err)
	}
	var s stats.Snapshot
	waitFor(t, 30*time.Second, "the deferred reminder and the refused event on the dashboard", func() bool {
		s = dashboard(t, base)
		return s.Deferred.Count == 1 && len(s.Deferred.Newest) == 1 && s.Refused.Count == 1
	})
	d := s.Deferred.Newest[0]
	if d.BorrowerID != "night" || d.Channel != domain.SMS || d.ReminderID == "" || d.LoanID != "loan-night" {
		t.Errorf("deferred reminder = %+v", d)
	}
	if d.Until.Before(deferredAt.Add(59*time.Minute)) || d.Until.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("deferred until %s, want about an hour after %s", d.Until, deferredAt)
	}
	bad := s.Refused.Newest[0]
	if bad.EventID != "bad-1" || bad.EventType != "loan.updated" || bad.Field != "data.due_date" || bad.Reason == "" {
		t.Errorf("refused event = %+v, want bad-1 refused for data.due_date", bad)
	}
}
