package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/scheduler"
)

func TestWordDiff(t *testing.T) {
	t.Parallel()
	join := func(parts []diffPart, keep func(diffPart) bool) string {
		var b strings.Builder
		for _, p := range parts {
			if keep(p) {
				b.WriteString("[" + p.Text + "]")
			} else {
				b.WriteString(p.Text)
			}
		}
		return b.String()
	}
	tests := []struct {
		name, before, after   string
		wantBefore, wantAfter string
	}{
		{name: "a word added", before: "please pay.", after: "please pay today.", wantBefore: "please pay.", wantAfter: "please pay[ today]."},
		{name: "a word replaced", before: "Hi Alex, pay now", after: "Hello Alex, pay now", wantBefore: "[Hi] Alex, pay now", wantAfter: "[Hello] Alex, pay now"},
		{name: "Han characters are words", before: "请尽快还款", after: "请今天还款", wantBefore: "请[尽快]还款", wantAfter: "请[今天]还款"},
		{name: "added text", before: "", after: "new", wantBefore: "", wantAfter: "[new]"},
		{name: "removed text", before: "old", after: "", wantBefore: "[old]", wantAfter: ""},
		{name: "template actions stay whole", before: "{{.Loan.ID}} due", after: "{{.Loan.ID}} overdue", wantBefore: "{{.Loan.ID}} [due]", wantAfter: "{{.Loan.ID}} [overdue]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, a := wordDiff(tc.before, tc.after)
			if got := join(b, func(p diffPart) bool { return p.Removed }); got != tc.wantBefore {
				t.Errorf("before %q, want %q", got, tc.wantBefore)
			}
			if got := join(a, func(p diffPart) bool { return p.Added }); got != tc.wantAfter {
				t.Errorf("after %q, want %q", got, tc.wantAfter)
			}
		})
	}
}

func TestWordDiffOfLongTextsIsBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 2000) // 4000 tokens: 16M cells if compared
	b, a := wordDiff(long, long+"more")
	if len(b) != 1 || !b[0].Removed || len(a) != 1 || !a[0].Added {
		t.Errorf("a diff past the bound is not shown whole: %d, %d parts", len(b), len(a))
	}
}

func TestTokensGiveTheTextBack(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "a", "Hi  {{.Borrower.Name}},\n\n您好！ STOP", "😀 x"} {
		if got := strings.Join(tokens(s), ""); got != s {
			t.Errorf("tokens(%q) join to %q", s, got)
		}
	}
}

func TestTimelineIsBounded(t *testing.T) {
	t.Parallel()
	steps := []scheduler.Step{
		// Every minute for ten years: millions of sends, no tick each.
		{ID: "flood", At: 0, Every: time.Minute, Until: scheduler.MaxOffset, Bounded: true, Channels: []domain.Channel{domain.SMS}},
		{ID: "open", At: -scheduler.MaxOffset, Every: scheduler.MaxOffset, Channels: []domain.Channel{domain.Voice, domain.Email}},
	}
	tl := drawTimeline(steps)
	if len(tl.Rows) != 2 || len(tl.Rows[0].Lanes[0].Marks) != 0 || len(tl.Rows[1].Lanes) != 2 {
		t.Fatalf("rows %+v", tl.Rows)
	}
	if len(tl.Ticks) == 0 || len(tl.Ticks) > 11 {
		t.Errorf("%d ticks, want 1 to 11", len(tl.Ticks))
	}
	for _, r := range tl.Rows {
		for _, l := range r.Lanes {
			if l.X1 < tl.PlotLeft || l.X2 > tl.PlotRight || l.X1 > l.X2 {
				t.Errorf("lane %+v outside the plot [%d, %d]", l, tl.PlotLeft, tl.PlotRight)
			}
		}
	}
	if !tl.Rows[1].Lanes[0].Open || tl.Rows[1].Lanes[0].Arrow == "" {
		t.Errorf("an open-ended repeat has no arrow")
	}
	if w := stepWhen(English, steps[0]); !strings.Contains(w, "too many to mark") {
		t.Errorf("stepWhen %q does not say the ticks are left out", w)
	}
	// A single step at the anchor still gets an axis.
	one := drawTimeline([]scheduler.Step{{ID: "now", Channels: []domain.Channel{domain.InApp}}})
	if len(one.Ticks) == 0 || one.Rows[0].Lanes[0].X1 != one.ZeroX {
		t.Errorf("single step: ticks %v, dot at %d, zero at %d", one.Ticks, one.Rows[0].Lanes[0].X1, one.ZeroX)
	}
}

func TestDurationsInWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d       time.Duration
		en, zh  string
		compact string
	}{
		{24 * time.Hour, "1 day", "1天", "1d"},
		{36 * time.Hour, "1 day 12 hours", "1天12小时", "1d12h"},
		{90 * time.Minute, "1 hour 30 minutes", "1小时30分钟", "1h30m"},
		{7 * 24 * time.Hour, "7 days", "7天", "7d"},
		{90 * time.Second, "1m30s", "1m30s", "1m30s"},
	} {
		if got := durationWords(English, tc.d); got != tc.en {
			t.Errorf("%s in English: %q, want %q", tc.d, got, tc.en)
		}
		if got := durationWords(Chinese, tc.d); got != tc.zh {
			t.Errorf("%s in Chinese: %q, want %q", tc.d, got, tc.zh)
		}
		if got := compactDuration(tc.d); got != tc.compact {
			t.Errorf("compactDuration(%s) = %q, want %q", tc.d, got, tc.compact)
		}
	}
	if got := offsetLabel(-3 * 24 * time.Hour); got != "D-3d" {
		t.Errorf("offsetLabel(-3d) = %q", got)
	}
}

func TestGSMRuns(t *testing.T) {
	t.Parallel()
	runs, forcing, _ := gsmRuns("Hi “Li” 😀…")
	want := []textRun{{Text: "Hi "}, {Text: "“", UCS2: true}, {Text: "Li"}, {Text: "”", UCS2: true}, {Text: " "}, {Text: "😀…", UCS2: true}}
	if len(runs) != len(want) {
		t.Fatalf("runs %+v, want %+v", runs, want)
	}
	for i := range want {
		if runs[i] != want[i] {
			t.Errorf("run %d = %+v, want %+v", i, runs[i], want[i])
		}
	}
	if len(forcing) != 4 || forcing[2].Code != "U+1F600" {
		t.Errorf("forcing %+v", forcing)
	}
	var many strings.Builder
	for r := rune(0x4E00); r < 0x4E00+100; r++ {
		many.WriteRune(r)
	}
	if _, f, more := gsmRuns(many.String()); len(f) != maxForcing || more != 100-maxForcing {
		t.Errorf("%d distinct characters listed and %d more, want %d and %d", len(f), more, maxForcing, 100-maxForcing)
	}
}

func TestParseDraftFormIsBounded(t *testing.T) {
	t.Parallel()
	form := url.Values{
		"category":            {"collection"},
		"text.sms.en-US.body": {"line 1\r\nline 2"},
		"text.fax.en-US.body": {"no such channel"},
		"text.sms.en-US.note": {"no such part"},
		"text.sms.de-DE.bdy":  {"no such part either"},
	}
	for i := range 30 {
		form.Set(fmt.Sprintf("text.voice.x%02d.body", i), "v")
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f := parseDraftForm(r)
	// The bound, and the default locales the form always offers.
	if len(f.Locales) != maxLocales+1 || !slices.Contains(f.Locales, "zh-CN") || !slices.Contains(f.Locales, "en-US") {
		t.Errorf("locales %v: want %d (the bound, and zh-CN)", f.Locales, maxLocales+1)
	}
	for k := range f.Texts {
		if !slices.Contains(f.Locales, k.loc) {
			t.Errorf("text %v is not in the form", k)
		}
	}
	if slices.Contains(f.Locales, "de-DE") {
		t.Errorf("a field with an unknown part added its locale")
	}
	if got := f.Texts[textKey{domain.SMS, "en-US"}].Body; got != "line 1\nline 2" {
		t.Errorf("sms body %q, want LF line breaks", got)
	}
	def := f.definition()
	if _, ok := def.Channels["fax"]; ok {
		t.Errorf("an unknown channel reached the definition")
	}
}
