package console

import (
	"net/url"
	"strconv"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/internal/stats"
)

// dashboardView is the dashboard page: the figures of one stats.Snapshot,
// arranged and labelled in the viewer's language and zone. It computes no
// figure of its own: every number is one of the snapshot's, or a sum of
// the snapshot's numbers shown beside it (a row's total, a bar's height,
// a day's hours).
type dashboardView struct {
	At time.Time
	// Zone names the viewer's zone, which every time is shown in.
	Zone string
	// Legend is the statuses in the order bars stack them.
	Legend    []legendItem
	Tiles     []countTile
	Spans     []spanView
	Deferred  deferredView
	Refused   refusedView
	Queues    []countTile
	Instances []instanceRow
	Lease     *stats.Lease
	// LeaseHolderUp tells whether the lease holder is among Instances.
	LeaseHolderUp bool
}

// legendItem is one status: its key (for the colour) and its name.
type legendItem struct {
	Status string
	Label  string
}

// countTile is one labelled number.
type countTile struct {
	TestID string
	Label  string
	N      string
}

// spanView is one span of deliveries (24 hours, 7 days): the totals table
// and a chart per channel.
type spanView struct {
	ID      string // "24h", "7d"
	Heading string
	Hint    string
	Totals  []countRow
	Charts  []chartView
}

// countRow is a row of a counts table: a count per status, then their sum.
type countRow struct {
	// TestID names a chart's row (its cells are named in any table).
	TestID string
	Label  string
	// From and To (exclusive) are the UTC span of a chart's bar; zero in
	// the totals table.
	From, To time.Time
	Cells    []countCell
	All      countCell
}

type countCell struct {
	TestID string
	N      int64
}

// deferredView is the deferred reminders: how many, and the newest.
type deferredView struct {
	Count uint64
	Rows  []deferredRow
	// More tells that only the newest are listed.
	More bool
}

// refusedView is the refused events: how many, and the newest.
type refusedView struct {
	stats.Refused
	// More tells that only the newest are listed.
	More bool
}

type deferredRow struct {
	stats.DeferredReminder
	ChannelLabel string
	// BorrowerHref is the borrower's page, empty for a viewer whose roles
	// cannot open it.
	BorrowerHref string
}

type instanceRow struct {
	stats.Instance
	Sweeps bool
}

// statusKeys are the delivery statuses, in the order of the columns and of
// the stacked segments.
func statusKeys() []string {
	out := make([]string, len(domain.Statuses))
	for i, s := range domain.Statuses {
		out[i] = string(s)
	}
	return out
}

func newDashboardView(s stats.Snapshot, rq *request) *dashboardView {
	l := rq.Lang
	v := &dashboardView{At: s.At, Zone: rq.Zone.String(), Lease: s.SweepLease,
		Refused: refusedView{Refused: s.Refused, More: uint64(len(s.Refused.Newest)) < s.Refused.Count}}
	for _, st := range statusKeys() {
		v.Legend = append(v.Legend, legendItem{Status: st, Label: l.T("dashboard.status." + st)})
	}
	day, week := s.Deliveries.Last24h.ByStatus, s.Deliveries.Last7d.ByStatus
	v.Tiles = []countTile{
		{"capped-24h", l.T("dashboard.tile.capped_24h"), strconv.FormatInt(day[string(domain.Capped)], 10)},
		{"capped-7d", l.T("dashboard.tile.capped_7d"), strconv.FormatInt(week[string(domain.Capped)], 10)},
		{"suppressed-24h", l.T("dashboard.tile.suppressed_24h"), strconv.FormatInt(day[string(domain.Suppressed)], 10)},
		{"suppressed-7d", l.T("dashboard.tile.suppressed_7d"), strconv.FormatInt(week[string(domain.Suppressed)], 10)},
		{"deferred-now", l.T("dashboard.tile.deferred"), strconv.FormatUint(s.Deferred.Count, 10)},
		{"refused-total", l.T("dashboard.tile.refused"), strconv.FormatUint(s.Refused.Count, 10)},
		{"instances-up", l.T("dashboard.tile.instances"), strconv.Itoa(len(s.Instances))},
	}

	hourly := s.Deliveries.Hourly
	last24 := hourly[max(0, len(hourly)-24):]
	v.Spans = []spanView{
		newSpan("24h", l.T("dashboard.span.24h"), l.T("dashboard.span.24h_hint"), s.Deliveries.Last24h, hourBuckets(last24, rq.Zone), rq),
		newSpan("7d", l.T("dashboard.span.7d"), l.T("dashboard.span.7d_hint", v.Zone), s.Deliveries.Last7d, dayBuckets(hourly, rq.Zone), rq),
	}

	v.Deferred.Count = s.Deferred.Count
	canOpenBorrowers := rq.Principal.Has(auth.RoleSupport)
	for _, d := range s.Deferred.Newest {
		row := deferredRow{DeferredReminder: d, ChannelLabel: channelLabel(l, string(d.Channel))}
		if canOpenBorrowers && d.BorrowerID != "" {
			row.BorrowerHref = Prefix + "borrowers/" + url.PathEscape(d.BorrowerID)
		}
		v.Deferred.Rows = append(v.Deferred.Rows, row)
	}
	v.Deferred.More = uint64(len(v.Deferred.Rows)) < v.Deferred.Count

	for _, ch := range domain.Channels {
		v.Queues = append(v.Queues, countTile{TestID: "queue-" + string(ch), Label: channelLabel(l, string(ch)),
			N: strconv.FormatUint(s.QueueDepth[ch], 10)})
	}
	for _, in := range s.Instances {
		sweeps := s.SweepLease != nil && s.SweepLease.Holder == in.Name
		v.LeaseHolderUp = v.LeaseHolderUp || sweeps
		v.Instances = append(v.Instances, instanceRow{Instance: in, Sweeps: sweeps})
	}
	return v
}

// newSpan is one span's totals table (a row per channel and one for all,
// as the snapshot gives them) and its charts (a chart per channel, a bar
// per bucket).
func newSpan(id, heading, hint string, t stats.Totals, buckets []bucket, rq *request) spanView {
	sv := spanView{ID: id, Heading: heading, Hint: hint}
	statuses := statusKeys()
	for _, ch := range domain.Channels {
		prefix := "count-" + id + "-" + string(ch)
		row := countRow{Label: channelLabel(rq.Lang, string(ch)), All: countCell{TestID: prefix + "-all"}}
		for _, st := range statuses {
			n := t.ByChannel[string(ch)][st]
			row.Cells = append(row.Cells, countCell{TestID: prefix + "-" + st, N: n})
			row.All.N += n
		}
		sv.Totals = append(sv.Totals, row)
	}
	prefix := "count-" + id + "-all"
	all := countRow{Label: rq.Lang.T("dashboard.all_channels"), All: countCell{TestID: prefix, N: t.Total}}
	for _, st := range statuses {
		all.Cells = append(all.Cells, countCell{TestID: prefix + "-" + st, N: t.ByStatus[st]})
	}
	sv.Totals = append(sv.Totals, all)
	for _, ch := range domain.Channels {
		sv.Charts = append(sv.Charts, newChart(id, string(ch), buckets, rq))
	}
	return sv
}

// bucket is the counts of one bar of a chart: an hour, or a day in the
// viewer's zone.
type bucket struct {
	// Key names the bucket in test ids: the UTC hour ("2026-11-23T10Z") or
	// the viewer's date ("2026-11-23").
	Key string
	// Axis is the bar's label on the x axis, Label its row's in the table.
	Axis, Label string
	From, To    time.Time
	Counts      stats.Counts
}

// hourBuckets is a bucket per hour.
func hourBuckets(hours []stats.Hour, zone *time.Location) []bucket {
	out := make([]bucket, 0, len(hours))
	for _, h := range hours {
		local := h.Start.In(zone)
		out = append(out, bucket{Key: h.Start.UTC().Format("2006-01-02T15Z"), Axis: local.Format("15:04"),
			Label: local.Format("01-02 15:04"), From: h.Start, To: h.Start.Add(time.Hour), Counts: h.Counts})
	}
	return out
}

// dayBuckets sums hours into the viewer's calendar days, by the day each
// hour starts in (in a zone whose offset is not whole hours, an hour that
// straddles midnight counts in the day it starts in).
func dayBuckets(hours []stats.Hour, zone *time.Location) []bucket {
	var out []bucket
	for _, h := range hours {
		date := h.Start.In(zone).Format(time.DateOnly)
		if len(out) == 0 || out[len(out)-1].Key != date {
			local := h.Start.In(zone)
			out = append(out, bucket{Key: date, Axis: local.Format("01-02"), Label: date, From: h.Start, Counts: stats.Counts{}})
		}
		b := &out[len(out)-1]
		b.To = h.Start.Add(time.Hour)
		for ch, byStatus := range h.Counts {
			if b.Counts[ch] == nil {
				b.Counts[ch] = map[string]int64{}
			}
			for st, n := range byStatus {
				b.Counts[ch][st] += n
			}
		}
	}
	return out
}

func channelLabel(l Lang, ch string) string {
	key := "dashboard.channel." + ch
	if _, ok := catalog[key]; !ok {
		return ch
	}
	return l.T(key)
}
