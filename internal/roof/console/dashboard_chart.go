package console

import (
	"math"
	"strconv"
	"strings"
)

// A chart is drawn in a fixed coordinate space (the SVG's viewBox) that
// the stylesheet scales to the width of its column: 400 units are about
// 350 px on a 375 px phone, so 11-unit text stays readable.
const (
	chartWidth  = 400
	chartHeight = 212
	plotLeft    = 46  // room for the y axis' ticks and title
	plotRight   = 392 // chartWidth less a margin
	plotTop     = 12
	plotBottom  = 166 // room below for the x axis' labels and title
	// minLabelGap is the least distance between two x axis labels, in
	// chart units: a label ("15:00", "11-23") is about 30 wide.
	minLabelGap = 40
	// barFill is the part of its slot a bar fills.
	barFill = 0.7
	// maxYSteps is how many steps the y axis has at most.
	maxYSteps = 4
)

// chartView is one channel's stacked bar chart over a span: coordinates
// computed here, drawn as inline SVG by the page template (no script),
// with the table of the same numbers.
type chartView struct {
	ID      string // "chart-24h-sms"
	Caption string // the channel's name
	Label   string // what the chart shows, for screen readers
	// Numbers captions the table; BucketHeader heads its first column.
	Numbers, BucketHeader string
	Width, Height         int
	Left, Right           float64
	Top, Bottom           float64
	XTitle, YTitle        string
	// XTitleX and YTitleY centre the axis titles.
	XTitleX, YTitleY float64
	YTicks           []axisTick
	XTicks           []axisTick
	Bars             []barView
	// Empty is said across a chart with nothing to show.
	Empty string
	Rows  []countRow
}

// axisTick is a label on an axis at a coordinate (y for the y axis, x
// for the x axis).
type axisTick struct {
	At    float64
	Label string
}

// barView is one bar: its segments from the bottom up, in the order of
// statusKeys.
type barView struct {
	TestID string
	// Title is the bar's tooltip: its bucket and counts.
	Title    string
	Total    int64
	Segments []segment
}

type segment struct {
	Status     string
	X, Y, W, H float64
}

// newChart is channel's chart of span id over buckets.
func newChart(id, channel string, buckets []bucket, rq *request) chartView {
	l := rq.Lang
	name := channelLabel(l, channel)
	cv := chartView{ID: "chart-" + id + "-" + channel, Caption: name, Label: l.T("dashboard.chart."+id, name),
		Numbers: l.T("dashboard.numbers."+id, name), Width: chartWidth, Height: chartHeight,
		Left: plotLeft, Right: plotRight, Top: plotTop, Bottom: plotBottom,
		XTitleX: round1((plotLeft + plotRight) / 2), YTitleY: round1((plotTop + plotBottom) / 2),
		YTitle: l.T("dashboard.axis.count")}
	rowPrefix := "daily-" + channel + "-"
	cv.BucketHeader, cv.XTitle = l.T("dashboard.col.day"), l.T("dashboard.axis.day", rq.Zone.String())
	if id == "24h" {
		rowPrefix = "hourly-" + channel + "-"
		cv.BucketHeader, cv.XTitle = l.T("dashboard.col.hour"), l.T("dashboard.axis.hour", rq.Zone.String())
	}

	statuses := statusKeys()
	var highest int64
	for _, b := range buckets {
		row := countRow{TestID: rowPrefix + b.Key, Label: b.Label, From: b.From, To: b.To, All: countCell{TestID: rowPrefix + b.Key + "-all"}}
		for _, st := range statuses {
			n := b.Counts[channel][st]
			row.Cells = append(row.Cells, countCell{TestID: row.TestID + "-" + st, N: n})
			row.All.N += n
		}
		highest = max(highest, row.All.N)
		cv.Rows = append(cv.Rows, row)
	}
	if highest == 0 {
		cv.Empty = l.T("dashboard.chart.empty")
	}

	top, step := niceScale(highest)
	height := float64(plotBottom - plotTop)
	y := func(n int64) float64 { return plotBottom - float64(n)/float64(top)*height }
	for v := int64(0); v <= top; v += step {
		cv.YTicks = append(cv.YTicks, axisTick{At: round1(y(v)), Label: strconv.FormatInt(v, 10)})
	}

	n := len(buckets)
	if n == 0 {
		return cv
	}
	slot := float64(plotRight-plotLeft) / float64(n)
	every := max(1, int(math.Ceil(minLabelGap/slot)))
	for i, b := range buckets {
		x := plotLeft + float64(i)*slot
		// Count labels back from the newest bar, so that it is labelled.
		if (n-1-i)%every == 0 {
			cv.XTicks = append(cv.XTicks, axisTick{At: round1(x + slot/2), Label: b.Axis})
		}
		row := cv.Rows[i]
		bar := barView{TestID: "bar-" + id + "-" + channel + "-" + b.Key, Total: row.All.N}
		var parts []string
		var below int64
		for j, st := range statuses {
			c := row.Cells[j].N
			if c == 0 {
				continue
			}
			parts = append(parts, l.T("dashboard.status."+st)+" "+strconv.FormatInt(c, 10))
			bar.Segments = append(bar.Segments, segment{Status: st, X: round1(x + slot*(1-barFill)/2), W: round1(slot * barFill),
				Y: round1(y(below + c)), H: round1(y(below) - y(below+c))})
			below += c
		}
		bar.Title = b.Label + ": " + strconv.FormatInt(row.All.N, 10)
		if len(parts) > 0 {
			bar.Title += " (" + strings.Join(parts, ", ") + ")"
		}
		cv.Bars = append(cv.Bars, bar)
	}
	return cv
}

// niceScale is the top of a y axis that shows highest, and the step of
// its ticks: the least step of 1, 2 or 5 times a power of ten that
// reaches highest in at most maxYSteps steps, so the ticks read as round
// numbers and the tallest bar fills most of the height.
func niceScale(highest int64) (top, step int64) {
	highest = max(highest, 1)
	for magnitude := int64(1); ; magnitude *= 10 {
		for _, m := range []int64{1, 2, 5} {
			step = m * magnitude
			if steps := (highest + step - 1) / step; steps <= maxYSteps {
				return steps * step, step
			}
		}
		if magnitude > math.MaxInt64/100 {
			return highest, highest // beyond any real count
		}
	}
}

// round1 keeps one decimal of a coordinate: enough for a screen, and a
// shorter page.
func round1(v float64) float64 { return math.Round(v*10) / 10 }
