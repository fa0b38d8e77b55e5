package callback

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"

	"github.com/forbear/forbear/channels/voice"
	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/metrics"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/twilioapi"
)

// Outcomes sees what providers report after a send.
type Outcomes struct {
	Intake  *intake.Intake
	Ledger  *dispatcher.Ledger
	Audit   *audit.Recorder
	State   *store.State
	Metrics *metrics.Metrics
	// Clock is "now" for the records and opt-outs callbacks write.
	Clock clock.Clock
	// Keywords opt a number out when an inbound SMS is exactly one of them
	// (case-insensitive, trimmed).
	Keywords []string
	// Confirmation is the one reply to an opt-out, by locale ("" none).
	Confirmation map[string]string
	// Calls keeps what calls placed with answering-machine detection say
	// (and were answered by); nil when no call leaves a voicemail.
	Calls *voice.Answers
}

// Status applies a Twilio status callback (call or message). query is the
// callback URL's query (see Query); form is Twilio's POST form.
//
// A malformed CallDuration is an *intake.FieldError, never read as a call that
// only rang. A connected call stays connected in the ledger whatever is
// reported after it (Ledger.Outcome). A callback already applied (the same
// reminder, status and provider SID: Twilio retries, or a replay) changes
// nothing: it is recognised by its record's key before anything is
// written, and concurrent copies are stored once by the stream's dedup.
func (o *Outcomes) Status(ctx context.Context, query, form url.Values) error {
	secs, err := callDuration(form)
	if err != nil {
		return err
	}
	r, ok := reminderFromQuery(query)
	if !ok {
		return nil // not one of ours: nothing to tie it to
	}
	cb := twilioapi.ReadStatusCallback(form)
	if cb.Outcome == twilioapi.Pending {
		return nil // queued, ringing, in progress, sent: not an outcome
	}
	now := o.Clock.Now()
	d := domain.NewDelivery(r, "", now)
	d.ProviderRef = cb.SID
	var outcome string // the ledger's
	if cb.Call {
		if outcome, err = o.callEnded(ctx, &d, cb, secs); err != nil {
			return err
		}
	} else {
		outcome = messageEnded(&d, cb)
	}
	key := callbackKey(r.ID, cb.Status, d.ProviderRef)
	if seen, err := o.Audit.Seen(ctx, r.BorrowerID, r.ID, key); err != nil || seen {
		return err
	}
	if cb.Outcome == twilioapi.OptedOut {
		opt := domain.OptOut{Channel: domain.SMS, Address: cb.To, Source: "provider " + cb.ErrorCode, At: now}
		if err := o.Intake.AddOptOut(ctx, r.BorrowerID, opt); err != nil {
			return err
		}
	}
	if outcome != "" && o.Ledger != nil {
		if err := o.Ledger.Outcome(ctx, r.BorrowerID, r.ID, outcome); err != nil {
			return err
		}
	}
	// Recorded last: a failure above leaves no record, so Twilio's retry
	// is not taken for a replay and applies the callback in full.
	stored, err := o.Audit.RecordOnce(ctx, d, key)
	if err != nil {
		return err
	}
	if stored {
		o.Metrics.Delivery(string(r.Channel), string(d.Status))
	}
	return nil
}

// callEnded fills the record of a call that ended and returns its outcome
// for the ledger.
func (o *Outcomes) callEnded(ctx context.Context, d *domain.Delivery, cb twilioapi.StatusCallback, secs int) (string, error) {
	if cb.Outcome == twilioapi.NotReached {
		// Busy, failed, no-answer and canceled are ledger outcomes too.
		d.Status, d.Reason = domain.Failed, "call "+cb.Status
		return cb.Status, nil
	}
	heard, voicemail, err := o.heard(ctx, d.ID, cb.AnsweredBy)
	if err != nil {
		return "", err
	}
	switch {
	case heard == voice.HeardVoicemail:
		// A limited-content message was left: an attempt that counts, not
		// a conversation.
		d.Status, d.Reason = domain.Delivered, "voicemail left, "+strconv.Itoa(secs)+"s"
		d.SetText("", voicemail)
		return compliance.OutcomeVoicemail, nil
	case heard == voice.HeardNothing:
		d.Status, d.Reason = domain.Delivered, "call answered by a fax; nothing said"
		return compliance.OutcomeRang, nil
	case secs > 0:
		// A connected call is a conversation (spec §7): the ledger blocks
		// more calls about the loan for after_conversation.
		d.Status, d.Reason = domain.Delivered, "call connected, "+strconv.Itoa(secs)+"s"
		return compliance.OutcomeConnected, nil
	default:
		d.Status, d.Reason = domain.Delivered, "call completed without a conversation"
		return compliance.OutcomeRang, nil
	}
}

// messageEnded fills the record of a message that was delivered or failed
// and returns its outcome for the ledger ("" for a delivery: the attempt
// stands as it is).
func messageEnded(d *domain.Delivery, cb twilioapi.StatusCallback) string {
	if cb.Outcome == twilioapi.Reached {
		d.Status = domain.Delivered
		return ""
	}
	d.Status, d.Reason = domain.Failed, "message "+cb.Status+" "+cb.ErrorCode
	return dispatcher.OutcomeFailed
}

// Answer is the TwiML for a call placed with answering-machine detection,
// now answered as answeredBy reports (Twilio's request to the call's URL,
// which names the reminder). See voice.Hears for who hears what; a call
// forbear has nothing kept for says nothing.
func (o *Outcomes) Answer(ctx context.Context, reminderID, answeredBy string) (string, error) {
	if o.Calls == nil {
		return twilioapi.HangupTwiML, nil
	}
	twiml, _, err := o.Calls.Answer(ctx, reminderID, answeredBy)
	return twiml, err
}

// heard is what reminder id's call said once answered: by answeredBy
// (the callback's AnsweredBy), else by what the call's answer kept (Twilio
// may leave AnsweredBy out of the status callback), with the voicemail
// text when one was left. A call without detection said its script.
func (o *Outcomes) heard(ctx context.Context, id, answeredBy string) (voice.Heard, string, error) {
	if o.Calls == nil {
		return voice.Hears(answeredBy), "", nil
	}
	c, found, err := o.Calls.Get(ctx, id)
	if err != nil {
		return 0, "", err
	}
	if answeredBy == "" {
		answeredBy = c.AnsweredBy
	}
	heard := voice.Hears(answeredBy)
	if heard == voice.HeardVoicemail && found {
		return heard, c.Voicemail, nil
	}
	return heard, "", nil
}

// maxDurationDigits bounds CallDuration: nine digits is over 31 years.
const maxDurationDigits = 9

// callDuration reads CallDuration, in seconds: absent is 0; present, it
// must be one non-negative decimal integer.
func callDuration(form url.Values) (int, error) {
	values, present := form["CallDuration"]
	if !present {
		return 0, nil
	}
	bad := &intake.FieldError{Code: "invalid_field", Field: "CallDuration", Message: "must be a whole number of seconds (0 or more)"}
	if len(values) != 1 {
		return 0, bad
	}
	v := values[0]
	if v == "" || len(v) > maxDurationDigits || strings.Trim(v, "0123456789") != "" {
		return 0, bad
	}
	return strconv.Atoi(v)
}

// callbackKey identifies one provider report about a reminder: its
// record's Nats-Msg-Id. Hashed, so whatever the form holds makes a short,
// header-safe id.
func callbackKey(reminderID, status, sid string) string {
	sum := sha256.Sum256([]byte(reminderID + "\x00" + status + "\x00" + sid))
	return "callback-" + hex.EncodeToString(sum[:16])
}
