// Package scheduler turns policies into reminders: it compiles the
// configured policies, computes when each step of a policy is due for a
// loan (or for an agreement's instalments), keeps a durable due index so
// that a sweep only touches what is due, and publishes the latest due
// occurrence of every step to the REMINDERS stream, once.
//
// # Occurrences
//
// A step fires at anchor+at, then every `every` until anchor+until. The
// anchor is 00:00 of the due date in the borrower's time zone. Offsets are
// split into whole days and a remainder: the days are calendar days added
// with [time.Time.AddDate] in the borrower's zone, the remainder is absolute
// time. So "at: 1d" fires at local midnight of the next day even when that
// day is 23 or 25 hours long, and "at: 36h" fires at 12:00 local on the day
// after the due date on an ordinary day. See [Step.OccurrenceAt].
//
// The arithmetic never wraps: at + k*every is computed as days and a
// remainder in 128 bits (a time.Duration spans only 292 years), and
// [Step.Latest] and [Step.Next] find k by bisecting a bracket around an
// estimate, a bounded number of steps however far the anchor is from now.
// [Compile] keeps every at least a minute and at, every and until within
// about ten years; [ParseAnchor] refuses dates outside 1900..2999, and the
// sweep drops a subject stored with one.
//
// Only the latest due occurrence of a step is ever sent ([Step.Latest]): a
// repeating occurrence stays live until the next one is due; a one-shot
// step, or the last occurrence of a bounded series, stays live for the
// catch-up period. After downtime a sweep therefore sends at most one
// message per step and channel, never a backlog.
//
// Occurrence identity is "<loan>/<step>/<k>" for due-date policies and
// "<agreement>/<step>/<i>-<k>" for instalment policies; a reminder's id (and
// its Nats-Msg-Id) adds "/<channel>". A durable marker in the subject's
// index record (below), written after the stream acknowledged every
// publish, records which channels of an occurrence went out; the stream's
// dedup window covers the gap between a publish and its marker. Markers
// are kept 30 days, at most 256 per subject. The marker key also
// carries the anchor date, so a loan whose due date moves (a new cycle on
// the same loan id) gets fresh occurrences. A channel withheld by a
// suppression is simply not published (no new occurrence in a suppressed
// scope); when the suppression is a mute with an end, the subject is due
// again at that end, and a still-live occurrence then goes out on that
// channel.
//
// # Due index
//
// The index lives in the due bucket. Every subject (a loan, kind "loan", or
// an agreement, kind "agr") has at most one entry:
//
//	t.<YYYY>.<MM>.<DD>.<hh>.<mm>.<kind>.<token>   due at that UTC minute
//	now.<kind>.<token>                           due at the next sweep
//	k.<kind>.<token>                             the subject's record: its
//	                                             current entry and markers
//	cursor                                       last minute a sweep listed
//
// A sweep lists the minutes after the cursor up to now with one filtered
// key listing whose filters are the coarsest prefixes covering that range
// (whole years, months, days and hours where they fit), plus the now lane.
// Its cost is therefore proportional to the entries that are due, and one
// sweep after days of downtime still makes a bounded number of list calls.
// Times are rounded up to the minute, so an entry is never listed early.
//
// [Scheduler.Reindex] puts a subject in the now lane (and nudges the
// leader, see Nudges); intake calls it whenever a case, agreement,
// borrower or suppression changes. It writes no
// time key, so it needs no clock and is safe to call from any instance.
// The record decides which entry is current: an entry it does not name is
// stale, and is removed with the listing that found it. Entries are never
// deleted one by one: a KV delete leaves a marker, and an entry's key (one
// minute's) is never written again, so the markers would pile up for
// good, one per move. Instead, once every entry a sweep listed is handled
// (moved, dropped, requeued or found stale), the sweep purges its listing
// in one stream purge per listing call, bounded by the highest revision
// that listing returned: an entry written since, by a Reindex or by a
// move of this sweep's (always after the cursor), stays. A drop or a move
// whose write fails is requeued to the now lane. A sweep that leaves an
// entry unhandled (a failure it could not requeue, a failed subject a
// now-lane sweep passes over) purges nothing and does not move the
// cursor, so the next sweep lists it all again, finds the handled entries
// stale, and removes them. Every change to a record is a
// compare-and-set; Reindex writes the record before the now entry, so a
// sweep never finds a new entry with an old record, and a sweep that
// loses a race to a Reindex adds its markers to the record the Reindex
// wrote. A Reindex racing a sweep is never lost. Once nothing is due, a
// record with markers stays, without an entry, until they expire (a
// per-message TTL). Records of earlier versions held only the entry key,
// with markers in the occurrences bucket; the sweep still reads those for
// the 30 days their markers may live.
//
// # Sweeping
//
// A sweep streams the listed entries to a bounded pool of workers. Each
// worker takes a batch of subjects and reads what they need (records,
// cases or agreements, borrowers) with one multi-key
// direct get per bucket, takes suppressions from a cached view when one is
// given and it withholds nothing (Options.Suppressions) and otherwise
// reads them from the stream leader concurrently, publishes every reminder
// and its "queued" delivery record asynchronously, and waits for the
// acknowledgements once per batch. What to publish and where each entry
// goes next are pure decisions (decide.go). Index moves and markers are
// pipelined the same way: a subject's bookkeeping is one record write,
// plus the new time key when it moves. There is no round trip per
// reminder.
//
// One subject cannot stop the sweep: a record whose planning panics fails
// alone (logged, counted, retried at the next sweep), and a batch that
// panics leaves its entries for the next sweep. A sweep that runs past
// Options.SweepBudget is reported while it runs: a warning, a metric, and
// [Scheduler.Degraded], which readiness reports.
//
// # Nudges
//
// Once Reindex has stored the now entry it publishes an empty core NATS
// message on store.SweepNudgeSubject. Every started Scheduler listens; the
// lease holder sweeps the now lane alone (no time keys, the cursor left
// alone) at once, so an event's reminders go out within moments instead
// of at the next scheduled sweep. Nudges coalesce into one pending flag,
// and a now-lane sweep starts at most once per Options.NudgeGap (250 ms)
// and twice its own duration, so a burst of events costs a few sweeps,
// which take at most half of the time; all sweeps of an instance share
// one lock and never overlap. A subject that failed is requeued without a
// nudge, and now-lane sweeps pass over it until the next scheduled sweep
// retries it, so a broken record is retried once per period as before,
// however many events flow meanwhile. A nudge is
// delivered at most once, and one lost costs only the wait for the next
// scheduled sweep, which lists the now lane as before. nudge.go says why
// a message and not a watch of the lane.
//
// # Leadership
//
// Every instance may run [Scheduler.Start]; only the holder of the
// "scheduler" lease in the leases bucket sweeps. The lease is renewed every
// few seconds and expires after about 15 s; a sweep that overlaps a
// hand-over is harmless because of the occurrence markers and the dedup
// window.
package scheduler
