package simulate

import (
	"bytes"
	"fmt"
	"image/color"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/forbear/forbear/internal/ground/domain"
)

// Chart formats.
const (
	FormatSVG = "svg"
	FormatPNG = "png"
)

// statusColors are the colours of the statuses in every chart.
var statusColors = map[string]color.RGBA{
	StatusSent:       {R: 0x2e, G: 0x7d, B: 0x32, A: 0xff},
	StatusDeferred:   {R: 0xf9, G: 0xa8, B: 0x25, A: 0xff},
	StatusCapped:     {R: 0xc6, G: 0x28, B: 0x28, A: 0xff},
	StatusSuppressed: {R: 0x6a, G: 0x1b, B: 0x9a, A: 0xff},
	StatusFailed:     {R: 0x42, G: 0x42, B: 0x42, A: 0xff},
	StatusWithheld:   {R: 0x90, G: 0xa4, B: 0xae, A: 0xff},
}

// Chart size.
const (
	chartWidth  = 24 * vg.Centimeter
	chartHeight = 12 * vg.Centimeter
)

// StatusChart draws a run as bars per day, all channels together, stacked
// by status.
func StatusChart(res *Result) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Dry run %q: reminders per day by status (%d borrowers, %s)", res.Variant, res.Borrowers, res.Zone)
	p.Y.Label.Text = "reminders"
	p.X.Label.Text = "day"
	p.Legend.Top, p.Legend.Left = true, true
	width := vg.Length(float64(18*vg.Centimeter) / float64(max(res.Days, 1)))
	var below *plotter.BarChart
	for _, st := range Statuses {
		vals := make(plotter.Values, len(res.PerDay))
		for d, day := range res.PerDay {
			for _, ch := range domain.Channels {
				vals[d] += float64(day.Channels[ch].Count(st))
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, err
		}
		bars.Color = statusColors[st]
		bars.LineStyle.Width = 0
		if below != nil {
			bars.StackOn(below)
		}
		below = bars
		p.Add(bars)
		p.Legend.Add(st, bars)
	}
	p.X.Tick.Marker = dayTicks{res: res}
	p.Y.Tick.Marker = countTicks{}
	p.Y.Max *= 1.3 // room for the legend
	return p, nil
}

// countTicks are the default ticks labelled as the counts they are
// ("25000", not "25000.00").
type countTicks struct{}

func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}

// dayTicks labels about eight days of a run's axis with their dates.
type dayTicks struct{ res *Result }

func (t dayTicks) Ticks(lo, hi float64) []plot.Tick {
	n := len(t.res.PerDay)
	step := max(1, n/8)
	var out []plot.Tick
	for d := 0; d < n; d++ {
		label := ""
		if d%step == 0 {
			label = t.res.PerDay[d].Date
		}
		if label != "" || n <= 60 {
			out = append(out, plot.Tick{Value: float64(d), Label: label})
		}
	}
	return out
}

// CompareChart draws two runs' sends and holds per day as lines.
func CompareChart(a, b *Result) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Dry run: %q against %q, per day", b.Variant, a.Variant)
	p.Y.Label.Text = "reminders"
	p.Legend.Top, p.Legend.Left = true, true
	held := func(day Day) float64 {
		n := 0
		for _, ch := range domain.Channels {
			c := day.Channels[ch]
			n += c.Capped + c.Suppressed + c.Withheld
		}
		return float64(n)
	}
	sent := func(day Day) float64 {
		n := 0
		for _, ch := range domain.Channels {
			n += day.Channels[ch].Sent
		}
		return float64(n)
	}
	for _, run := range []struct {
		res    *Result
		dashed bool
	}{{a, false}, {b, true}} {
		for _, series := range []struct {
			name  string
			value func(Day) float64
			color color.RGBA
		}{{"sent", sent, statusColors[StatusSent]}, {"capped, suppressed, withheld", held, statusColors[StatusCapped]}} {
			pts := make(plotter.XYs, len(run.res.PerDay))
			for d, day := range run.res.PerDay {
				pts[d] = plotter.XY{X: float64(d), Y: series.value(day)}
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return nil, err
			}
			l.Color, l.Width = series.color, vg.Points(1.5)
			if run.dashed {
				l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(l)
			p.Legend.Add(run.res.Variant+": "+series.name, l)
		}
	}
	p.X.Tick.Marker = dayTicks{res: a}
	return p, nil
}

// TimelineChart draws one borrower's schedule over a run: a row per
// channel, a mark per decision coloured by status, and a line from each
// deferral to the moment it was held until.
func TimelineChart(s Schedule, res *Result) (*plot.Plot, error) {
	zone := res.Start.Location()
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Borrower %s (%s): every reminder", s.BorrowerID, s.Timezone)
	p.Legend.Top, p.Legend.Left = true, true
	rows := map[domain.Channel]float64{}
	for i, ch := range domain.Channels {
		rows[ch] = float64(i)
	}
	p.NominalY(channelNames()...)
	byStatus := map[string]plotter.XYs{}
	for _, e := range s.Entries {
		y := rows[e.Channel]
		byStatus[e.Status] = append(byStatus[e.Status], plotter.XY{X: float64(e.At.Unix()), Y: y})
		if e.Status == StatusDeferred && e.Until != nil {
			l, err := plotter.NewLine(plotter.XYs{{X: float64(e.At.Unix()), Y: y}, {X: float64(e.Until.Unix()), Y: y}})
			if err != nil {
				return nil, err
			}
			l.Color, l.Width = statusColors[StatusDeferred], vg.Points(3)
			p.Add(l)
		}
	}
	for _, st := range Statuses {
		pts := byStatus[st]
		if len(pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = statusColors[st], vg.Points(3), draw.CircleGlyph{}
		p.Add(sc)
		p.Legend.Add(st, sc)
	}
	p.X.Tick.Marker = plot.TimeTicks{Format: "2006-01-02\n15:04", Time: func(t float64) time.Time { return time.Unix(int64(t), 0).In(zone) }}
	p.Y.Min, p.Y.Max = -0.5, float64(len(domain.Channels))-0.5
	p.X.Min, p.X.Max = float64(res.Start.Unix()), float64(res.Start.AddDate(0, 0, res.Days).Unix())
	return p, nil
}

func channelNames() []string {
	out := make([]string, len(domain.Channels))
	for i, ch := range domain.Channels {
		out[i] = string(ch)
	}
	return out
}

// Encode writes a chart as SVG or PNG.
func Encode(p *plot.Plot, format string) ([]byte, error) {
	var buf bytes.Buffer
	switch format {
	case FormatSVG:
		canvas := vgsvg.New(chartWidth, chartHeight)
		p.Draw(draw.New(canvas))
		if _, err := canvas.WriteTo(&buf); err != nil {
			return nil, err
		}
	case FormatPNG:
		canvas := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(chartWidth, chartHeight), vgimg.UseDPI(110))}
		p.Draw(draw.New(canvas))
		if _, err := canvas.WriteTo(&buf); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("simulate: unknown chart format %q", format)
	}
	return buf.Bytes(), nil
}
