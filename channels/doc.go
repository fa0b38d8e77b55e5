// Package channels defines what a provider is: the one small interface every
// channel implementation (sms, voice, email, inapp, sandbox) satisfies, the
// message it is given, and the typed errors that tell the dispatcher whether
// to retry, give up or record an opt-out.
//
// A provider must call [BeginCall] immediately before it starts the network
// call (HTTP request, SMTP transaction, inbox write). BeginCall refuses once
// the send-time suppression fence that cleared the message has expired; this
// is what makes the "no provider call after a suppression is acknowledged"
// guarantee hold even when a worker stalls between the check and the call.
package channels
