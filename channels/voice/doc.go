// Package voice places reminder calls through Twilio's Calls API. The call
// reads the reminder text aloud with TwiML <Say> in the borrower's language;
// no webhook has to serve the script, so such a call needs nothing from
// forbear once placed except its status callback.
//
// A call whose template has a voicemail text is placed differently, so that
// an answering machine never plays the script back to whoever listens to
// it: the call asks for answering-machine detection
// (MachineDetection=DetectMessageEnd) and for its TwiML at forbear's URL
// once answered. Both texts are kept in a KV bucket for an hour (Answers),
// so whichever instance Twilio's request reaches answers it: a person hears
// the script, a machine (or a result detection could not decide) the
// voicemail, a fax nothing (Hears).
//
// The provider implements channels.Looker. Twilio's call records do not
// carry the TwiML, so a call is matched by time instead: the worker records
// its attempt in the contact ledger before the call, and a redelivered
// reminder asks Twilio for calls from the configured number to the
// borrower's since that moment (Provider.Lookup). Any such call is taken as
// the earlier attempt's, so calls are effectively once.
package voice
