package console

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/scheduler"
)

// policiesView is the policies page: each policy drawn and listed, and the
// contact rules in force.
type policiesView struct {
	Policies []policyView
	Error    string
	Channels []domain.Channel // the legend
	Rules    []ruleLine
	Preset   string
	// PresetSummary and PresetSources describe a known preset.
	PresetSummary string
	PresetSources string
	// DryRunForm is the dry-run form (nil: no dry runs here), DryRun the
	// result of one.
	DryRunForm *dryRunForm
	DryRun     *dryRunView
}

// policyView is one compiled policy.
type policyView struct {
	ID          string
	Category    string
	Installment bool // anchored on instalments, not the loan's due date
	Timeline    timeline
	Steps       []stepRow
}

// stepRow is a step in the text table that repeats the picture.
type stepRow struct {
	ID           string
	Template     string
	TemplateHref string
	Channels     []domain.Channel
	When         string // in words, relative to the anchor
	Raw          string // at / every / until as the configuration writes them
}

// getPolicies shows every policy as scheduler.Compile makes it, and the
// rules compliance.Compile made of the configuration.
func (c *Console) getPolicies(w http.ResponseWriter, r *http.Request, rq *request) {
	if v, ok := c.policiesView(w, rq); ok {
		c.render(w, rq, http.StatusOK, "policies", rq.Lang.T("policies.title"), v)
	}
}

// policiesView is the policies page without a dry run's result; false
// when the page does not exist (it has answered).
func (c *Console) policiesView(w http.ResponseWriter, rq *request) (policiesView, bool) {
	ops := c.o.Ops
	if ops.Policies == nil {
		c.fail(w, rq, http.StatusNotFound)
		return policiesView{}, false
	}
	v := policiesView{Channels: domain.Channels}
	compiled, err := scheduler.Compile(ops.Policies)
	if err != nil {
		v.Error = rq.Lang.T("policies.invalid", err.Error())
	}
	for _, pc := range ops.Policies {
		p, ok := compiled.Get(pc.ID)
		if !ok {
			continue
		}
		pv := policyView{ID: p.ID, Category: string(p.Category), Installment: p.Anchor == scheduler.AnchorInstallment,
			Timeline: drawTimeline(p.Steps)}
		for _, st := range p.Steps {
			pv.Steps = append(pv.Steps, stepRow{ID: st.ID, Template: st.Template, TemplateHref: templatePath(st.Template), Channels: st.Channels,
				When: stepWhen(rq.Lang, st), Raw: stepRaw(st)})
		}
		v.Policies = append(v.Policies, pv)
	}
	v.Rules = rulesInWords(rq.Lang, ops.Compliance, ops.Rules, c.o.DefaultZone)
	v.Preset = strings.Join(ops.Rules.Presets, ", ")
	var summaries, sources []string
	for _, p := range ops.Rules.Presets {
		if _, ok := catalog["preset."+p+".summary"]; ok {
			summaries = append(summaries, rq.Lang.T("preset."+p+".summary"))
			sources = append(sources, rq.Lang.T("preset."+p+".sources"))
		}
	}
	v.PresetSummary, v.PresetSources = strings.Join(summaries, " "), strings.Join(sources, "; ")
	if ops.DryRun != nil {
		form := defaultDryRunForm()
		v.DryRunForm = &form
	}
	return v, true
}

// timeline is a policy's steps drawn on an axis of offsets from the
// anchor, in the units of an SVG viewBox.
type timeline struct {
	Width, Height       int
	PlotLeft, PlotRight int
	LabelX              int // right end of the channel names
	AxisY               int
	TickLabelY          int
	ZeroX               int
	Ticks               []tick
	Rows                []timelineRow
}

// tick is a mark of the axis.
type tick struct {
	X     int
	Label string
	Zero  bool
}

// timelineRow is one step: its labels and one lane per channel.
type timelineRow struct {
	Top, Bottom int
	StepY       int
	TemplateY   int
	Step        string
	Template    string
	Lanes       []lane
}

// lane is one channel of a step: a dot where it first fires, a line over
// the range it repeats in with a tick per occurrence, and an arrow when it
// repeats while the case is open.
type lane struct {
	Channel string
	Y       int
	Y1, Y2  int // the extent of an occurrence tick
	X1, X2  int // the first occurrence, and the last (or the edge)
	Repeats bool
	Open    bool
	Marks   []int
	// Arrow is the polygon of an open-ended repeat's arrowhead.
	Arrow string
}

// Geometry of a timeline, in viewBox units.
const (
	tlWidth     = 800
	tlPlotLeft  = 230
	tlPlotRight = 780
	tlLaneH     = 14
	tlRowPad    = 8
	tlRowMin    = 36
	// tlMaxMarks bounds the occurrence ticks of one lane; more are drawn
	// as the line alone (a step every minute for ten years has millions).
	tlMaxMarks = 60
)

// tickSteps are the axis spacings to choose from, smallest first.
var tickSteps = []time.Duration{
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	tlDay, 2 * tlDay, 3 * tlDay, 7 * tlDay, 14 * tlDay, 30 * tlDay, 60 * tlDay, 90 * tlDay, 180 * tlDay,
	365 * tlDay, 730 * tlDay, 1825 * tlDay, 3650 * tlDay,
}

const tlDay = 24 * time.Hour

// drawTimeline lays out steps. The axis spans the anchor and every first
// and last occurrence, plus two periods of each open-ended repeat, with a
// margin either side.
func drawTimeline(steps []scheduler.Step) timeline {
	lo, hi := time.Duration(0), time.Duration(0)
	for _, st := range steps {
		lo, hi = min(lo, st.At), max(hi, st.At)
		switch {
		case st.Every > 0 && st.Bounded:
			hi = max(hi, st.Until)
		case st.Every > 0:
			hi = max(hi, st.At+2*st.Every)
		}
	}
	if hi == lo {
		lo, hi = lo-tlDay, hi+tlDay
	}
	pad := max((hi-lo)/20, time.Hour)
	lo, hi = lo-pad, hi+pad
	x := func(d time.Duration) int {
		f := float64(d-lo) / float64(hi-lo)
		return tlPlotLeft + int(math.Round(f*float64(tlPlotRight-tlPlotLeft)))
	}
	tl := timeline{Width: tlWidth, PlotLeft: tlPlotLeft, PlotRight: tlPlotRight, LabelX: tlPlotLeft - 10, ZeroX: x(0)}
	y := 4
	for _, st := range steps {
		h := max(tlRowMin, len(st.Channels)*tlLaneH+2*tlRowPad)
		row := timelineRow{Top: y, Bottom: y + h, StepY: y + 15, TemplateY: y + 29, Step: shorten(st.ID), Template: shorten(st.Template)}
		for i, ch := range st.Channels {
			ly := y + tlRowPad + i*tlLaneH + tlLaneH/2
			ln := lane{Channel: string(ch), Y: ly, Y1: ly - 4, Y2: ly + 4, X1: x(st.At), X2: x(st.At)}
			if st.Every > 0 {
				ln.Repeats = true
				end := hi
				if st.Bounded {
					end = st.Until
					ln.X2 = x(st.Until)
				} else {
					ln.Open, ln.X2 = true, tlPlotRight
					ln.Arrow = fmt.Sprintf("%d,%d %d,%d %d,%d", tlPlotRight, ln.Y-5, tlPlotRight+9, ln.Y, tlPlotRight, ln.Y+5)
				}
				if n := occurrences(st.At, end, st.Every); n <= tlMaxMarks {
					for k := int64(1); k < n; k++ {
						ln.Marks = append(ln.Marks, x(st.At+time.Duration(k)*st.Every))
					}
				}
			}
			row.Lanes = append(row.Lanes, ln)
		}
		tl.Rows = append(tl.Rows, row)
		y += h
	}
	tl.AxisY = y + 6
	tl.TickLabelY = tl.AxisY + 16
	tl.Height = tl.AxisY + 24
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if (hi-lo)/s <= 10 {
			step = s
			break
		}
	}
	for t := (lo / step) * step; t <= hi; t += step {
		if t < lo {
			continue
		}
		tl.Ticks = append(tl.Ticks, tick{X: x(t), Label: offsetLabel(t), Zero: t == 0})
	}
	return tl
}

// tlMaxLabel bounds a label of the picture (the table has it whole).
const tlMaxLabel = 24

// shorten cuts s to tlMaxLabel characters, with an ellipsis.
func shorten(s string) string {
	if r := []rune(s); len(r) > tlMaxLabel {
		return string(r[:tlMaxLabel-1]) + "…"
	}
	return s
}

// occurrences is how many times a step repeating every period fires from
// at to end, both included.
func occurrences(at, end, every time.Duration) int64 {
	if end < at || every <= 0 {
		return 1
	}
	return int64((end-at)/every) + 1
}

// offsetLabel is an axis label: "D", "D-3d", "D+1d12h".
func offsetLabel(d time.Duration) string {
	switch {
	case d == 0:
		return "D"
	case d < 0:
		return "D-" + compactDuration(-d)
	}
	return "D+" + compactDuration(d)
}

// compactDuration writes d (>= 0) as the configuration does: "3d",
// "1d12h", "90m"; anything finer than a minute in Go syntax.
func compactDuration(d time.Duration) string {
	if d%time.Minute != 0 {
		return d.String()
	}
	var b strings.Builder
	if days := d / tlDay; days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if h := d % tlDay / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m := d % time.Hour / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if b.Len() == 0 {
		return "0"
	}
	return b.String()
}

// signedDuration is compactDuration with its sign.
func signedDuration(d time.Duration) string {
	if d < 0 {
		return "-" + compactDuration(-d)
	}
	return compactDuration(d)
}

// stepRaw is the step's offsets as the configuration writes them.
func stepRaw(st scheduler.Step) string {
	s := "at " + signedDuration(st.At)
	if st.Every > 0 {
		s += ", every " + compactDuration(st.Every)
		if st.Bounded {
			s += ", until " + signedDuration(st.Until)
		}
	}
	return s
}

// stepWhen says when a step fires, in words, relative to its anchor.
func stepWhen(l Lang, st scheduler.Step) string {
	s := offsetWords(l, st.At)
	switch {
	case st.Every == 0:
		return s + l.T("list.sep") + l.T("policies.once")
	case st.Bounded:
		s += l.T("list.sep") + l.T("policies.every_until", durationWords(l, st.Every), offsetWords(l, st.Until))
	default:
		s += l.T("list.sep") + l.T("policies.every_open", durationWords(l, st.Every))
	}
	if n := occurrences(st.At, st.Until, st.Every); st.Bounded && n > tlMaxMarks {
		s += " (" + l.T("policies.many_repeats", n) + ")"
	}
	return s
}

// offsetWords is "3 days before", "1 day after" or the anchor itself.
func offsetWords(l Lang, d time.Duration) string {
	switch {
	case d == 0:
		return l.T("policies.at_anchor")
	case d < 0:
		return l.T("policies.before", durationWords(l, -d))
	}
	return l.T("policies.after", durationWords(l, d))
}

// durationWords is d (> 0) in days, hours and minutes: "1 day 12 hours";
// anything finer than a minute in Go syntax.
func durationWords(l Lang, d time.Duration) string {
	if d <= 0 {
		return l.T("dur.zero")
	}
	if d%time.Minute != 0 {
		return d.String()
	}
	var parts []string
	add := func(n time.Duration, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, l.T(one, int64(n)))
		case n > 1:
			parts = append(parts, l.T(many, int64(n)))
		}
	}
	add(d/tlDay, "dur.day", "dur.days")
	add(d%tlDay/time.Hour, "dur.hour", "dur.hours")
	add(d%time.Hour/time.Minute, "dur.minute", "dur.mins")
	s := parts[0]
	for _, p := range parts[1:] {
		s = l.T("dur.join", s, p)
	}
	return s
}

// ruleLine is one contact rule in plain words, and where its value comes
// from (a configuration key, the preset, or the built-in default).
type ruleLine struct {
	ID     string
	Text   string
	Origin string
}

// rulesInWords says the rules in force. Where each value comes from is
// found by compiling, with the same compliance.Compile, the built-in rules
// alone and the preset alone: a value a key sets is the key's, a value the
// preset changes is the preset's, any other is built in.
func rulesInWords(l Lang, c config.Compliance, r compliance.Rules, zone *time.Location) []ruleLine {
	builtin, _ := compliance.Compile(config.Compliance{}, zone)
	preset := builtin
	if len(r.Presets) > 0 {
		if p, err := compliance.Compile(config.Compliance{Preset: r.Presets}, zone); err == nil {
			preset = p
		}
	}
	// The preset a value comes from is the one its source names (with
	// several presets, the strictest one's).
	presetOf := func(sourceKey string) string {
		if src := preset.SourceOf(sourceKey); src.Pack != compliance.PackForbear {
			return src.Pack
		}
		return strings.Join(r.Presets, "+")
	}
	// A value is the preset's where the preset changed it or its source
	// names the preset (a text may fix the value forbear uses anyway).
	originOf := func(keySet bool, key string, presetChanged bool, sourceKey string) string {
		_, fromPreset := preset.Sources[sourceKey]
		switch {
		case keySet:
			return l.T("rules.origin.key", key)
		case presetChanged || fromPreset:
			return l.T("rules.origin.preset", presetOf(sourceKey))
		}
		return l.T("rules.origin.builtin")
	}
	var out []ruleLine
	add := func(id, text, from string) { out = append(out, ruleLine{ID: id, Text: text, Origin: from}) }

	windowText := l.T("rules.window_always")
	if !r.Window.Always() {
		start, end, _ := strings.Cut(r.Window.String(), "-")
		windowText = l.T("rules.window", start, end)
	}
	add("window", windowText, originOf(c.SendWindow.Start != "" || c.SendWindow.End != "", "compliance.send_window", preset.Window != builtin.Window, compliance.RuleSendWindow))

	for _, ch := range domain.Channels {
		name := l.T("rules.channel." + string(ch))
		cp, capped := r.Caps[ch]
		text := l.T("rules.cap_none", name)
		if capped {
			scope := l.T("rules.per_borrower")
			if cp.PerLoan {
				scope = l.T("rules.per_loan")
			}
			text = l.T("rules.cap", name, cp.Max, durationWords(l, cp.Per), scope)
		}
		_, keyed := c.Caps[string(ch)]
		key := "compliance.caps." + string(ch)
		if c.Caps != nil && len(c.Caps) == 0 {
			keyed, key = true, "compliance.caps"
		}
		pb, pbOK := preset.Caps[ch]
		bb, bbOK := builtin.Caps[ch]
		add("cap-"+string(ch), text, originOf(keyed, key, pbOK != bbOK || pb != bb, compliance.CapKey(ch)))
	}

	conv := l.T("rules.conversation_0")
	if r.AfterConversation > 0 {
		conv = l.T("rules.conversation", durationWords(l, r.AfterConversation))
	}
	add("conversation", conv, originOf(c.AfterConversation != nil, "compliance.after_conversation", preset.AfterConversation != builtin.AfterConversation, compliance.RuleConversation))

	connected := l.T("rules.connected_0")
	if r.MaxConnectedPerDay > 0 {
		connected = l.T("rules.connected", r.MaxConnectedPerDay)
	}
	add("connected", connected, originOf(c.MaxConnectedPerDay != nil, "compliance.max_connected_per_day", preset.MaxConnectedPerDay != builtin.MaxConnectedPerDay, compliance.RuleConnectedPerDay))

	// Rules only a preset sets: listed when one does.
	if r.MaxCallsPerDay > 0 {
		add("calls", l.T("rules.calls", r.MaxCallsPerDay), originOf(false, "", true, compliance.RuleCallsPerDay))
	}
	if pc := r.PhoneContacts; pc.Personal.Max > 0 || pc.Other.Max > 0 {
		add("phone-contacts", l.T("rules.phone_contacts", pc.Personal.Max, durationWords(l, pc.Personal.Per), pc.Other.Max, durationWords(l, pc.Other.Per)),
			originOf(false, "", true, compliance.RulePhoneContacts))
	}
	if r.ConsentWindow > 0 {
		add("consent", l.T("rules.consent", durationWords(l, r.ConsentWindow)), originOf(false, "", true, compliance.SourceConsent))
	}
	if r.NumberCheck > 0 {
		add("number-check", l.T("rules.number_check", durationWords(l, r.NumberCheck)), originOf(false, "", true, compliance.RuleNumberCheck))
	}

	keywords := l.T("rules.keywords_none")
	if len(r.OptOutKeywords) > 0 {
		keywords = l.T("rules.keywords", strings.Join(r.OptOutKeywords, ", "))
	}
	add("keywords", keywords, originOf(c.OptOutKeywords != nil, "compliance.opt_out_keywords", false, ""))

	if r.RequireOptOutLine {
		add("optout-line", l.T("rules.optout_line"), originOf(false, "", true, compliance.SourceOptOutLine))
	}
	zoneName := "UTC"
	if r.DefaultZone != nil {
		zoneName = r.DefaultZone.String()
	}
	add("zone", l.T("rules.zone", zoneName), l.T("rules.origin.key", "scheduler.timezone"))
	return out
}
