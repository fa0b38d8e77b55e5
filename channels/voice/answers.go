package voice

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/twilioapi"
)

// What answering-machine detection reports in AnsweredBy.
const (
	AnsweredByHuman   = "human"
	AnsweredByFax     = "fax"
	AnsweredByUnknown = "unknown"
	// machinePrefix starts every machine result: machine_start,
	// machine_end_beep, machine_end_silence, machine_end_other.
	machinePrefix = "machine_"
)

// Heard is what a call said to whoever answered.
type Heard int

// What a call said.
const (
	// HeardNothing: a fax, or a call forbear had no texts for.
	HeardNothing Heard = iota
	// HeardScript: the voice script, to a person (or to anything, on a call
	// without detection).
	HeardScript
	// HeardVoicemail: the voicemail text, to an answering machine or to
	// what detection could not tell.
	HeardVoicemail
)

// Hears is what a call whose detection reported answeredBy says. A person
// hears the script. A machine, and a result detection could not decide
// ("unknown"), get the voicemail: it is a limited-content message that
// tells no one else about the debt, while the script could be played back
// to whoever listens to the machine. A fax gets nothing.
func Hears(answeredBy string) Heard {
	switch {
	case answeredBy == AnsweredByHuman:
		return HeardScript
	case answeredBy == AnsweredByFax:
		return HeardNothing
	case strings.HasPrefix(answeredBy, machinePrefix), answeredBy == AnsweredByUnknown:
		return HeardVoicemail
	default:
		// No detection result: the call asked for none.
		return HeardScript
	}
}

// Call is what a call placed with answering-machine detection says once
// answered: both texts, rendered when the call was placed, so that
// whichever instance Twilio's request reaches answers it.
type Call struct {
	BorrowerID      string `json:"borrower_id"`
	Script          string `json:"script"`
	Locale          string `json:"locale"`
	Voicemail       string `json:"voicemail"`
	VoicemailLocale string `json:"voicemail_locale"`
	// AnsweredBy is what detection reported when the call was answered
	// (empty until then).
	AnsweredBy string `json:"answered_by,omitempty"`
}

// Answers keeps calls' texts in store.CallsBucket, one key per reminder,
// for store.CallTTL. It is safe for concurrent use.
type Answers struct {
	calls store.Bucket[Call]
}

// OpenAnswers binds the calls bucket (store.Setup must have run).
func OpenAnswers(ctx context.Context, js jetstream.JetStream) (*Answers, error) {
	calls, err := store.OpenTyped[Call](ctx, js, store.CallsBucket)
	if err != nil {
		return nil, fmt.Errorf("voice: %w", err)
	}
	return &Answers{calls: calls}, nil
}

// Put keeps the texts of reminder id's call. Only the instance placing
// the call writes them, so the put depends on nothing stored.
func (a *Answers) Put(ctx context.Context, id string, c Call) error {
	if _, err := a.calls.Put(ctx, store.Token(id), c); err != nil {
		return fmt.Errorf("voice: keep call %s: %w", id, err)
	}
	return nil
}

// Answer returns the TwiML for reminder id's call, answered as answeredBy
// reports (see Hears), and keeps answeredBy with the call for its status
// callback. A call forbear has no texts for (expired, or not one of
// forbear's) gets twilioapi.HangupTwiML and found false.
func (a *Answers) Answer(ctx context.Context, id, answeredBy string) (twiml string, found bool, err error) {
	var c Call
	_, err = a.calls.Update(ctx, store.Token(id), func(stored *Call) (bool, error) {
		c = *stored
		if stored.Script == "" {
			return false, nil
		}
		if stored.AnsweredBy == answeredBy {
			return false, nil
		}
		stored.AnsweredBy = answeredBy
		return true, nil
	})
	if err != nil {
		return "", false, fmt.Errorf("voice: answer call %s: %w", id, err)
	}
	if c.Script == "" {
		return twilioapi.HangupTwiML, false, nil
	}
	switch Hears(answeredBy) {
	case HeardScript:
		return TwiML(c.Locale, c.Script), true, nil
	case HeardVoicemail:
		return TwiML(c.VoicemailLocale, c.Voicemail), true, nil
	default:
		return twilioapi.HangupTwiML, true, nil
	}
}

// Get returns what is kept of reminder id's call; found is false when
// nothing is (never placed with detection, or expired).
func (a *Answers) Get(ctx context.Context, id string) (c Call, found bool, err error) {
	c, _, err = a.calls.Get(ctx, store.Token(id))
	if store.IsNotFound(err) {
		return Call{}, false, nil
	}
	if err != nil {
		return Call{}, false, fmt.Errorf("voice: read call %s: %w", id, err)
	}
	return c, true, nil
}
