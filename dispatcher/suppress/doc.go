// Package suppress keeps borrowers' suppressions (mutes, agreement holds,
// opt-outs, cease, and the notes that a reminder's snapshot is out of
// date): the send-time fence that reads them (Fence) and the one way to
// change them with their history (Writer.Update).
//
// It is its own package because both sides of the guarantee below meet
// here and nowhere else: intake (package intake) writes suppressions and
// holds their acknowledgements, the delivery worker (package dispatcher)
// checks them before every provider call. Neither is imported here, so
// the proof is read in one place and both sides depend on it, not on each
// other.
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
// Fence.Hold is that hold; intake calls it before every answer that
// acknowledges a suppression (see package intake for which answers).
package suppress
