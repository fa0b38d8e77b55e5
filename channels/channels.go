package channels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// Message is a rendered reminder ready for a provider.
type Message struct {
	ReminderID string
	BorrowerID string
	LoanID     string
	Channel    domain.Channel
	// To is the borrower's own address on the channel: E.164 phone for sms and
	// voice, email address for email, borrower id for inapp.
	To     string
	Locale string
	// Subject is the email subject or the in-app title.
	Subject string
	// Text is the SMS text, the email plain-text body, the voice script or
	// the in-app body.
	Text string
	// Voicemail, on a call, is what to leave on an answering machine
	// instead of Text, in VoicemailLocale; empty when the template has
	// none (the call then says Text to whoever answers).
	Voicemail       string
	VoicemailLocale string
	// HTML is the email HTML body, already escaped; empty means text only.
	HTML string
	// UnsubscribeURL, when set, goes into the email List-Unsubscribe header.
	UnsubscribeURL string
	// StatusCallback, when set, is where the provider reports this
	// message's or call's outcome (Twilio StatusCallback).
	StatusCallback string
	// AttemptedAt, on a redelivered reminder, is when the unfinished
	// earlier attempt was recorded, just before its provider call: a
	// Looker matches what the provider accepted since then (calls carry no
	// text to match). Zero when no attempt is known.
	AttemptedAt time.Time
	// Claimed, on a redelivered reminder, are the provider references that
	// the audit trail already gives to other reminders of the borrower on
	// this channel: a Looker never takes one of them for this reminder.
	// (The same text, or a call, to the same number in the same minutes is
	// otherwise indistinguishable: a late redelivery of the step's previous
	// occurrence, say.)
	Claimed []string
}

// Result is what a provider reports for an accepted message.
type Result struct {
	// ProviderRef is the provider's id for the message (Twilio SID, SMTP
	// Message-ID, inbox message id).
	ProviderRef string
	// Status is domain.Sent, or domain.Delivered where acceptance is delivery
	// (inbox, sandbox).
	Status domain.Status
}

// Provider sends messages on one channel.
type Provider interface {
	// Send delivers msg. It returns an *Error to say how a failure should be
	// treated; any other error is retried.
	Send(ctx context.Context, msg Message) (Result, error)
}

// ClockSkew is how much earlier than a recorded attempt the provider's
// record of that attempt may be dated: forbear's and the provider's clocks
// differ, and Twilio's times have one-second resolution. It is small next
// to the usual spacing of messages and calls to one borrower (hours or
// days under the example policies and caps); a message or call to the
// address within it before the attempt is taken for the attempt's (see the
// Lookup of each provider).
const ClockSkew = 10 * time.Second

// Looker is an optional capability: a provider that can tell whether a
// message was already accepted (by a worker that died before recording it),
// so that a redelivered reminder is not sent twice. msg is the reminder as
// it would be sent again, with AttemptedAt set when the attempt is known.
type Looker interface {
	Lookup(ctx context.Context, msg Message) (res Result, found bool, err error)
}

// ErrorKind classifies a provider failure.
type ErrorKind int

// Error kinds.
const (
	// Retry: try again later (429, 5xx, network).
	Retry ErrorKind = iota
	// Permanent: never retry (invalid number, 4xx).
	Permanent
	// OptedOut: the recipient opted out on this channel (Twilio 21610);
	// record an opt-out suppression and do not retry.
	OptedOut
)

// Error is a classified provider failure.
type Error struct {
	Kind ErrorKind
	// Code is the provider's error code ("21211", "smtp 550"), for the audit
	// record.
	Code string
	// RetryAfter, when positive, is how long the provider asked us to wait.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	kind := map[ErrorKind]string{Retry: "retryable", Permanent: "permanent", OptedOut: "opted out"}[e.Kind]
	if e.Code != "" {
		return fmt.Sprintf("%s provider error %s: %v", kind, e.Code, e.Err)
	}
	return fmt.Sprintf("%s provider error: %v", kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Classify returns the kind of err: an *Error's own kind, Retry otherwise.
func Classify(err error) ErrorKind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return Retry
}

// ErrFenceExpired is returned by BeginCall (and so by Send) when the
// suppression fence that cleared the message is no longer valid. The
// dispatcher fences again and retries; it is never an outcome.
var ErrFenceExpired = errors.New("channels: suppression fence expired before the provider call")

type fenceKey struct{}

// WithFence returns a context that allows provider calls to start until
// validUntil.
func WithFence(ctx context.Context, validUntil time.Time) context.Context {
	return context.WithValue(ctx, fenceKey{}, validUntil)
}

// BeginCall must be called by a provider immediately before the network call
// starts. It fails with ErrFenceExpired when the context carries a fence
// that has expired, and with ctx.Err() when the context is done. A context
// without a fence (previews, tests of the provider alone) is allowed.
func BeginCall(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if until, ok := ctx.Value(fenceKey{}).(time.Time); ok && !time.Now().Before(until) {
		return ErrFenceExpired
	}
	return nil
}
