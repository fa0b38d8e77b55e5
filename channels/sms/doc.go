// Package sms sends reminders as SMS through Twilio's Messages API. The
// provider also implements [channels.Looker]: before a redelivered reminder
// is sent again, Lookup asks Twilio whether the same text already went to
// the same number, so a worker that died mid-call does not cause a second
// SMS.
package sms
