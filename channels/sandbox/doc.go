// Package sandbox is the provider of every channel that has no real one
// configured: each message is published to the local outbox, the
// JetStream stream store.OutboxStream, on subject
// store.OutboxSubject(channel, borrower), where GET /v1/outbox (List) shows
// it. Nothing leaves the process, which makes a fresh install safe to play
// with and lets tests and benchmarks see exactly what would have been sent.
//
// The reminder id is the publish's Nats-Msg-Id, so a resend within the
// stream's duplicate window stores nothing new and returns the first
// message's reference.
package sandbox
