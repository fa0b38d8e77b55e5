package browsertest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/stats"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/internal/testkit/browser"
)

// pageNumbers reads every number the dashboard marks with a data-testid
// (tiles, totals, queues) and, per chart, the sum of its bars' totals.
const pageNumbers = `(function () {
	var out = {};
	document.querySelectorAll('#summary [data-testid], table[data-testid^="totals-"] [data-testid], #queues [data-testid]').forEach(function (e) {
		out[e.dataset.testid] = e.textContent.trim();
	});
	document.querySelectorAll('figure.dash-chart').forEach(function (f) {
		var sum = 0;
		f.querySelectorAll('g[data-total]').forEach(function (g) { sum += Number(g.dataset.total); });
		out['bars:' + f.id] = String(sum);
	});
	return out;
})()`

// dashboardWants is what the dashboard must show for a GET /v1/stats
// answer, by data-testid (chart sums as "bars:<chart id>").
func dashboardWants(s stats.Snapshot) map[string]string {
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	want := map[string]string{
		"capped-24h":     n(s.Deliveries.Last24h.ByStatus[string(domain.Capped)]),
		"capped-7d":      n(s.Deliveries.Last7d.ByStatus[string(domain.Capped)]),
		"suppressed-24h": n(s.Deliveries.Last24h.ByStatus[string(domain.Suppressed)]),
		"suppressed-7d":  n(s.Deliveries.Last7d.ByStatus[string(domain.Suppressed)]),
		"deferred-now":   strconv.FormatUint(s.Deferred.Count, 10),
		"refused-total":  strconv.FormatUint(s.Refused.Count, 10),
		"instances-up":   strconv.Itoa(len(s.Instances)),
	}
	for span, tot := range map[string]stats.Totals{"24h": s.Deliveries.Last24h, "7d": s.Deliveries.Last7d} {
		want["count-"+span+"-all"] = n(tot.Total)
		for _, st := range domain.Statuses {
			want["count-"+span+"-all-"+string(st)] = n(tot.ByStatus[string(st)])
		}
		for _, ch := range domain.Channels {
			var all int64
			for _, st := range domain.Statuses {
				c := tot.ByChannel[string(ch)][string(st)]
				want["count-"+span+"-"+string(ch)+"-"+string(st)] = n(c)
				all += c
			}
			want["count-"+span+"-"+string(ch)+"-all"] = n(all)
			want["bars:chart-"+span+"-"+string(ch)] = n(all)
		}
	}
	for _, ch := range domain.Channels {
		want["queue-"+string(ch)] = strconv.FormatUint(s.QueueDepth[ch], 10)
	}
	return want
}

// TestDashboardShowsTheAPIsFigures: after two rounds of reminders on every
// channel (the second round's SMS capped) and an event refused on NATS,
// every number of the dashboard, read in the browser by its data-testid,
// is what GET /v1/stats answers, and each chart's bars add up to its
// channel's total.
func TestDashboardShowsTheAPIsFigures(t *testing.T) {
	t.Parallel()
	in := start(t, options{every: time.Hour, channels: []string{"sms", "voice", "email", "inapp"},
		caps: map[string]config.Cap{"sms": {Max: 1, Per: config.Duration(24 * time.Hour)}}})
	in.load(t, liLei(in.today()), hanMeimei(in.today()))
	in.sweep(t)
	in.settle(t)
	in.clock.Advance(time.Hour)
	in.sweep(t)
	in.settle(t)
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if _, err := in.nats.JS.Publish(ctx, store.EventsPrefix+"loan.updated",
		[]byte(`{"specversion":"1.0","id":"bad-1","source":"backend","type":"loan.updated","data":{"borrower_id":"b-li","loan_id":"L-1001","due_date":"someday"}}`)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, settleTimeout, "the bad event refused", func() bool { return in.stats(t).Refused.Count == 1 })

	s := in.stats(t)
	if s.Deliveries.Last24h.ByStatus[string(domain.Capped)] != 2 || s.Deliveries.Last24h.ByChannel["email"]["sent"] != 4 {
		t.Fatalf("the API counts %v, want 2 capped SMS and 4 emails sent", s.Deliveries.Last24h.ByStatus)
	}

	ctx2 := in.signIn(t, opsToken)
	// A figure may move between the API's answer and the page's (the sweep
	// lease, a heartbeat): the page is compared with two equal answers
	// around it, read again until they agree or the deadline passes.
	for deadline := time.Now().Add(settleTimeout); ; {
		before := dashboardWants(in.stats(t))
		browser.Open(t, ctx2, in.base+"/console/", "#summary")
		got := browser.Eval[map[string]string](t, ctx2, pageNumbers)
		after := dashboardWants(in.stats(t))
		var diff []string
		for _, id := range slices.Sorted(maps.Keys(after)) {
			if got[id] != after[id] {
				diff = append(diff, fmt.Sprintf("%s: page %q, API %s", id, got[id], after[id]))
			}
		}
		if len(got) != len(after) {
			diff = append(diff, fmt.Sprintf("the page has %d numbers, want %d", len(got), len(after)))
		}
		switch {
		case maps.Equal(before, after) && len(diff) == 0:
			return
		case time.Now().After(deadline):
			t.Fatalf("the dashboard does not show the API's figures:\n%s", strings.Join(diff, "\n"))
		}
	}
}
