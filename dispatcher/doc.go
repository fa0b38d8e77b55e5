// Package dispatcher is the delivery pipeline that every channel worker
// shares (render, fence, provider call, audit record), and the contact
// ledger the worker and the provider callbacks write attempts to. The
// rest of the dispatcher has packages of its own: event intake and the
// suppressing requests in dispatcher/intake, the suppressions, the
// send-time fence and the delivery guarantee in dispatcher/suppress, and
// what providers report after a send in dispatcher/callback.
//
// A worker's path is one function read top to bottom (Worker.deliver in
// deliver.go): take the borrower and case from the reminder's snapshot
// (or read them when a change noted since outdates it) and the agreement,
// render, look whether
// a redelivered reminder already went out (the audit trail, the ledger's
// attempt record, the provider), reserve its place under the compliance
// rules, fence, call the provider, record. Each step returns what it found
// and an outcome (done, retryIn, deferFor, drop, or proceed to the next
// step); settle (outcome.go) is the one place that turns an outcome into
// the message's Ack, NakWithDelay, Term or schedule. What the steps read
// and write is behind small interfaces (ReminderState, SuppressionView,
// AttemptLedger, DeliveryRecords, OptOutRecorder), so every decision can
// be driven without NATS.
//
// The worker's half of the guarantee (spec §5, set out in package
// suppress): it starts a provider call only while the fence's answer is
// valid (channels.WithFence), and an expired answer makes no call and
// fences again.
package dispatcher
