// Package dispatcher is forbear's core: event intake (validation,
// idempotency, state updates), suppressions (mutes, agreement holds,
// opt-outs), the send-time suppression fence, and the delivery pipeline that
// every channel worker shares (render, fence, provider call, audit record).
//
// The guarantee (spec §5) rests on two halves that meet in time:
//
//   - A worker may start a provider call only while its fence is valid: a
//     fence round starts at time s, writes a marker into the suppression
//     bucket and waits until the local watcher has applied the marker, so the
//     worker's view contains every suppression acknowledged before s. The
//     result is valid until s + lease; channels.BeginCall refuses after that.
//     When the watcher does not apply the marker within the lease (watchers
//     can stall after a server restart), the worker reads the borrower's
//     suppressions from the stream leader instead; that read starts at r,
//     sees every suppression acknowledged before r, and is valid until
//     r + lease: the same proof with r in place of s.
//   - An acknowledgement of a suppression (mute, agreement, opt-out) is held
//     back after its write. Any fence round that missed the write started
//     before it, so every call that round cleared has started within one
//     lease of the write. The hold is two leases: the second gives such a
//     call time to reach the provider, so that even the provider's own clock
//     sees no call in the suppressed scope after the acknowledgement.
//
// Every answer that acknowledges a suppression is held: the original
// request, a repeat of its event id (it may arrive while the original is
// still in its hold), a batch that fails after applying it, and the
// JetStream ack of an event consumed from the stream.
//
// Intake changes stored state only by compare-and-set on what it read
// (store.UpdateJSON and its typed wrappers), so concurrent events never
// lose each other's changes, and it bounds every field and list it keeps
// (limits.go), so no record outgrows one NATS message.
package dispatcher
