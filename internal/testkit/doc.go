// Package testkit holds the real in-process parts tests run against: an
// embedded nats-server with forbear's streams and buckets, a fake Twilio
// REST API over HTTP, and an in-process SMTP server. Nothing here is a mock
// of NATS; the fakes stand in only for third-party services.
package testkit
