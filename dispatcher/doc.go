// Package dispatcher is forbear's core: event intake (validation,
// idempotency, state updates), suppressions (mutes, agreement holds,
// opt-outs), the send-time suppression fence, and the delivery pipeline that
// every channel worker shares (render, fence, provider call, audit record).
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
// The guarantee (spec §5) rests on two halves that meet in time:
//
//   - A worker may start a provider call only while its fence is valid. A
//     fence round starts at time s, after every Check it answers was asked
//     (a Check never uses a round already in flight, nor a finished one's
//     result), and asks the suppression stream's leader for the revision p
//     of the bucket's newest entry. Only the leader answers, and it stores
//     a write before acknowledging it, so every suppression acknowledged
//     before s is at or below p. The round then waits until the local
//     watcher's copy holds every key as of p: the watcher has applied p,
//     and any revision it passed over has its replacement applied too. (The
//     bucket keeps one revision per key, so a lagging watcher passes over a
//     revision that was replaced before it got there. The replacement was
//     stored before the pass-over, so the round asks the leader again after
//     seeing one and waits for that answer, until nothing more was passed
//     over meanwhile.) The worker's view then contains every suppression
//     acknowledged before s. The result is valid until s + lease;
//     channels.BeginCall refuses after that. If the bucket has no entry at
//     its newest revision (empty, or that entry purged), the round stores a
//     marker and uses its revision as p: it lands after every write
//     acknowledged before it. When the watcher does not reach p within the
//     lease (watchers can stall after a server restart), the worker reads
//     the borrower's suppressions from the stream leader instead; that read
//     starts at r, sees every suppression acknowledged before r, and is
//     valid until r + lease: the same proof with r in place of s.
//   - An acknowledgement of a suppression (mute, agreement, opt-out) is held
//     back after its write. Any fence round that missed the write had its
//     answer from the leader before the write was stored, so it started
//     before the write, and every call that round cleared has started
//     within one lease of the write. The hold is two leases: the second
//     gives such a call time to reach the provider, so that even the
//     provider's own clock sees no call in the suppressed scope after the
//     acknowledgement.
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
