package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/config"
)

func TestPoliciesPageDrawsAndListsEveryStep(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	s := b.browser(t, "t-ops")
	res := s.get(t, "/console/policies")
	if res.status != http.StatusOK {
		t.Fatalf("policies: %d", res.status)
	}
	for _, p := range config.Default().Policies {
		svg, _ := elementByID(t, res.body, "timeline-"+p.ID)
		if attr(svg, "role") != "img" || !strings.Contains(attr(svg, "aria-labelledby"), "timeline-title-"+p.ID) {
			t.Errorf("timeline of %s has no accessible name: %s", p.ID, svg)
		}
		for _, st := range p.Steps {
			if !strings.Contains(res.body, `data-testid="step-`+p.ID+"-"+st.ID+`"`) {
				t.Errorf("table of %s lacks step %s", p.ID, st.ID)
			}
		}
	}
	_, svg := elementByID(t, res.body, "timeline-standard")
	// overdue: 1d, every 3d until 29d is ten sends: a dot and nine ticks.
	overdue := regexp.MustCompile(`(?s)<g class="tl-row" data-step="overdue">(.*?)</g>\s*</g>`).FindStringSubmatch(svg)
	if overdue == nil || strings.Count(overdue[1], `class="tl-mark"`) != 9 || strings.Count(overdue[1], `class="tl-dot"`) != 1 {
		t.Errorf("overdue row: want one dot and nine repeat ticks\n%v", overdue)
	}
	// call repeats while the case is open: an arrow.
	if call := regexp.MustCompile(`(?s)data-step="call">(.*?)</g>\s*</g>`).FindStringSubmatch(svg); call == nil || !strings.Contains(call[1], "tl-arrow") {
		t.Errorf("call row has no arrow")
	}
	// pre-due sends sms and inapp: one lane each.
	if pre := regexp.MustCompile(`(?s)data-step="pre-due">(.*?)</g>\s*</g>`).FindStringSubmatch(svg); pre == nil ||
		!strings.Contains(pre[1], `data-channel="sms"`) || !strings.Contains(pre[1], `data-channel="inapp"`) {
		t.Errorf("pre-due row lacks a lane per channel")
	}
	_, row := elementByID(t, res.body, "steps-standard")
	for _, want := range []string{"3 days before, once", "1 day after, then every 3 days, the last at 29 days after", "7 days after, then every 2 days while the case is open", "at -3d", "at 1d, every 3d, until 29d"} {
		if !strings.Contains(text(row), want) {
			t.Errorf("steps table lacks %q", want)
		}
	}
	_, rules := elementByID(t, res.body, "rules")
	for _, want := range []string{"between 08:00 and 21:00", "SMS: at most 3 in any 1 day, counted per borrower. (built-in default)",
		"Calls: at most 7 in any 7 days, counted per loan.", "Email: no cap.", "STOP, UNSUBSCRIBE, 退订, TD, T", "No preset"} {
		if !strings.Contains(text(rules), want) {
			t.Errorf("rules lack %q:\n%s", want, text(rules))
		}
	}
}

func TestPoliciesPageSaysWhereEachRuleComesFrom(t *testing.T) {
	t.Parallel()
	b := newOps(t, func(c *config.Config) {
		c.Compliance.Preset = config.Presets{compliance.PresetCNGBT}
		c.Compliance.SendWindow = config.Window{Start: "09:00", End: "20:00"}
		c.Compliance.Caps = map[string]config.Cap{"email": {Max: 2, Per: config.Duration(7 * 24 * time.Hour)}}
	})
	s := b.browser(t, "t-ops")
	res := s.get(t, "/console/policies")
	for id, want := range map[string]string{
		"rule-window":    "between 09:00 and 20:00 in the borrower's local time; where the phone number's region has other zones, only in the hours inside the window in all of them. Outside it they wait and are sent when it opens. (set by compliance.send_window)",
		"rule-cap-email": "Email: at most 2 in any 7 days, counted per borrower. (set by compliance.caps.email)",
		"rule-cap-sms":   "(built-in default)",
		"rule-connected": "At most 3 connected calls per borrower per local day. (from preset cn-gbt-2025)",
	} {
		if _, li := elementByID(t, res.body, id); !strings.Contains(text(li), want) {
			t.Errorf("%s = %q, want %q", id, text(li), want)
		}
	}
	if _, p := elementByID(t, res.body, "rules-sources"); !strings.Contains(text(p), "贷后催收风控指引") {
		t.Errorf("preset sources %q", text(p))
	}
}

// TestPoliciesPageNamesThePresetOfEachRule: with presets combined, each
// rule line names the preset its value comes from, and the rules only a
// preset sets are listed.
func TestPoliciesPageNamesThePresetOfEachRule(t *testing.T) {
	t.Parallel()
	b := newOps(t, func(c *config.Config) {
		c.Compliance.Preset = config.Presets{compliance.PresetUSRegF, compliance.PresetUSMA}
	})
	s := b.browser(t, "t-ops")
	res := s.get(t, "/console/policies")
	for id, want := range map[string]string{
		"rule-phone-contacts": "at most 2 calls and texts in any 7 days to a home or mobile number, and 2 in any 30 days to other numbers. (from preset us-ma)",
		"rule-number-check":   "within 60 days; otherwise it waits for one. (from preset us-regf)",
		"rule-consent":        "(from preset us-regf)",
		"rule-cap-voice":      "(from preset us-regf)",
		"rules-preset":        "Preset: us-regf, us-ma.",
	} {
		if _, li := elementByID(t, res.body, id); !strings.Contains(text(li), want) {
			t.Errorf("%s = %q, want %q", id, text(li), want)
		}
	}
	if _, p := elementByID(t, res.body, "rules-sources"); !strings.Contains(text(p), "940 CMR 7.04(1)(f)") || !strings.Contains(text(p), "1006.14(b)(3)(i)") {
		t.Errorf("preset sources %q", text(p))
	}
}

// TestPoliciesPageDryRun: the policies page runs a dry run of the
// configuration on generated borrowers, compared with a preset, and shows
// its totals and charts as SVG images; a bad number is refused beside the
// form.
func TestPoliciesPageDryRun(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	if _, err := b.store.Seed(b.ctx, "", "test"); err != nil {
		t.Fatal(err)
	}
	s := b.browser(t, "t-ops")
	page := s.get(t, "/console/policies")
	if _, form := elementByID(t, page.body, "dry-run-form"); !strings.Contains(form, `name="days"`) || !strings.Contains(form, `value="us-regf"`) {
		t.Fatalf("no dry-run form with days and the presets:\n%s", form)
	}
	res := s.post(t, "/console/policies/dry-run", url.Values{"csrf": {page.csrf(t)}, "days": {"10"}, "borrowers": {"40"}, "preset": {"us-regf"}})
	if res.status != http.StatusOK {
		t.Fatalf("dry run: %d %s", res.status, res.body)
	}
	_, section := elementByID(t, res.body, "dry-run")
	for _, want := range []string{"live: 40 borrowers, 10 days from", "us-regf: 40 borrowers", "sent "} {
		if !strings.Contains(text(section), want) {
			t.Errorf("dry run section lacks %q:\n%s", want, text(section))
		}
	}
	for _, chart := range []string{"status", "compare", "timeline"} {
		img, _ := elementByID(t, res.body, "dry-run-chart-"+chart)
		if !strings.HasPrefix(attr(img, "src"), "data:image/svg+xml;base64,") || attr(img, "alt") == "" {
			t.Errorf("chart %s: %s, want an SVG image with a text", chart, img)
		}
	}
	for _, tt := range []struct {
		name      string
		form      url.Values
		wantError string
	}{
		{name: "400 days", form: url.Values{"days": {"400"}, "borrowers": {"40"}}, wantError: "1 to 90"},
		{name: "5000 borrowers", form: url.Values{"days": {"10"}, "borrowers": {"5000"}}, wantError: "1 to 2000"},
		{name: "no number", form: url.Values{"days": {"ten"}, "borrowers": {"40"}}, wantError: "1 to 90"},
		{name: "unknown preset", form: url.Values{"days": {"10"}, "borrowers": {"40"}, "preset": {"nope"}}, wantError: "variant.compliance.preset"},
	} {
		tt.form.Set("csrf", page.csrf(t))
		res = s.post(t, "/console/policies/dry-run", tt.form)
		if _, msg := elementByID(t, res.body, "dry-run-error"); res.status != http.StatusBadRequest || !strings.Contains(text(msg), tt.wantError) {
			t.Errorf("%s: %d %q, want 400 saying %q", tt.name, res.status, text(msg), tt.wantError)
		}
	}
}
