package console

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/simulate"
)

// DryRunner runs dry runs: the same service as POST /v1/simulate.
type DryRunner interface {
	Run(ctx context.Context, req simulate.Request, v *simulate.Variant) (simulate.Answer, error)
}

// Bounds of the policies page's dry run: it answers a form.
const (
	dryRunMaxDays      = 90
	dryRunMaxBorrowers = 2000
)

// dryRunForm is the policies page's dry-run form.
type dryRunForm struct {
	Days, Borrowers int
	Preset          string   // "" runs the configuration alone
	Presets         []string // to compare with
	Error           string
}

// dryRunView is a dry run's result on the policies page.
type dryRunView struct {
	Runs     []*simulate.Result // the configuration's, then the preset's
	Statuses []string
	Charts   []dryRunChart
}

// dryRunChart is a chart as an image the page shows.
type dryRunChart struct {
	Name string
	Src  template.URL
}

func defaultDryRunForm() dryRunForm {
	return dryRunForm{Days: 30, Borrowers: 500, Presets: compliance.PresetNames()}
}

// postDryRun runs the form's dry run (generated borrowers, the
// configuration and optionally a preset to compare with) and shows the
// policies page with its charts.
func (c *Console) postDryRun(w http.ResponseWriter, r *http.Request, rq *request) {
	v, ok := c.policiesView(w, rq)
	if !ok {
		return
	}
	if c.o.Ops.DryRun == nil {
		c.fail(w, rq, http.StatusNotFound)
		return
	}
	form := defaultDryRunForm()
	status := http.StatusOK
	bad := func(key string, args ...any) {
		form.Error, status = rq.Lang.T(key, args...), http.StatusBadRequest
	}
	days, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("days")))
	form.Days = days
	if err != nil || days < 1 || days > dryRunMaxDays {
		bad("dryrun.bad_days", dryRunMaxDays)
	}
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("borrowers")))
	form.Borrowers = n
	if err != nil || n < 1 || n > dryRunMaxBorrowers {
		bad("dryrun.bad_borrowers", dryRunMaxBorrowers)
	}
	form.Preset = r.PostFormValue("preset")
	var variant *simulate.Variant
	if form.Preset != "" {
		cc := c.o.Ops.Compliance
		// One preset or a comma-separated list, as in the environment.
		_ = cc.Preset.UnmarshalText([]byte(form.Preset))
		variant = &simulate.Variant{Name: form.Preset, Compliance: &cc}
	}
	if form.Error == "" {
		ans, err := c.o.Ops.DryRun.Run(r.Context(), simulate.Request{Days: days, Generate: &simulate.GenerateRequest{Borrowers: n, Seed: 1}}, variant)
		var re *simulate.RequestError
		switch {
		case errors.As(err, &re):
			bad("dryrun.refused", re.Error())
		case errors.Is(err, simulate.ErrBusy):
			form.Error, status = rq.Lang.T("dryrun.busy"), http.StatusTooManyRequests
		case err != nil:
			c.o.Log.WithError(err).Error("console: dry run")
			bad("dryrun.failed")
		default:
			v.DryRun, err = dryRunOf(ans.Report)
			if err != nil {
				c.o.Log.WithError(err).Error("console: dry run charts")
				bad("dryrun.failed")
			}
		}
	}
	v.DryRunForm = &form
	c.render(w, rq, status, "policies", rq.Lang.T("policies.title"), v)
}

// dryRunOf lays a report out for the page, its charts as SVG images.
func dryRunOf(rep simulate.Report) (*dryRunView, error) {
	charts, err := rep.Charts()
	if err != nil {
		return nil, err
	}
	out := &dryRunView{Runs: []*simulate.Result{rep.Run}, Statuses: simulate.Statuses}
	if rep.Variant != nil {
		out.Runs = append(out.Runs, rep.Variant)
	}
	for _, name := range []string{"status", "compare", "status-variant", "timeline"} {
		p, ok := charts[name]
		if !ok {
			continue
		}
		svg, err := simulate.Encode(p, simulate.FormatSVG)
		if err != nil {
			return nil, err
		}
		// The console's own SVG, shown as an image (img-src data: in
		// the page's policy): nothing in it can run.
		out.Charts = append(out.Charts, dryRunChart{Name: name,
			Src: template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(svg))})
	}
	return out, nil
}
