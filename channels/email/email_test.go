package email_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/channeltest"
	"github.com/forbear/forbear/channels/email"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/testkit/smtpserver"
)

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
