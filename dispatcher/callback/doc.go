// Package callback applies what providers report after a send: Twilio's
// status callbacks for messages and calls (the delivery record, the contact
// ledger's outcome, an opt-out on error 21610), the TwiML answer of a call
// placed with answering-machine detection, and inbound SMS (an opt-out
// keyword opts the number out, answered once the opt-out is fenced).
//
// A reminder's status-callback URL carries the reminder (Query), so an
// outcome is tied back to it without a look-up table. What Twilio's
// statuses and error codes mean is read by twilioapi.ReadStatusCallback;
// what a call said once answered, by voice.Hears.
package callback
