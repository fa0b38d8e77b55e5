// Package simulate is forbear's dry run: what a policy, a preset or a
// template draft will do to a population of borrowers over the coming
// days, before it goes live.
//
// It runs the real parts on a virtual clock: the scheduler's planning
// (scheduler.Planner, the very code the sweep plans with), the contact
// rules (compliance.Rules.Check against an in-memory compliance.Ledger)
// and the templates (rendered for SMS segments, and for what a text that
// fails does). It publishes nothing, calls no provider and writes no state.
//
// # Semantics
//
// A run follows what the live system does, event by event, per borrower:
//
//   - Every loan and active agreement is in the due index, due at the
//     minute its next occurrence falls in. When it comes due, the planner
//     gives the latest live occurrence of each step, and each channel of it
//     is published once (an occurrence marker per channel), unless a
//     suppression in force then withholds it (counted "withheld"; live,
//     such a reminder leaves no record). A loan that an active agreement
//     covers has its collection occurrences withheld. After downtime-like
//     starts, only the latest occurrence goes (catch-up), as live.
//   - A published reminder is decided as a channel worker decides it:
//     a closed case or ended agreement suppresses it; no address or a text
//     that does not render fails it; then the contact rules, against the
//     borrower's ledger, cap it (final) or defer it; then the
//     suppressions at the fence; then it is sent, and its attempt counts in
//     the ledger. A call's outcome is Options.CallAnswered: the share of
//     calls that connect (a conversation), the rest ring unanswered, which
//     is what the live ledger holds until a provider reports an answer.
//   - A deferred reminder comes back at most dispatcher.max_defer later, or
//     when its rule ends, and is decided again. Decided again with nothing
//     changed it is deferred again to the same instant, so the run parks it
//     until then; a change of the borrower's state (a send, a payment, an
//     agreement) brings it back at its next return instead.
//   - Population events happen at 00:00 of their day in the borrower's zone
//     (a loan paid, an agreement activated), or at their instant (a number
//     check or a consent dated after the start), before the sweep and the
//     workers of that instant, as intake applies them.
//   - The borrower is stored as intake stores it
//     (intake.BorrowerData.ApplyTo, intake.AddConsent), with what
//     the contact rules decide on: the phone kind, the number's last check
//     and the consents.
//
// Borrowers are independent, so a run simulates them in a bounded pool of
// workers (Options.Workers, default GOMAXPROCS), each with a time-ordered
// event queue for one borrower at a time, and folds every decision into
// its own per-day counts at once; the workers' counts are added at the
// end, so the result is the same whatever the number of workers
// (TestWorkersDoNotChangeTheResult). The reasons of the holds are worded
// only for the schedules kept (compliance.Rules.CheckWithoutReason for
// the others): wording them costs more than deciding. Nothing is
// kept per borrower per day: a worker's state is one borrower's (queue,
// contact ledger, published occurrences), dropped for the next, and a
// Generated population is made borrower by borrower. So memory grows
// with a Population held in memory and with the days' counts, never with
// days times borrowers (TestMemoryBoundedByPopulationNotDays), and
// BenchmarkYear runs a year of 100,000 borrowers in a few megabytes of
// live heap.
//
// # Results
//
// Per day (00:00 in scheduler.timezone) and channel: sent, deferred (and
// until when), capped, suppressed, failed, withheld, the rule behind every
// hold, SMS segments, sends per hour and whether they fit the provider's
// rate (Capacity). Per borrower asked for, the exact schedule with the
// rule behind each hold. Two setups (a Variant of the configuration) are
// compared per day and per rule. Charts are drawn with gonum.org/v1/plot
// as SVG and PNG.
package simulate
