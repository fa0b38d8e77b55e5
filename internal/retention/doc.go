// Package retention keeps the audit trail for a configured age after each
// borrower's last record (audit.retention; 12 CFR 1006.100 asks for three
// years after the last collection activity), and then purges the
// borrower's records: delivery records, suppression changes and records of
// older versions alike, and with them the borrower's in-app inbox
// (store.InboxBucket; see inbox.go). The borrower's state (profile, loans,
// suppressions in force) is not the trail's and stays.
//
// A stream-wide MaxAge cannot do this: it would drop the first records of a
// debt still being collected. Instead an index in KV (store.RetentionBucket)
// says on which day each borrower last had a record: b.<borrower> holds
// that day, and nothing else is kept per borrower. The bucket keeps one
// message per key, so a borrower is one key and one message however many
// days it was active, and a touch is one write. (An older layout also
// listed the borrower under each day, d.<yyyy>.<mm>.<dd>.<borrower>: two
// writes per borrower and day, and a key per borrower and active day kept
// until a purge reached that day, three years on. A run folds what is
// left of it into the borrower keys and drops it.)
//
// Index.Touch moves a borrower to the day of a new record (the audit
// recorder calls it for every record; each instance writes a borrower at
// most once a day). Records stored before the index existed are indexed by
// the runs themselves, a bounded part of the stream each time (backfill).
//
// Since a touch replaces the borrower's message with one at the stream's
// end, the bucket's stream lists borrowers roughly by their last touch.
// Purger.Run walks it in that order and reads every entry (touches are not
// strictly in day order, and a test clock jumps years, so a young entry
// does not end the walk); for each borrower whose day is before the
// cutoff's it reads the borrower's newest record: only when that record is
// older than the age are the borrower's subjects purged, up to and
// including that record's sequence, and the borrower's inbox keys, up to
// the inbox's last sequence taken before that read. A record or an in-app
// message written meanwhile is newer and survives, and an index entry
// that is behind (a touch that was lost) moves the borrower on instead of
// purging it, so the index only ever decides who to look at, never what
// to delete. An entry is dropped up to the message read, so a touch that
// lands meanwhile stays.
//
// One instance at a time runs the purge, once a day (Purger.RunDue claims
// the run with a compare-and-set on a key of the same bucket); a run
// handles at most MaxPerRun borrowers, reads at most MaxWalkPerRun index
// entries and MaxScanPerRun older records, and one that stops at a bound
// notes where its walk stopped (the walk key) and runs again from there
// at the next check.
package retention
