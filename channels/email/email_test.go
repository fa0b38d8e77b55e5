package email_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/channeltest"
	"github.com/forbear/forbear/channels/email"
	"github.com/forbear/forbear/internal/clock"
	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/testkit/smtpserver"
)

type bundle struct {
	p   *email.Provider
	srv *smtpserver.Server
}

// setup starts a test relay in the given mode and a provider pointed at it.
func setup(t *testing.T, so smtpserver.Options) bundle {
	t.Helper()
	srv := smtpserver.Start(t, so)
	host, port := srv.Addr()
	mode := so.TLS
	if mode == "" {
		mode = "none"
	}
	cfg := config.Provider{Kind: "smtp", From: "Forbear Collections <collections@example.com>",
		SMTP: config.SMTP{Host: host, Port: port, TLS: mode, Username: so.Username, Password: so.Password}}
	p, err := email.New(cfg, email.Options{
		TLSConfig: srv.ClientTLSConfig(),
		Clock:     clock.NewFake(time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)),
	})
	if err != nil {
		t.Fatalf("email.New: %v", err)
	}
	return bundle{p: p, srv: srv}
}

var seq atomic.Int64

func message() channels.Message {
	n := seq.Add(1)
	return channels.Message{
		ReminderID: fmt.Sprintf("loan-%d/pre-due/0/email", n), BorrowerID: fmt.Sprintf("b-%d", n),
		LoanID: fmt.Sprintf("loan-%d", n), Channel: domain.Email, To: "alice@example.com",
		Locale: "en-US", Subject: "Your payment is due", Text: "Hello Alice,\nplease pay 1200.00 CNY.",
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, so := range []smtpserver.Options{
		{TLS: "none"},
		{TLS: "none", Username: "relay", Password: "s3cret"},
		{TLS: "starttls", Username: "relay", Password: "s3cret"},
		{TLS: "tls"},
		{TLS: "tls", Username: "relay", Password: "s3cret"},
	} {
		name := so.TLS
		if so.Username != "" {
			name += "+auth"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			channeltest.Run(t, func(t *testing.T) channeltest.Harness {
				b := setup(t, so)
				return channeltest.Harness{Provider: b.p, Message: message, Calls: b.srv.Connections}
			})
		})
	}
}

func TestTransportReachesServer(t *testing.T) {
	t.Parallel()
	for _, so := range []smtpserver.Options{
		{TLS: "none", Username: "relay", Password: "s3cret"},
		{TLS: "starttls", Username: "relay", Password: "s3cret"},
		{TLS: "tls", Username: "relay", Password: "s3cret"},
	} {
		t.Run(so.TLS, func(t *testing.T) {
			t.Parallel()
			b := setup(t, so)
			if _, err := b.p.Send(ctx(t), message()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs, err := b.srv.Wait(ctx(t), 1)
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[0]
			if wantTLS := so.TLS != "none"; m.TLS != wantTLS {
				t.Errorf("TLS = %v, want %v", m.TLS, wantTLS)
			}
			if m.User != "relay" {
				t.Errorf("authenticated user = %q, want relay", m.User)
			}
			if m.From != "collections@example.com" || len(m.To) != 1 || m.To[0] != "alice@example.com" {
				t.Errorf("envelope = %q -> %q", m.From, m.To)
			}
		})
	}
}

func TestMIME(t *testing.T) {
	t.Parallel()
	b := setup(t, smtpserver.Options{})
	msg := message()
	msg.Subject = "还款提醒: 1200.00 due"
	msg.Text = "Dear Alice,\n<script>alert(1)</script> pay now. Ünïcode ok."
	msg.HTML = email.HTMLBody(msg.Text)
	msg.UnsubscribeURL = "https://lender.example/unsub?t=abc"
	res, err := b.p.Send(ctx(t), msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.Status != domain.Sent {
		t.Errorf("Status = %q, want sent", res.Status)
	}
	msgs, err := b.srv.Wait(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	h := m.Header
	if h == nil {
		t.Fatalf("message does not parse:\n%s", m.Data)
	}

	want := map[string]string{
		"From":                  `"Forbear Collections" <collections@example.com>`,
		"To":                    "<alice@example.com>",
		"Message-Id":            "<" + res.ProviderRef + ">",
		"Mime-Version":          "1.0",
		"List-Unsubscribe":      "<https://lender.example/unsub?t=abc>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"Date":                  "Sun, 01 Mar 2026 09:30:00 +0000",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	rawSubject := h.Get("Subject")
	if !strings.HasPrefix(rawSubject, "=?utf-8?") {
		t.Errorf("Subject %q is not RFC 2047 encoded", rawSubject)
	}
	var dec mime.WordDecoder
	if got, err := dec.DecodeHeader(rawSubject); err != nil || got != msg.Subject {
		t.Errorf("decoded Subject = %q (%v), want %q", got, err, msg.Subject)
	}

	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", h.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(strings.NewReader(string(m.Body)), params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part %s: Content-Transfer-Encoding = %q", p.Header.Get("Content-Type"), cte)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatalf("quoted-printable: %v", err)
		}
		parts[p.Header.Get("Content-Type")] = strings.ReplaceAll(string(body), "\r\n", "\n")
	}
	if got := parts["text/plain; charset=utf-8"]; got != msg.Text {
		t.Errorf("text part = %q, want %q", got, msg.Text)
	}
	html := parts["text/html; charset=utf-8"]
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Errorf("html part not escaped: %q", html)
	}
	for _, line := range strings.Split(string(m.Data), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line longer than 998 octets: %d", len(line))
		}
	}
}

func TestTextOnlyHasNoHTMLPartNorUnsubscribe(t *testing.T) {
	t.Parallel()
	b := setup(t, smtpserver.Options{})
	if _, err := b.p.Send(ctx(t), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs, err := b.srv.Wait(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if got := m.Header.Get("Subject"); got != "Your payment is due" {
		t.Errorf("ASCII subject = %q, want it unencoded", got)
	}
	if m.Header.Get("List-Unsubscribe") != "" {
		t.Errorf("List-Unsubscribe set without an URL")
	}
	if strings.Contains(string(m.Body), "text/html") {
		t.Errorf("text-only message has an HTML part")
	}
}

func TestMessageIDIsStableAcrossResends(t *testing.T) {
	t.Parallel()
	b := setup(t, smtpserver.Options{})
	msg := message()
	r1, err := b.p.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := b.p.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.p.Send(ctx(t), message())
	if err != nil {
		t.Fatal(err)
	}
	if r1.ProviderRef != r2.ProviderRef {
		t.Errorf("resend ref %q != first ref %q", r2.ProviderRef, r1.ProviderRef)
	}
	if other.ProviderRef == r1.ProviderRef {
		t.Errorf("two reminders share Message-ID %q", r1.ProviderRef)
	}
	if !strings.HasSuffix(r1.ProviderRef, "@example.com") {
		t.Errorf("Message-ID %q not in the sender's domain", r1.ProviderRef)
	}
	msgs, err := b.srv.Wait(ctx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := msgs[0].Header.Get("Message-Id"), msgs[1].Header.Get("Message-Id"); a != b {
		t.Errorf("Message-ID headers differ: %q, %q", a, b)
	}
}

func TestHeaderInjection(t *testing.T) {
	t.Parallel()
	b := setup(t, smtpserver.Options{})
	msg := message()
	msg.Subject = "Reminder\r\nBcc: evil@attacker.example\r\n\r\n<html>"
	msg.UnsubscribeURL = "https://lender.example/u?x=1\r\nBcc: evil@attacker.example"
	if _, err := b.p.Send(ctx(t), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs, err := b.srv.Wait(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if len(m.Header["Bcc"]) != 0 {
		t.Errorf("injected Bcc header: %q", m.Header["Bcc"])
	}
	if len(m.To) != 1 {
		t.Errorf("envelope recipients = %q, want only alice", m.To)
	}
	head, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "bcc:") {
			t.Errorf("header block has an injected line %q", line)
		}
	}
	if got := m.Header.Get("Subject"); got != "Reminder Bcc: evil@attacker.example  <html>" {
		t.Errorf("Subject = %q", got)
	}
	if got := m.Header.Get("List-Unsubscribe"); strings.ContainsAny(got, "\r\n ") {
		t.Errorf("List-Unsubscribe = %q", got)
	}

	// A recipient with a line break is not an address at all.
	bad := message()
	bad.To = "alice@example.com\r\nBcc: evil@attacker.example"
	_, err = b.p.Send(ctx(t), bad)
	var pe *channels.Error
	if !errors.As(err, &pe) || pe.Kind != channels.Permanent || pe.Code != "invalid_address" {
		t.Fatalf("Send to injected recipient: err = %v, want permanent invalid_address", err)
	}
	if got := b.srv.Count(); got != 1 {
		t.Errorf("server has %d messages, want 1", got)
	}
}

func TestHTMLBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"plain", "plain"},
		{"<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"},
		{"a & b\nc", "a &amp; b<br>\nc"},
		{"one\r\ntwo\rthree", "one<br>\ntwo<br>\nthree"},
		{`"quoted"`, "&#34;quoted&#34;"},
	}
	for _, tt := range tests {
		if got := email.HTMLBody(tt.in); got != tt.want {
			t.Errorf("HTMLBody(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSMTPReplyClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code     int
		wantKind channels.ErrorKind
	}{
		{550, channels.Permanent},
		{553, channels.Permanent},
		{451, channels.Retry},
		{452, channels.Retry},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			t.Parallel()
			b := setup(t, smtpserver.Options{})
			b.srv.RejectNext("alice@example.com", tt.code, 1)
			_, err := b.p.Send(ctx(t), message())
			var pe *channels.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *channels.Error", err)
			}
			if pe.Kind != tt.wantKind || pe.Code != fmt.Sprintf("smtp %d", tt.code) {
				t.Errorf("kind=%v code=%q, want kind=%v code=smtp %d", pe.Kind, pe.Code, tt.wantKind, tt.code)
			}
			if b.srv.Count() != 0 {
				t.Errorf("rejected message was recorded")
			}
			// The rejection was for one RCPT only: the retry goes through.
			if _, err := b.p.Send(ctx(t), message()); err != nil {
				t.Errorf("Send after rejection: %v", err)
			}
		})
	}
}

func TestStartTLSRequiredButNotOffered(t *testing.T) {
	t.Parallel()
	srv := smtpserver.Start(t, smtpserver.Options{TLS: "none"})
	host, port := srv.Addr()
	p, err := email.New(config.Provider{From: "c@example.com",
		SMTP: config.SMTP{Host: host, Port: port, TLS: "starttls", Username: "u", Password: "p"}}, email.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(ctx(t), message())
	var pe *channels.Error
	if !errors.As(err, &pe) || pe.Kind != channels.Retry || pe.Code != "starttls" {
		t.Fatalf("err = %v, want retryable starttls error", err)
	}
	if srv.Count() != 0 {
		t.Errorf("message sent in plain text")
	}
}

func TestUntrustedCertificateFails(t *testing.T) {
	t.Parallel()
	srv := smtpserver.Start(t, smtpserver.Options{TLS: "tls"})
	host, port := srv.Addr()
	cfg := config.Provider{From: "c@example.com", SMTP: config.SMTP{Host: host, Port: port, TLS: "tls"}}
	p, err := email.New(cfg, email.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx(t), message()); channels.Classify(err) != channels.Retry || err == nil {
		t.Fatalf("Send to self-signed relay without trust: err = %v, want retryable error", err)
	}
	// The config switch for test relays accepts it.
	cfg.SMTP.InsecureSkipVerify = true
	if p, err = email.New(cfg, email.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx(t), message()); err != nil {
		t.Fatalf("Send with insecure_skip_verify: %v", err)
	}
}

func TestWrongPasswordIsRetried(t *testing.T) {
	t.Parallel()
	srv := smtpserver.Start(t, smtpserver.Options{TLS: "starttls", Username: "relay", Password: "right"})
	host, port := srv.Addr()
	p, err := email.New(config.Provider{From: "c@example.com",
		SMTP: config.SMTP{Host: host, Port: port, TLS: "starttls", Username: "relay", Password: "wrong"}},
		email.Options{TLSConfig: srv.ClientTLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(ctx(t), message())
	var pe *channels.Error
	// A relay credential problem is not the borrower's message's fault.
	if !errors.As(err, &pe) || pe.Kind != channels.Retry || pe.Code != "smtp 535" {
		t.Fatalf("err = %v, want retryable smtp 535", err)
	}
}

func TestNetworkErrorIsRetried(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p, err := email.New(config.Provider{From: "c@example.com",
		SMTP: config.SMTP{Host: "127.0.0.1", Port: port, TLS: "none"}}, email.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(ctx(t), message())
	var pe *channels.Error
	if !errors.As(err, &pe) || pe.Kind != channels.Retry {
		t.Fatalf("err = %v, want retryable", err)
	}
}

func TestContextDeadlineStopsHungRelay(t *testing.T) {
	t.Parallel()
	// A relay that accepts the connection and never greets.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		defer close(accepted)
		if c, err := l.Accept(); err == nil {
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		if c, ok := <-accepted; ok {
			c.Close()
		}
	})
	p, err := email.New(config.Provider{From: "c@example.com",
		SMTP: config.SMTP{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: "none"}}, email.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = p.Send(c, message())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %s after a 200ms deadline", d)
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	ok := config.Provider{From: "c@example.com", SMTP: config.SMTP{Host: "smtp.example.com", TLS: "starttls"}}
	tests := []struct {
		name    string
		mut     func(*config.Provider)
		wantErr string
	}{
		{"valid", func(*config.Provider) {}, ""},
		{"empty tls defaults", func(p *config.Provider) { p.SMTP.TLS = "" }, ""},
		{"no host", func(p *config.Provider) { p.SMTP.Host = "" }, "providers.email.smtp.host is required"},
		{"bad tls", func(p *config.Provider) { p.SMTP.TLS = "ssl" }, "providers.email.smtp.tls must be none, starttls or tls"},
		{"no from", func(p *config.Provider) { p.From = "" }, "providers.email.from is required"},
		{"bad from", func(p *config.Provider) { p.From = "not an address" }, "providers.email.from"},
		{"bad port", func(p *config.Provider) { p.SMTP.Port = 70000 }, "providers.email.smtp.port must be between 1 and 65535"},
		{"password without user", func(p *config.Provider) { p.SMTP.Password = "x" }, "providers.email.smtp.username is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tt.mut(&cfg)
			_, err := email.New(cfg, email.Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	_, err := email.New(config.Provider{}, email.Options{})
	if err == nil || !strings.Contains(err.Error(), "from is required") || !strings.Contains(err.Error(), "host is required") {
		t.Errorf("New(empty) = %v, want every problem listed", err)
	}
}
