package smtpserver_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/forbear/forbear/internal/testkit/smtpserver"
)

const raw = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"

func dial(t *testing.T, s *smtpserver.Server, mode string) *smtp.Client {
	t.Helper()
	host, port := s.Addr()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var (
		c   *smtp.Client
		err error
	)
	switch mode {
	case "starttls":
		c, err = smtp.DialStartTLS(addr, s.ClientTLSConfig())
	case "tls":
		c, err = smtp.DialTLS(addr, s.ClientTLSConfig())
	default:
		c, err = smtp.Dial(addr)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", mode, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestModesRecordAndWait(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"none", "starttls", "tls"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := smtpserver.Start(t, smtpserver.Options{TLS: mode, Username: "u", Password: "p"})
			c := dial(t, s, mode)
			if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(raw)); !isCode(err, 502) {
				t.Fatalf("send without AUTH: %v, want 502 auth required", err)
			}
			if err := c.Auth(sasl.NewPlainClient("", "u", "p")); err != nil {
				t.Fatalf("auth: %v", err)
			}
			if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(raw)); err != nil {
				t.Fatalf("send: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			msgs, err := s.Wait(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[0]
			if m.From != "a@example.com" || m.To[0] != "b@example.com" || m.Header.Get("Subject") != "hi" ||
				string(m.Body) != "body\r\n" || m.User != "u" || m.TLS != (mode != "none") {
				t.Errorf("recorded %+v", m)
			}
			if s.Count() != 1 || s.Connections() != 1 {
				t.Errorf("Count=%d Connections=%d, want 1 and 1", s.Count(), s.Connections())
			}
		})
	}
}

func TestRejectNext(t *testing.T) {
	t.Parallel()
	s := smtpserver.Start(t, smtpserver.Options{})
	s.RejectNext("B@example.com", 451, 2)
	c := dial(t, s, "none")
	for i, want := range []int{451, 451, 0} {
		err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(raw))
		if want == 0 && err != nil || want != 0 && !isCode(err, want) {
			t.Fatalf("attempt %d: err = %v, want code %d", i, err, want)
		}
		if err != nil {
			if err := c.Reset(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if s.Count() != 1 {
		t.Errorf("Count = %d, want 1", s.Count())
	}
}

func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	s := smtpserver.Start(t, smtpserver.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Wait(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
}

func isCode(err error, code int) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == code
}
