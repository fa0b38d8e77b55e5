package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
)

// TLS modes of config.SMTP.TLS.
const (
	// TLSNone talks plain SMTP (local relays, tests).
	TLSNone = "none"
	// TLSStartTLS upgrades with STARTTLS and fails when the relay does not
	// offer it: a silent downgrade to plain text would leak credentials.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit = "tls"
)

// DefaultTimeout bounds one SMTP transaction when the caller's context has
// no deadline of its own.
const DefaultTimeout = time.Minute

// Options are the parts of the provider that do not come from the config
// file.
type Options struct {
	// TLSConfig, when set, is used for STARTTLS and implicit TLS instead of
	// the system roots (tests trusting a throwaway certificate, private CAs).
	// ServerName defaults to the configured host.
	TLSConfig *tls.Config
	// LocalName is the name given in EHLO; default "localhost".
	LocalName string
	// Timeout bounds one send when ctx has no deadline; default
	// DefaultTimeout.
	Timeout time.Duration
	// Clock stamps the Date header; default the wall clock.
	Clock clock.Clock
	// Logger receives configuration warnings; default discards.
	Logger *logrus.Entry
}

// Provider sends reminders through an SMTP relay. It holds no connection
// between sends, so it is safe for concurrent use.
type Provider struct {
	host     string
	addr     string
	mode     string
	username string
	password string
	from     *mail.Address
	domain   string
	tls      *tls.Config
	opts     Options
}

var _ channels.Provider = (*Provider)(nil)

// New validates cfg (the providers.email section) and returns a provider.
// Every problem is reported, each naming its config key.
func New(cfg config.Provider, opts Options) (*Provider, error) {
	const key = "providers.email"
	var errs []error
	s := cfg.SMTP
	p := &Provider{host: strings.TrimSpace(s.Host), mode: strings.ToLower(strings.TrimSpace(s.TLS)),
		username: s.Username, password: s.Password, opts: opts}

	if strings.TrimSpace(cfg.From) == "" {
		errs = append(errs, fmt.Errorf("%s.from is required", key))
	} else if from, err := mail.ParseAddress(headerValue(cfg.From)); err != nil {
		errs = append(errs, fmt.Errorf("%s.from %q is not an email address: %w", key, cfg.From, err))
	} else {
		p.from = from
		p.domain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	}
	if p.host == "" {
		errs = append(errs, fmt.Errorf("%s.smtp.host is required", key))
	}
	switch p.mode {
	case "":
		// Encrypted unless the operator says otherwise.
		p.mode = TLSStartTLS
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		errs = append(errs, fmt.Errorf("%s.smtp.tls must be none, starttls or tls, not %q", key, s.TLS))
	}
	port := s.Port
	switch {
	case port == 0 && p.mode == TLSImplicit:
		port = 465
	case port == 0 && p.mode == TLSStartTLS:
		port = 587
	case port == 0:
		port = 25
	case port < 0 || port > 65535:
		errs = append(errs, fmt.Errorf("%s.smtp.port must be between 1 and 65535, not %d", key, port))
	}
	if p.username == "" && p.password != "" {
		errs = append(errs, fmt.Errorf("%s.smtp.username is required when a password is set", key))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("email: invalid config: %w", err)
	}

	p.addr = net.JoinHostPort(p.host, strconv.Itoa(port))
	if opts.TLSConfig != nil {
		p.tls = opts.TLSConfig.Clone()
	} else {
		p.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if p.tls.ServerName == "" {
		p.tls.ServerName = p.host
	}
	if s.InsecureSkipVerify {
		p.tls.InsecureSkipVerify = true
	}
	if p.opts.LocalName == "" {
		p.opts.LocalName = "localhost"
	}
	if p.opts.Timeout <= 0 {
		p.opts.Timeout = DefaultTimeout
	}
	if p.opts.Clock == nil {
		p.opts.Clock = clock.Real{}
	}
	if p.opts.Logger == nil {
		p.opts.Logger = logging.Discard()
	}
	if p.mode == TLSNone && p.username != "" && !isLoopback(p.host) {
		p.opts.Logger.WithField("smtp_host", p.host).
			Warn("email: SMTP password sent without TLS; set providers.email.smtp.tls to starttls or tls")
	}
	return p, nil
}

// Send renders msg as a MIME message and delivers it to the relay in one
// SMTP transaction. The result's ProviderRef is the Message-ID.
func (p *Provider) Send(ctx context.Context, msg channels.Message) (channels.Result, error) {
	to, err := mail.ParseAddress(headerValue(msg.To))
	if err != nil {
		return channels.Result{}, &channels.Error{Kind: channels.Permanent, Code: "invalid_address",
			Err: fmt.Errorf("email: recipient address: %w", err)}
	}
	if msg.ReminderID == "" {
		// Without it the Message-ID would not survive a resend.
		return channels.Result{}, &channels.Error{Kind: channels.Permanent, Code: "no_reminder_id",
			Err: errors.New("email: message has no reminder id")}
	}
	id := MessageID(msg.ReminderID, p.domain)
	data, err := build(envelope{
		from: p.from.String(), to: to.String(), subject: msg.Subject, text: msg.Text, html: msg.HTML,
		unsub: msg.UnsubscribeURL, messageID: id, date: p.opts.Clock.Now(),
	})
	if err != nil {
		return channels.Result{}, &channels.Error{Kind: channels.Permanent, Code: "mime", Err: err}
	}

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.opts.Timeout)
		defer cancel()
	}
	if err := channels.BeginCall(ctx); err != nil {
		return channels.Result{}, err
	}
	if err := p.transact(ctx, to.Address, data); err != nil {
		return channels.Result{}, err
	}
	return channels.Result{ProviderRef: id, Status: domain.Sent}, nil
}

// phase names a step of the transaction; message phases are about this
// message (a 5xx there is final), session phases about the relay (a 5xx
// there is a relay or config problem that must not fail every reminder
// for good).
type phase struct {
	name    string
	message bool
}

var (
	phaseDial     = phase{name: "dial"}
	phaseGreet    = phase{name: "greeting"}
	phaseStartTLS = phase{name: "starttls"}
	phaseAuth     = phase{name: "auth"}
	phaseMail     = phase{name: "mail from"}
	phaseRcpt     = phase{name: "rcpt to", message: true}
	phaseData     = phase{name: "data", message: true}
)

func (p *Provider) transact(ctx context.Context, rcpt string, data []byte) error {
	conn, err := p.dial(ctx)
	if err != nil {
		return classify(ctx, phaseDial, err)
	}
	// go-smtp sets and clears its own per-command deadlines, so ctx is
	// enforced by closing the connection: every blocked read or write then
	// returns at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	var c *smtp.Client
	if p.mode == TLSStartTLS {
		if c, err = smtp.NewClientStartTLS(conn, p.tls); err != nil {
			_ = conn.Close()
			return classify(ctx, phaseStartTLS, err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		c.CommandTimeout, c.SubmissionTimeout = left, left
	}
	if err := c.Hello(p.opts.LocalName); err != nil {
		return classify(ctx, phaseGreet, err)
	}
	if p.username != "" {
		if err := c.Auth(sasl.NewPlainClient("", p.username, p.password)); err != nil {
			return classify(ctx, phaseAuth, err)
		}
	}
	var mo *smtp.MailOptions
	if !isASCII(p.from.Address) || !isASCII(rcpt) {
		mo = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(p.from.Address, mo); err != nil {
		return classify(ctx, phaseMail, err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return classify(ctx, phaseRcpt, err)
	}
	w, err := c.Data()
	if err != nil {
		return classify(ctx, phaseData, err)
	}
	if _, err := w.Write(data); err != nil {
		return classify(ctx, phaseData, err)
	}
	if err := w.Close(); err != nil {
		return classify(ctx, phaseData, err)
	}
	// The relay has accepted the message; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

func (p *Provider) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if p.mode == TLSImplicit {
		td := &tls.Dialer{NetDialer: d, Config: p.tls}
		return td.DialContext(ctx, "tcp", p.addr)
	}
	return d.DialContext(ctx, "tcp", p.addr)
}

// classify turns a transaction error into a channels.Error: a 5xx reply to
// RCPT or DATA is permanent, every other failure (4xx, network, TLS, relay
// refusing the session) is retried.
func classify(ctx context.Context, ph phase, err error) error {
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		// The connection deadline, set from ctx, can fire a moment before
		// ctx itself does.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil {
		// The connection was closed because ctx ended; say so rather than
		// report "use of closed network connection".
		return fmt.Errorf("email: %s: %w (%v)", ph.name, cerr, err)
	}
	wrapped := fmt.Errorf("email: %s: %w", ph.name, err)
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		kind := channels.Retry
		if se.Code >= 500 && ph.message {
			kind = channels.Permanent
		}
		return &channels.Error{Kind: kind, Code: "smtp " + strconv.Itoa(se.Code), Err: wrapped}
	}
	code := ""
	if ph == phaseStartTLS {
		code = "starttls"
	}
	return &channels.Error{Kind: channels.Retry, Code: code, Err: wrapped}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
