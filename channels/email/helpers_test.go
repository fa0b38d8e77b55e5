package email_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/email"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
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
