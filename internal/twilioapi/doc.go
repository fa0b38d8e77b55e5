// Package twilioapi is what forbear knows of Twilio, shared by the
// Twilio-backed providers (sms, voice) and the callback routes: a per-call
// twilio-go client whose transport carries the caller's context, honours
// the configured api_base_url, checks the suppression fence at the last
// moment and rate-limits per sender; the mapping of Twilio failures to
// [channels.Error] kinds; what the statuses and error codes of a status
// callback mean (ReadStatusCallback); and the one writer of TwiML
// (SayTwiML, MessageTwiML, HangupTwiML).
//
// twilio-go has neither a base-URL option nor context support, so each call
// builds a cheap client around a RoundTripper that does both. The expensive
// part, the connection pool, is one shared transport per [Client].
package twilioapi
