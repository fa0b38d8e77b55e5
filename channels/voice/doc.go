// Package voice places reminder calls through Twilio's Calls API. The call
// reads the reminder text aloud with TwiML <Say> in the borrower's language;
// no webhook has to serve the script, so a call needs nothing from forbear
// once placed except its status callback.
//
// The provider implements channels.Looker. Twilio's call records do not
// carry the TwiML, so a call is matched by time instead: the worker records
// its attempt in the contact ledger before the call, and a redelivered
// reminder asks Twilio for calls from the configured number to the
// borrower's since that moment (Provider.Lookup). Any such call is taken as
// the earlier attempt's, so calls are effectively once.
package voice
