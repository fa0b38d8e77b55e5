package twilioapi

import (
	"net/url"
	"strconv"
)

// Outcome is what a status Twilio reports for a call or a message means
// for the reminder it carried.
type Outcome int

// Outcomes of a status callback.
const (
	// Pending: queued, ringing, in progress, sent: no outcome yet.
	Pending Outcome = iota
	// Reached: a message delivered, a call completed (answered by someone
	// or something; what it said is the voice channel's to tell).
	Reached
	// NotReached: a message undelivered or failed; a call busy, failed,
	// not answered or canceled.
	NotReached
	// OptedOut: a message that failed because the recipient had replied
	// STOP (CodeUnsubscribed).
	OptedOut
)

// Call statuses Twilio reports that end a call.
const (
	CallCompleted = "completed"
	CallBusy      = "busy"
	CallFailed    = "failed"
	CallNoAnswer  = "no-answer"
	CallCanceled  = "canceled"
)

// Message statuses Twilio reports that end a message.
const (
	MessageDelivered   = "delivered"
	MessageUndelivered = "undelivered"
	MessageFailed      = "failed"
)

// StatusCallback is a Twilio status callback (a call's or a message's), as
// read from its form.
type StatusCallback struct {
	// Call: the callback is about a call (it has a CallStatus); else it is
	// about a message.
	Call bool
	// Status is Twilio's CallStatus or MessageStatus, as sent.
	Status string
	// SID is the call's or message's SID.
	SID string
	// Outcome is what Status means.
	Outcome Outcome
	// ErrorCode is Twilio's error code of a message that failed.
	ErrorCode string
	// AnsweredBy is what answering-machine detection reported for a call
	// placed with it ("" otherwise, or when Twilio left it out).
	AnsweredBy string
	// To is the number the message or call went to.
	To string
}

// ReadStatusCallback reads a status callback's form (Twilio's POST
// parameters). CallDuration is left to the caller, which decides how
// strictly to read it.
func ReadStatusCallback(form url.Values) StatusCallback {
	if status := form.Get("CallStatus"); status != "" {
		return StatusCallback{Call: true, Status: status, SID: form.Get("CallSid"), Outcome: callOutcome(status),
			AnsweredBy: form.Get("AnsweredBy"), To: form.Get("To")}
	}
	status, code := form.Get("MessageStatus"), form.Get("ErrorCode")
	return StatusCallback{Status: status, SID: form.Get("MessageSid"), Outcome: messageOutcome(status, code),
		ErrorCode: code, To: form.Get("To")}
}

func callOutcome(status string) Outcome {
	switch status {
	case CallCompleted:
		return Reached
	case CallBusy, CallFailed, CallNoAnswer, CallCanceled:
		return NotReached
	default:
		return Pending
	}
}

func messageOutcome(status, errorCode string) Outcome {
	switch status {
	case MessageDelivered:
		return Reached
	case MessageUndelivered, MessageFailed:
		if errorCode == strconv.Itoa(CodeUnsubscribed) {
			return OptedOut
		}
		return NotReached
	default:
		return Pending
	}
}
