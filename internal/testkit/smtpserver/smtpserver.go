package smtpserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes, matching config.SMTP.TLS.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// Options configure a test server.
type Options struct {
	// TLS is "none" (plain, the default), "starttls" (plain, STARTTLS
	// offered) or "tls" (implicit TLS from the first byte).
	TLS string
	// Username and Password, when Username is set, make AUTH PLAIN
	// mandatory before MAIL FROM.
	Username string
	Password string
}

// Message is one message the server accepted.
type Message struct {
	// From is the envelope sender (MAIL FROM).
	From string
	// To are the envelope recipients (RCPT TO) that were accepted.
	To []string
	// Data is the message exactly as received after DATA.
	Data []byte
	// Header is Data's header, parsed; nil when Data is not a valid
	// RFC 5322 message.
	Header mail.Header
	// Body is Data after the header.
	Body []byte
	// TLS reports whether the transaction ran over TLS.
	TLS bool
	// User is the authenticated username, empty without AUTH.
	User string
	// Started is when the server accepted MAIL FROM: the start of the
	// transaction, which is what "no provider call after" is measured on.
	Started time.Time
}

// Server is a running in-process SMTP server. All methods are safe for
// concurrent use.
type Server struct {
	opts   Options
	srv    *smtp.Server
	ln     *countingListener
	host   string
	port   int
	client *tls.Config

	mu      sync.Mutex
	msgs    []Message
	rejects map[string]*reject
	changed chan struct{} // closed and replaced whenever msgs grows
}

type reject struct {
	code int
	left int
}

// Start starts a server on 127.0.0.1 on a free port. It is closed when the
// test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.TLS == "" {
		opts.TLS = TLSNone
	}
	if opts.TLS != TLSNone && opts.TLS != TLSStartTLS && opts.TLS != TLSImplicit {
		t.Fatalf("smtpserver: TLS %q, want none, starttls or tls", opts.TLS)
	}
	s := &Server{opts: opts, rejects: map[string]*reject{}, changed: make(chan struct{})}

	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtpserver: listen: %v", err)
	}
	s.ln = &countingListener{Listener: raw}
	addr := raw.Addr().(*net.TCPAddr)
	s.host, s.port = addr.IP.String(), addr.Port

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	// AUTH over a plain socket is what a "tls: none" relay with a password
	// looks like; the test server must accept it to test that mode.
	srv.AllowInsecureAuth = true
	// Clients hanging up produce connection errors that say nothing about
	// the code under test.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv

	var ln net.Listener = s.ln
	if opts.TLS != TLSNone {
		serverCfg, clientCfg, err := selfSigned(s.host)
		if err != nil {
			raw.Close()
			t.Fatalf("smtpserver: certificate: %v", err)
		}
		s.client = clientCfg
		if opts.TLS == TLSStartTLS {
			srv.TLSConfig = serverCfg
		} else {
			ln = tls.NewListener(s.ln, serverCfg)
		}
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		// Close only closes listeners Serve has registered; when the test
		// ends before the goroutine above ran, Serve would block in Accept.
		_ = ln.Close()
		<-done
	})
	return s
}

// Addr returns the host and port the server listens on.
func (s *Server) Addr() (host string, port int) { return s.host, s.port }

// ClientTLSConfig returns a TLS client configuration that trusts the
// server's self-signed certificate; nil when the server runs without TLS.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.client == nil {
		return nil
	}
	return s.client.Clone()
}

// Connections reports how many connections the server has accepted: the
// number of SMTP sessions a client started, successful or not.
func (s *Server) Connections() int { return int(s.ln.count()) }

// Messages returns a copy of every accepted message, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count reports how many messages the server accepted.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Wait blocks until the server has accepted at least n messages and returns
// them, or returns ctx's error.
func (s *Server) Wait(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			out := append([]Message(nil), s.msgs...)
			s.mu.Unlock()
			return out, nil
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("smtpserver: waiting for %d messages: %w", n, ctx.Err())
		}
	}
}

// RejectNext makes the next n RCPT TO commands for rcpt (case-insensitive)
// fail with code, e.g. 550 (permanent) or 451 (temporary).
func (s *Server) RejectNext(rcpt string, code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejects[strings.ToLower(rcpt)] = &reject{code: code, left: n}
}

// takeReject consumes one pending rejection for rcpt.
func (s *Server) takeReject(rcpt string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rejects[strings.ToLower(rcpt)]
	if r == nil || r.left <= 0 {
		return 0, false
	}
	r.left--
	return r.code, true
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{srv: s, conn: c}, nil
}

// session is one SMTP session. go-smtp calls it from one goroutine per
// connection, so it needs no locking of its own.
type session struct {
	srv     *Server
	conn    *smtp.Conn
	user    string
	from    string
	to      []string
	started time.Time
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.srv.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.srv.opts.Username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return errors.New("identity must match the username")
		}
		if username != s.srv.opts.Username || password != s.srv.opts.Password {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.Username != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	s.started = time.Now()
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if code, ok := s.srv.takeReject(to); ok {
		return &smtp.SMTPError{
			Code:         code,
			EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0},
			Message:      "recipient rejected by test",
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	m := Message{From: s.from, To: append([]string(nil), s.to...), Data: data, TLS: isTLS, User: s.user, Started: s.started}
	if pm, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
		m.Header = pm.Header
		m.Body, _ = io.ReadAll(pm.Body)
	}
	s.srv.record(m)
	return nil
}

func (s *session) Reset() {
	s.from = ""
	s.to = nil
}

func (s *session) Logout() error { return nil }

// selfSigned makes a throwaway certificate for host and the matching client
// configuration that trusts it.
func selfSigned(host string) (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "forbear test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client, nil
}

// countingListener counts accepted connections: each one is a provider call
// that reached the server.
type countingListener struct {
	net.Listener
	mu sync.Mutex
	n  int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.n++
		l.mu.Unlock()
	}
	return c, err
}

func (l *countingListener) count() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}
