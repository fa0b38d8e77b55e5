// Package faketwilio is an in-process stand-in for the parts of the Twilio
// REST API forbear uses: creating and listing Messages and Calls under
// /2010-04-01/Accounts/{sid}/. It runs on httptest, checks HTTP basic auth,
// answers in Twilio's JSON shapes (so the real twilio-go client decodes it),
// records every request, and can be told to fail or to hold requests in
// flight. It plays Twilio's side of callbacks too: a call ended with a
// status callback, an incoming SMS, and a call answered by a person, an
// answering machine or a fax (AnswerAs), whose URL it requests with
// AnsweredBy as answering-machine detection reports it, keeping the TwiML
// it got. Point a provider at it through twilio.api_base_url.
package faketwilio
