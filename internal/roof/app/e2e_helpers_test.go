package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
	"github.com/forbear/forbear/internal/testkit/smtpserver"
)

// world is one NATS server, a fake Twilio and an SMTP server: what any
// number of forbear instances in a test share.
type world struct {
	nats *testkit.NATS
	// url, when set, is the NATS the instances use instead of nats (a
	// cluster).
	url    string
	twilio *faketwilio.Server
	smtp   *smtpserver.Server
	tmpl   string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldOn(t, testkit.StartNATS(t), "")
}

// newWorldOn is a world whose instances use n, or the NATS at url when n is
// nil.
func newWorldOn(t *testing.T, n *testkit.NATS, url string) *world {
	t.Helper()
	w := &world{nats: n, url: url, twilio: faketwilio.New(t), smtp: smtpserver.Start(t, smtpserver.Options{TLS: "none"})}
	w.tmpl = t.TempDir()
	const tmpl = `category: collection
channels:
  sms:
    en-US: "Hi {{.Borrower.Name}}, loan {{.Loan.ID}} is overdue. Reply STOP to opt out."
  voice:
    en-US: "Hello {{.Borrower.Name}}. Your loan {{.Loan.ID}} is overdue."
  email:
    en-US:
      subject: "Loan {{.Loan.ID}} is overdue"
      body: "Dear {{.Borrower.Name}}, please repay. Reply STOP to opt out."
  inapp:
    en-US:
      title: "Loan {{.Loan.ID}} is overdue"
      body: "Please repay {{.Loan.AmountDue}} in the app."
`
	if err := os.WriteFile(filepath.Join(w.tmpl, "tick.yaml"), []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// config returns an instance configuration on the shared parts: one policy
// "tick" that sends on chans at the due date's midnight and then every
// period (once when period is 0).
func (w *world) config(t *testing.T, period time.Duration, chans ...string) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Scheduler.Sweep = "@every 1s"
	cfg.Scheduler.Timezone = "UTC"
	cfg.TemplatesDir = w.tmpl
	cfg.Agreements.Policy = ""
	host, port := w.smtp.Addr()
	cfg.Providers.SMS = config.Provider{Kind: "twilio", From: "+15005550006", Twilio: w.twilio.Twilio(), Concurrency: 32}
	cfg.Providers.Voice = config.Provider{Kind: "twilio", From: "+15005550006", Twilio: w.twilio.Twilio(), Concurrency: 8}
	cfg.Providers.Email = config.Provider{Kind: "smtp", From: "collections@example.com", Concurrency: 16,
		SMTP: config.SMTP{Host: host, Port: port, TLS: "none"}}
	step := config.Step{ID: "tick", At: 0, Channels: chans, Template: "tick"}
	if period > 0 {
		every := config.Duration(period)
		step.Every = &every
	}
	cfg.Policies = []config.Policy{{ID: "tick", Category: "collection", Steps: []config.Step{step}}}
	// No contact rules unless a test sets them: tests must not depend on
	// the hour CI runs at.
	cfg.Compliance.SendWindow = config.Window{Start: "00:00", End: "24:00"}
	cfg.Compliance.Caps = map[string]config.Cap{}
	return cfg
}

func quiet() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// start runs an instance on the world's NATS until the test ends, on the
// wall clock.
func (w *world) start(t *testing.T, cfg config.Config, name string) *app.App {
	t.Helper()
	return w.startWithClock(t, cfg, name, nil)
}

func phone(i int) string { return fmt.Sprintf("+1555%07d", i) }
func mailbox(i int) string {
	return fmt.Sprintf("b%d@example.com", i)
}

// loadBorrowers posts n borrowers, each with one overdue loan due today.
func loadBorrowers(t *testing.T, base string, n int, from int) {
	t.Helper()
	loadBorrowersAs(t, base, "", n, from)
}

func loadBorrowersAs(t *testing.T, base, token string, n int, from int) {
	t.Helper()
	today := time.Now().UTC().Format(time.DateOnly)
	var events []map[string]any
	for i := from; i < from+n; i++ {
		events = append(events,
			map[string]any{"specversion": "1.0", "id": fmt.Sprintf("bu-%d", i), "source": "test", "type": "borrower.upserted",
				"data": map[string]any{"borrower_id": fmt.Sprintf("b%d", i), "name": fmt.Sprintf("Borrower %d", i), "locale": "en-US",
					"timezone": "UTC", "phone": phone(i), "email": mailbox(i)}},
			map[string]any{"specversion": "1.0", "id": fmt.Sprintf("lu-%d", i), "source": "test", "type": "loan.updated",
				"data": map[string]any{"borrower_id": fmt.Sprintf("b%d", i), "loan_id": fmt.Sprintf("l%d", i), "due_date": today,
					"amount_due": "100.00", "currency": "USD", "status": "overdue", "policy": "tick"}})
	}
	status, body := do(t, http.MethodPost, base+"/v1/events", token, events)
	if status != http.StatusOK {
		t.Fatalf("load borrowers: %d %s", status, body)
	}
}

func post(t *testing.T, url string, v any) (int, []byte) {
	t.Helper()
	return do(t, http.MethodPost, url, "", v)
}

// do sends a request with an optional bearer token and JSON body.
func do(t *testing.T, method, url, token string, v any) (int, []byte) {
	t.Helper()
	var body io.Reader
	if v != nil {
		data, _ := json.Marshal(v)
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return 0, nil
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// auditLog collects every delivery record from the DELIVERIES stream's
// subjects as they are published (not the suppression history beside
// them).
type auditLog struct {
	mu      sync.Mutex
	records []domain.Delivery
}

func watchAudit(t *testing.T, nc *nats.Conn) *auditLog {
	t.Helper()
	l := &auditLog{}
	sub, err := nc.Subscribe(store.DeliveriesPrefix+">", func(m *nats.Msg) {
		// A reminder's records are on <prefix><borrower>.<reminder> (or the
		// legacy <prefix><borrower>); a borrower's suppression history is
		// beside them, a token deeper (store.SuppressionHistorySubject), and
		// is not a delivery record.
		if strings.Count(strings.TrimPrefix(m.Subject, store.DeliveriesPrefix), ".") > 1 {
			return
		}
		var d domain.Delivery
		if json.Unmarshal(m.Data, &d) == nil {
			l.mu.Lock()
			l.records = append(l.records, d)
			l.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return l
}

// dump logs every record (for a failing test's output).
func (l *auditLog) dump(t *testing.T) {
	for _, d := range l.all() {
		t.Logf("%s %-10s %s %s", d.At.Format("15:04:05.000"), d.Status, d.ID, d.Reason)
	}
}

func (l *auditLog) all() []domain.Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]domain.Delivery(nil), l.records...)
}
