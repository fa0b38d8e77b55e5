package templates

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/domain"
)

// mustCompile parses a definition as the store's cache would.
func mustCompile(t testing.TB, id string, def Definition) *compiled {
	t.Helper()
	c, err := compileChecked("", def, defaultRules())
	if err != nil {
		t.Fatalf("compile %s: %v", id, err)
	}
	c.id, c.version = id, 1
	return c
}

func bundledCompiled(t testing.TB) map[string]*compiled {
	t.Helper()
	defs, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*compiled{}
	for id, def := range defs {
		out[id] = mustCompile(t, id, def)
	}
	return out
}

func TestLocaleFallback(t *testing.T) {
	t.Parallel()
	text := func(s string) Text { return Text{Body: s} }
	tests := []struct {
		name    string
		texts   map[string]Text
		locale  string
		wantLoc string
	}{
		{"exact", map[string]Text{"zh-CN": text("zh"), "en-US": text("en")}, "zh-CN", "zh-CN"},
		{"case and separator", map[string]Text{"zh-CN": text("zh"), "en-US": text("en")}, "zh_cn", "zh-CN"},
		{"missing locale falls back to en-US", map[string]Text{"zh-CN": text("zh"), "en-US": text("en")}, "fr-FR", "en-US"},
		{"empty locale falls back to en-US", map[string]Text{"zh-CN": text("zh"), "en-US": text("en")}, "", "en-US"},
		{"no en-US: first sorted", map[string]Text{"zh-CN": text("zh"), "es-MX": text("es"), "ja-JP": text("ja")}, "fr-FR", "es-MX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustCompile(t, "t", Definition{Channels: map[domain.Channel]map[string]Text{domain.SMS: tt.texts}})
			for range 3 { // deterministic, not map order
				r, err := c.render(domain.SMS, tt.locale, Sample(tt.locale))
				if err != nil {
					t.Fatal(err)
				}
				if r.Locale != tt.wantLoc || r.Text != tt.texts[tt.wantLoc].Body {
					t.Fatalf("render(%q) = %s %q, want %s", tt.locale, r.Locale, r.Text, tt.wantLoc)
				}
			}
		})
	}
}

// TestBundled checks every bundled template: valid, with the channels the
// policies and the brief expect, rendering in both locales with the helpers'
// output and nothing left unrendered.
func TestBundled(t *testing.T) {
	t.Parallel()
	defs, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]domain.Channel{
		"pre_due":            {domain.SMS, domain.InApp, domain.Email},
		"overdue":            {domain.SMS, domain.Email, domain.InApp},
		"call":               {domain.Voice},
		"final_notice":       {domain.SMS, domain.Email},
		"installment_due":    {domain.SMS, domain.InApp},
		"installment_missed": {domain.SMS, domain.InApp},
		"relief_offer":       {domain.SMS, domain.InApp, domain.Email},
	}
	if len(defs) != len(want) {
		t.Errorf("bundled %d templates, want %d", len(defs), len(want))
	}
	for id, chans := range want {
		def, ok := defs[id]
		if !ok {
			t.Errorf("bundled template %s missing", id)
			continue
		}
		wantCat := CategoryCollection
		if strings.HasPrefix(id, "installment_") {
			wantCat = CategoryAgreement
		}
		if def.Category != wantCat {
			t.Errorf("%s: category %q, want %q", id, def.Category, wantCat)
		}
		if err := def.Validate(); err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		c := mustCompile(t, id, def)
		for _, ch := range chans {
			for _, loc := range []string{"zh-CN", "en-US"} {
				if _, ok := def.Channels[ch][loc]; !ok {
					t.Errorf("%s: no %s text in %s", id, ch, loc)
					continue
				}
				data := Sample(loc)
				data.Loan.Currency = "USD"
				r, err := c.render(ch, loc, data)
				if err != nil {
					t.Errorf("%s %s %s: %v", id, ch, loc, err)
					continue
				}
				all := r.Subject + r.Text
				if strings.Contains(all, "{{") || strings.Contains(all, "<no value>") {
					t.Errorf("%s %s %s: unrendered: %q", id, ch, loc, all)
				}
				wantMoney := "$1,200.00"
				if strings.HasPrefix(id, "installment_") {
					wantMoney = "$400.00"
				}
				if loc == "zh-CN" {
					wantMoney = "US" + wantMoney
				}
				if !strings.Contains(all, wantMoney) {
					t.Errorf("%s %s %s: no %q in %q", id, ch, loc, wantMoney, all)
				}
				if ch == domain.Email && (r.Subject == "" || r.HTML == "") {
					t.Errorf("%s %s: subject %q html %q", id, loc, r.Subject, r.HTML)
				}
				if id == "relief_offer" && ch == domain.SMS && strings.Contains(strings.ToLower(r.Text), "http") {
					t.Errorf("relief_offer sms carries a link: %q", r.Text)
				}
			}
		}
	}
}

func TestRenderDataIsNeverCode(t *testing.T) {
	t.Parallel()
	c := bundledCompiled(t)["pre_due"]
	data := Sample("en-US")
	data.Borrower.Name = `{{.Loan.ID}} <script>alert(1)</script>
Bcc: victim@example.com`
	r, err := c.render(domain.Email, "en-US", data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, data.Borrower.Name) {
		t.Errorf("name not printed verbatim: %q", r.Text)
	}
	if strings.Contains(r.HTML, "<script>") || !strings.Contains(r.HTML, "&lt;script&gt;") {
		t.Errorf("html not escaped: %q", r.HTML)
	}
	if !strings.Contains(r.HTML, "<br>") {
		t.Errorf("html has no line breaks: %q", r.HTML)
	}
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Errorf("subject spans lines: %q", r.Subject)
	}
}

func TestRenderNotFound(t *testing.T) {
	t.Parallel()
	c := bundledCompiled(t)["call"]
	if _, err := c.render(domain.SMS, "en-US", Sample("en-US")); !errors.Is(err, ErrNotFound) {
		t.Errorf("render of a missing channel = %v, want ErrNotFound", err)
	}
}

func TestTextToHTML(t *testing.T) {
	t.Parallel()
	got := TextToHTML("Tom & Jerry's <b>\r\nline 2\n")
	want := "Tom &amp; Jerry&#39;s &lt;b&gt;<br>\nline 2<br>\n"
	if got != want {
		t.Errorf("TextToHTML = %q, want %q", got, want)
	}
}

func TestRenderDefinitionDraft(t *testing.T) {
	t.Parallel()
	r, err := RenderDefinition("draft", sampleDefinition(), domain.Email, "en-US", Sample("en-US"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Due Mar 5, 2026" || r.ID != "draft" {
		t.Errorf("draft render = %+v", r)
	}
	if _, err := RenderDefinition("draft", Definition{}, domain.SMS, "en-US", Sample("en-US")); err == nil {
		t.Error("invalid draft rendered")
	}
}

// FuzzRender feeds arbitrary borrower data through every bundled template:
// no panic, no "<no value>", well-formed data always renders, and the
// borrower's name comes out exactly as it went in.
func FuzzRender(f *testing.F) {
	f.Add("Alex Chen", "1200.00", "USD", "2026-03-05", 3, "en-US")
	f.Add("{{.Loan.ID}}", "0.005", "CNY", "2026-02-28", -3, "zh-CN")
	f.Add("<b>&</b>\n", "-1", "eur", "bad", 0, "zh_cn")
	f.Add("", "1e9", "", "", 1<<40, "")
	f.Add(`{{template "x"}}`, "99999999999999999999.999", "JPY", "2026-12-31", 1, "fr-FR")
	decimalRE := regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)
	c := bundledCompiled(f)
	ids := sortedKeys(c)
	f.Fuzz(func(t *testing.T, name, amount, currency, due string, dpd int, locale string) {
		data := Sample(locale)
		data.Borrower.Name = name
		data.Loan.AmountDue, data.Agreement.NextAmount = amount, amount
		data.Loan.Currency = currency
		data.Loan.DueDate, data.Agreement.NextDueDate = due, due
		data.Case.DaysPastDue = dpd
		_, dateErr := newFormatter("en-US").date(due)
		wellFormed := decimalRE.MatchString(strings.TrimSpace(amount)) &&
			(strings.TrimSpace(currency) == "" || isCurrencyCode(strings.ToUpper(strings.TrimSpace(currency)))) &&
			dateErr == nil
		for _, id := range ids {
			for _, ch := range domain.Channels {
				if c[id].channels[ch] == nil {
					continue
				}
				r, err := c[id].render(ch, locale, data)
				if err != nil {
					if wellFormed {
						t.Fatalf("%s %s: well-formed data failed: %v", id, ch, err)
					}
					continue
				}
				if strings.Contains(r.Subject+r.Text+r.HTML, "<no value>") {
					t.Fatalf("%s %s: <no value> in %q", id, ch, r.Text)
				}
				if id == "pre_due" && ch == domain.SMS && !strings.Contains(r.Text, name) {
					t.Fatalf("name %q altered in %q", name, r.Text)
				}
			}
		}
	})
}

func BenchmarkRender(b *testing.B) {
	c := bundledCompiled(b)["pre_due"]
	data := Sample("en-US")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.render(domain.SMS, "en-US", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderEmail(b *testing.B) {
	c := bundledCompiled(b)["overdue"]
	data := Sample("zh-CN")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.render(domain.Email, "zh-CN", data); err != nil {
			b.Fatal(err)
		}
	}
}
