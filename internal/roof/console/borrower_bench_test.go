package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// benchRecords is how many delivery records the benchmark's borrower has.
const benchRecords = 1000

// busyBorrower stores a borrower with an overdue loan and benchRecords
// delivery records in the audit stream: a reminder a day for a year on
// every channel, queued and then sent (the newest first on the page),
// with the texts the bundled templates render.
func busyBorrower(tb testing.TB, b *supportBundle) {
	tb.Helper()
	b.publish(tb, borrowerUpserted("b-busy", "李雷", "+8613800000001", "lilei@example.com"), loanUpdated("b-busy", "L-1", "2026-11-20"))
	texts := map[domain.Channel]string{
		domain.SMS:   "李雷您好，您的借款L-1应还¥1,200.00（还款日2026年11月20日），目前已逾期3天。请尽快在App内还款；如有困难，可在App内查看还款方案。回复退订拒收",
		domain.Voice: "您好，这里是客户服务中心，本电话致电李雷。如果您不是李雷本人，请直接挂断，打扰了。李雷您好，关于您的借款L-1，应还金额¥1,200.00，还款日为2026年11月20日。",
		domain.Email: "尊敬的李雷：\n\n您好！我们尚未收到您借款L-1的还款¥1,200.00，该笔还款的还款日为2026年11月20日，目前已逾期3天。\n\n请尽快通过App还款。联系邮箱 lilei@example.com。",
		domain.InApp: "您的借款L-1应还¥1,200.00，还款日为2026年11月20日。请尽快还款；如有困难，可在“还款方案”中查看延期或分期方案。",
	}
	for i := range benchRecords {
		ch := domain.Channels[i%len(domain.Channels)]
		rem := domain.Reminder{ID: fmt.Sprintf("L-1/overdue/%d/%s", i/2, ch), BorrowerID: "b-busy", LoanID: "L-1",
			Channel: ch, Step: "overdue", Template: "overdue"}
		status := domain.Queued
		if i%2 == 1 {
			status = domain.Sent
		}
		d := domain.NewDelivery(rem, status, supportNow.Add(time.Duration(i-benchRecords)*time.Hour))
		if status == domain.Sent {
			d.TemplateVersion, d.ProviderRef = 3, fmt.Sprintf("SM%032d", i)
			d.To = map[domain.Channel]string{domain.SMS: "+8613800000001", domain.Voice: "+8613800000001", domain.Email: "lilei@example.com", domain.InApp: "b-busy"}[ch]
			d.SetText("", texts[ch])
		}
		if _, err := b.audit.RecordAsync(d); err != nil {
			tb.Fatal(err)
		}
	}
	select {
	case <-b.nats.JS.PublishAsyncComplete():
	case <-b.ctx.Done():
		tb.Fatal("records not stored")
	}
}

// BenchmarkBorrowerPage measures what a browser waits for when it opens
// the borrower page of a borrower with 1,000 delivery records: the server
// reading the borrower, the suppressions, the next reminders and the
// newest records from a real embedded NATS, and rendering the whole page
// to HTML. Run it with
//
//	go test -run '^$' -bench BorrowerPage -benchmem ./internal/console/
func BenchmarkBorrowerPage(b *testing.B) {
	sb := newSupport(b, 10*time.Millisecond)
	busyBorrower(b, sb)
	signedIn := sb.browser(b, "t-desk")
	cookies := signedIn.client.Jar.Cookies(mustURL(b, sb.srv.URL+"/console/"))
	handler := sb.srv.Config.Handler
	page := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/console/borrowers/b-busy", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec
	}
	first := page()
	if first.Code != http.StatusOK || strings.Count(first.Body.String(), `data-testid="delivery"`) != 200 {
		b.Fatalf("borrower page: %d with %d records, want 200 with the newest 200", first.Code, strings.Count(first.Body.String(), `data-testid="delivery"`))
	}
	b.SetBytes(int64(first.Body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if rec := page(); rec.Code != http.StatusOK {
			b.Fatalf("borrower page: %d", rec.Code)
		}
	}
}
