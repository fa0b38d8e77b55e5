package app_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/stats"
)

// consoleNumber is the text of the element with data-testid id on a page,
// "" when the page has none.
func consoleNumber(page, id string) string {
	m := regexp.MustCompile(`data-testid="` + regexp.QuoteMeta(id) + `">([^<]*)<`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestConsoleDashboardShowsTheAPIsFigures: an instance's console
// dashboard (open mode, no sign-in) shows what its GET /v1/stats answers:
// the records of its sends by channel and status, and itself as the
// instance up that holds the sweep lease.
func TestConsoleDashboardShowsTheAPIsFigures(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.startFolding(t, w.config(t, 0, "sms"), "A")
	base := "http://" + a.Addr()
	loadBorrowers(t, base, 3, 0)
	waitFor(t, 60*time.Second, "three SMS", func() bool { return len(w.twilio.Messages()) == 3 })
	var s stats.Snapshot
	waitFor(t, 60*time.Second, "the six records counted and A sweeping", func() bool {
		s = dashboard(t, base)
		return s.Deliveries.Last24h.Total == 6 && s.SweepLease != nil
	})
	day := s.Deliveries.Last24h
	want := map[string]string{
		"count-24h-sms-queued": fmt.Sprint(day.ByChannel["sms"]["queued"]),
		"count-24h-sms-sent":   fmt.Sprint(day.ByChannel["sms"]["sent"]),
		"count-24h-all":        fmt.Sprint(day.Total),
		"count-7d-all":         fmt.Sprint(s.Deliveries.Last7d.Total),
		"instances-up":         fmt.Sprint(len(s.Instances)),
		"queue-sms":            fmt.Sprint(s.QueueDepth["sms"]),
	}
	if want["count-24h-sms-sent"] != "3" || want["instances-up"] != "1" {
		t.Fatalf("the API answers %v, want three SMS sent by one instance", want)
	}
	// The lease is renewed at each sweep: a read between two may find it
	// lapsed, so the page is read again until it names A too.
	for deadline := time.Now().Add(30 * time.Second); ; {
		status, body := do(t, http.MethodGet, base+"/console/", "", nil)
		if status != http.StatusOK {
			t.Fatalf("GET /console/: %d %s", status, body)
		}
		page := string(body)
		var diff []string
		for id, n := range want {
			if got := consoleNumber(page, id); got != n {
				diff = append(diff, fmt.Sprintf("%s: page %q, API %s", id, got, n))
			}
		}
		if !strings.Contains(page, `data-instance="A" data-sweeps="true"`) {
			diff = append(diff, "A is not marked as the sweep lease holder")
		}
		if len(diff) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard does not show the API's figures: %v", diff)
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
}
