// Package intake takes what lenders and the API tell forbear: events
// (CloudEvents over HTTP and on forbear.events.>, validated, applied once
// per event id, state updated) and the requests that suppress a borrower
// (mutes, opt-outs), whose validation answers the API's 400s with a
// FieldError that names the field.
//
// It is its own package because it is the door, not the delivery: it
// changes stored state and suppressions (through package suppress), and
// the delivery worker (package dispatcher) never needs any of it.
//
// Every answer that acknowledges a suppression is held (suppress.Fence.Hold,
// see package suppress for why): the original request, a repeat of its
// event id (it may arrive while the original is still in its hold), a
// batch that fails after applying it, and the JetStream ack of an event
// consumed from the stream.
//
// Intake changes stored state only by compare-and-set on what it read
// (store.UpdateJSON and its typed wrappers), so concurrent events never
// lose each other's changes, and it bounds every field and list it keeps
// (limits.go), so no record outgrows one NATS message.
package intake
