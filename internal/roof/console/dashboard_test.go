package console_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/stats"
)

// TestDashboardShowsWhatTheAPIAnswers: every number of the dashboard
// (totals by channel and status for 24 hours and 7 days, each bar of each
// chart, capped and suppressed, deferred reminders and until when,
// refused events, queue depth, instances and the sweep lease holder)
// equals GET /v1/stats for the same data.
func TestDashboardShowsWhatTheAPIAnswers(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	w := newDashWorld(t, now, staffTokens)
	dashboardData(t, w, now)

	api := w.api(t, "t-ops")
	// The data is there for the page to show: a dashboard of zeros would
	// equal an API of zeros.
	if api.Deliveries.Last24h.ByChannel["sms"]["sent"] != 3 || api.Deliveries.Last24h.ByStatus["capped"] != 3 ||
		api.Deliveries.Last7d.Total != 18 || api.Deferred.Count != 2 || api.Refused.Count != 2 ||
		api.QueueDepth[domain.Email] != 3 || len(api.Instances) != 2 || api.SweepLease == nil {
		t.Fatalf("the API does not answer the data set up: %+v", api)
	}
	b := w.browser(t)
	p := b.signIn(t, "t-ops")
	if p.status != http.StatusOK {
		t.Fatalf("dashboard: %d\n%s", p.status, p.body)
	}
	els := p.elements()

	for span, totals := range map[string]stats.Totals{"24h": api.Deliveries.Last24h, "7d": api.Deliveries.Last7d} {
		for _, ch := range domain.Channels {
			var all int64
			for _, st := range domain.Statuses {
				want := totals.ByChannel[string(ch)][string(st)]
				all += want
				if got := number(t, els, fmt.Sprintf("count-%s-%s-%s", span, ch, st)); got != want {
					t.Errorf("%s %s %s: page %d, API %d", span, ch, st, got, want)
				}
			}
			if got := number(t, els, fmt.Sprintf("count-%s-%s-all", span, ch)); got != all {
				t.Errorf("%s %s all: page %d, API's sum %d", span, ch, got, all)
			}
		}
		for _, st := range domain.Statuses {
			if got, want := number(t, els, fmt.Sprintf("count-%s-all-%s", span, st)), totals.ByStatus[string(st)]; got != want {
				t.Errorf("%s all %s: page %d, API %d", span, st, got, want)
			}
		}
		if got := number(t, els, "count-"+span+"-all"); got != totals.Total {
			t.Errorf("%s total: page %d, API %d", span, got, totals.Total)
		}
		for _, st := range []string{"capped", "suppressed"} {
			if got := number(t, els, st+"-"+span); got != totals.ByStatus[st] {
				t.Errorf("%s %s tile: page %d, API %d", st, span, got, totals.ByStatus[st])
			}
		}
	}

	// The 24-hour charts: a row and a bar per hour of the API's.
	hourly := api.Deliveries.Hourly
	for _, h := range hourly[len(hourly)-24:] {
		key := h.Start.UTC().Format("2006-01-02T15Z")
		for _, ch := range domain.Channels {
			var all int64
			for _, st := range domain.Statuses {
				want := h.Counts[string(ch)][string(st)]
				all += want
				if got := number(t, els, fmt.Sprintf("hourly-%s-%s-%s", ch, key, st)); got != want {
					t.Errorf("hour %s %s %s: page %d, API %d", key, ch, st, got, want)
				}
			}
			bar := els[fmt.Sprintf("bar-24h-%s-%s", ch, key)]
			if len(bar) != 1 || bar[0].attr("data-total") != strconv.FormatInt(all, 10) {
				t.Errorf("bar of hour %s %s: %+v, want total %d", key, ch, bar, all)
			}
		}
	}
	// The 7-day charts: each day's row sums the API's hours from its
	// data-from to its data-to, and the days cover the 168 hours.
	for _, ch := range domain.Channels {
		rows := rowsWithPrefix(els, "daily-"+string(ch)+"-")
		if len(rows) < 7 || len(rows) > 8 {
			t.Fatalf("%s: %d days, want 7 or 8 (the span's first and last partial)", ch, len(rows))
		}
		covered := 0
		for _, row := range rows {
			from, err1 := time.Parse(time.RFC3339, row.el.attr("data-from"))
			to, err2 := time.Parse(time.RFC3339, row.el.attr("data-to"))
			if err1 != nil || err2 != nil {
				t.Fatalf("day %s: data-from %q, data-to %q", row.id, row.el.attr("data-from"), row.el.attr("data-to"))
			}
			for _, st := range domain.Statuses {
				var want int64
				for _, h := range hourly {
					if !h.Start.Before(from) && h.Start.Before(to) {
						want += h.Counts[string(ch)][string(st)]
					}
				}
				if got := number(t, els, row.id+"-"+string(st)); got != want {
					t.Errorf("%s %s: page %d, API's hours %d", row.id, st, got, want)
				}
			}
			covered += int(to.Sub(from) / time.Hour)
		}
		if covered != stats.Hours {
			t.Errorf("%s: the days cover %d hours, want %d", ch, covered, stats.Hours)
		}
	}

	if got := number(t, els, "deferred-now"); got != int64(api.Deferred.Count) {
		t.Errorf("deferred: page %d, API %d", got, api.Deferred.Count)
	}
	rows := els["deferred-row"]
	untils := els["deferred-until"]
	if len(rows) != len(api.Deferred.Newest) || len(untils) != len(rows) {
		t.Fatalf("deferred rows: page %d (%d times), API %d", len(rows), len(untils), len(api.Deferred.Newest))
	}
	for i, d := range api.Deferred.Newest {
		if rows[i].attr("data-reminder") != d.ReminderID {
			t.Errorf("deferred row %d: %q, API %q", i, rows[i].attr("data-reminder"), d.ReminderID)
		}
		if at, err := time.Parse(time.RFC3339, untils[i].attr("datetime")); err != nil || !at.Equal(d.Until) {
			t.Errorf("deferred row %d until %q, API %s", i, untils[i].attr("datetime"), d.Until)
		}
	}
	if got := number(t, els, "refused-total"); got != int64(api.Refused.Count) {
		t.Errorf("refused: page %d, API %d", got, api.Refused.Count)
	}
	reasons := els["refused-reason"]
	if len(reasons) != len(api.Refused.Newest) {
		t.Fatalf("refused reasons: page %d, API %d", len(reasons), len(api.Refused.Newest))
	}
	for i, dl := range api.Refused.Newest {
		if reasons[i].text != dl.Reason || els["refused-event"][i].text != dl.EventID {
			t.Errorf("refused row %d: %q %q, API %q %q", i, els["refused-event"][i].text, reasons[i].text, dl.EventID, dl.Reason)
		}
	}
	for _, ch := range domain.Channels {
		if got := number(t, els, "queue-"+string(ch)); got != int64(api.QueueDepth[ch]) {
			t.Errorf("queue %s: page %d, API %d", ch, got, api.QueueDepth[ch])
		}
	}
	names := els["instance-name"]
	if len(names) != len(api.Instances) || number(t, els, "instances-up") != int64(len(api.Instances)) {
		t.Fatalf("instances: page %d, API %d", len(names), len(api.Instances))
	}
	for i, in := range api.Instances {
		if names[i].text != in.Name || els["instance-host"][i].text != in.Host {
			t.Errorf("instance %d: %q on %q, API %q on %q", i, names[i].text, els["instance-host"][i].text, in.Name, in.Host)
		}
	}
	sweeping := els["instance-row"]
	for _, row := range sweeping {
		if marked := row.attr("data-sweeps") == "true"; marked != (row.attr("data-instance") == api.SweepLease.Holder) {
			t.Errorf("instance %q marked as sweeping: %v; API's holder %q", row.attr("data-instance"), marked, api.SweepLease.Holder)
		}
	}
	if len(els["sweep-holder"]) != 1 || !strings.Contains(p.body, "The sweep lease is held by B") {
		t.Errorf("the sweep lease holder is not marked once and named")
	}
}

// TestDashboardTimesInTheViewersZone: times are shown in the zone the
// viewer's browser reports, as console.js stores it (encodeURIComponent:
// "Asia%2FShanghai"), and in the default zone without it.
func TestDashboardTimesInTheViewersZone(t *testing.T) {
	t.Parallel()
	w := newDashWorld(t, time.Now(), nil)
	// The server's message scheduler runs on the wall clock: a time in
	// the past would put the reminder back at once.
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Hour)
	w.deferReminder(t, domain.Reminder{ID: "L-1/overdue/1/sms", BorrowerID: "b-1", LoanID: "L-1", Channel: domain.SMS, Step: "overdue"}, until)
	in := func(zone string) string {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		return until.In(loc).Format("2006-01-02 15:04 MST")
	}
	for _, tc := range []struct {
		cookie string
		want   string
	}{
		{"", in("UTC")},
		{"forbear_tz=Asia/Shanghai", in("Asia/Shanghai")},
		{"forbear_tz=Asia%2FShanghai", in("Asia/Shanghai")},
		{"forbear_tz=America%2FNew_York", in("America/New_York")},
		{"forbear_tz=Etc%2FGMT%2B5", in("Etc/GMT+5")},
		{"forbear_tz=Etc/GMT+5", in("Etc/GMT+5")},
		{"forbear_tz=Not%2FA_Zone", in("UTC")},
		{"forbear_tz=%ZZ", in("UTC")},
	} {
		b := w.browser(t)
		var header []string
		if tc.cookie != "" {
			header = []string{"Cookie", tc.cookie}
		}
		res := b.get(t, "/console/", header...)
		if res.status != http.StatusOK {
			t.Fatalf("cookie %q: %d\n%s", tc.cookie, res.status, res.body)
		}
		els := res.elements()
		if got := els["deferred-until"]; len(got) != 1 || got[0].text != tc.want {
			t.Errorf("cookie %q: deferred until %+v, want %q", tc.cookie, got, tc.want)
		}
	}
}

// TestDashboardForEveryStaffRole: every staff role sees the dashboard, as
// each may read GET /v1/stats; only a role that may open borrower pages
// (support, admin) gets links to them, others see the bare id.
func TestDashboardForEveryStaffRole(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	w := newDashWorld(t, now, staffTokens)
	w.deferReminder(t, domain.Reminder{ID: "L-2/overdue/1/voice", BorrowerID: "b/2", LoanID: "L-2", Channel: domain.Voice, Step: "overdue"},
		time.Now().Add(time.Hour))
	for _, tc := range []struct {
		token string
		link  bool
	}{
		{"t-pub", false},
		{"t-ops", false},
		{"t-desk", true},
		{"t-root", true},
	} {
		p := w.browser(t).signIn(t, tc.token)
		if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="deferred-now">1<`) {
			t.Errorf("%s: dashboard %d without the deferred reminder\n%s", tc.token, p.status, p.body)
			continue
		}
		linked := strings.Contains(p.body, `<a href="/console/borrowers/b%2F2">b/2</a>`)
		if linked != tc.link || !tc.link && strings.Contains(p.body, "/console/borrowers/") {
			t.Errorf("%s: borrower linked %v, want %v", tc.token, linked, tc.link)
		}
	}
}

var untranslated = regexp.MustCompile(`dashboard\.[a-z_.0-9]+`)

// TestDashboardInBothLanguages: the page is in the language of
// Accept-Language, and no text of the dashboard is missing in either (a
// missing one would show as its key).
func TestDashboardInBothLanguages(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	w := newDashWorld(t, now, nil)
	dashboardData(t, w, now)
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"Deliveries, last 24 hours", "Capped, last 7 days", "The sweep lease is held by B", ">Sent<", "2 events were refused"}},
		{"zh-CN,zh;q=0.9", []string{"近 24 小时投递", "近 7 天限额拦截", "扫描租约由 B 持有", ">已发送<", "共有 2 个事件被拒绝"}},
	} {
		p := w.browser(t).get(t, "/console/", "Accept-Language", tc.lang)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d", tc.lang, p.status)
		}
		for _, want := range tc.want {
			if !strings.Contains(p.body, want) {
				t.Errorf("%s: the page does not say %q", tc.lang, want)
			}
		}
		if keys := untranslated.FindAllString(p.body, -1); len(keys) > 0 {
			t.Errorf("%s: texts shown as their keys: %v", tc.lang, keys)
		}
	}
}

// TestDashboardEscapesWhatItShows: ids, reasons and names read from
// events and heartbeats are shown as text, never as markup.
func TestDashboardEscapesWhatItShows(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	w := newDashWorld(t, now, nil)
	w.refuse(t, `"><img src=x id=evil-event>`, `<script>alert("reason")</script>`, "data.<b>field</b>")
	w.deferReminder(t, domain.Reminder{ID: "<i>reminder</i>", BorrowerID: `<script>alert("b")</script>`, Channel: domain.SMS, Step: "<u>step</u>"},
		time.Now().Add(time.Hour))
	w.beat(t, "<em>A</em>", "<svg onload=alert(1)>")
	w.lease(t, "<em>A</em>", now.Add(15*time.Second))
	p := w.browser(t).get(t, "/console/")
	if p.status != http.StatusOK {
		t.Fatalf("dashboard: %d", p.status)
	}
	for _, raw := range []string{`<img src=x`, `<script>alert`, `<b>field`, `<i>reminder`, `<u>step`, `<em>A`, `<svg onload`} {
		if strings.Contains(p.body, raw) {
			t.Errorf("the page holds %q as markup", raw)
		}
	}
	els := p.elements()
	if got := els["refused-reason"]; len(got) != 1 || got[0].text != `<script>alert("reason")</script>` {
		t.Errorf("refused reason shown as %+v", got)
	}
	if got := els["instance-name"]; len(got) != 1 || got[0].text != "<em>A</em>" {
		t.Errorf("instance name shown as %+v", got)
	}
	if !strings.Contains(p.body, `href="/console/borrowers/%3Cscript%3Ealert%28%22b%22%29%3C%2Fscript%3E"`) {
		t.Errorf("the borrower's link is not escaped as a path segment")
	}
}

// TestDashboardWhenNATSDoesNotAnswer: figures that cannot be read give the
// error page with 503 and what to do, not half a page.
func TestDashboardWhenNATSDoesNotAnswer(t *testing.T) {
	t.Parallel()
	w := newDashWorld(t, time.Now(), nil)
	w.readerConn.Close()
	p := w.browser(t).get(t, "/console/")
	if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "Reload the page to try again.") {
		t.Errorf("dashboard without NATS: %d\n%s", p.status, p.body)
	}
}
