// Package voice places reminder calls through Twilio's Calls API. The call
// reads the reminder text aloud with TwiML <Say> in the borrower's language;
// no webhook has to serve the script, so a call needs nothing from forbear
// once placed except its status callback.
//
// The provider does not implement channels.Looker: Twilio's call records do
// not carry the TwiML, so an earlier call about the same reminder cannot be
// told from any other call to the number.
package voice
