// Package retention keeps the audit trail for a configured age after each
// borrower's last record (audit.retention; 12 CFR 1006.100 asks for three
// years after the last collection activity), and then purges the
// borrower's records: delivery records, suppression changes and records of
// older versions alike. The borrower's state (profile, loans,
// suppressions in force) is not the trail's and stays.
//
// A stream-wide MaxAge cannot do this: it would drop the first records of a
// debt still being collected. Instead an index in KV (store.RetentionBucket)
// says on which day each borrower last had a record, like the scheduler's
// due index:
//
//   - b.<borrower> holds the day of the borrower's last record;
//   - d.<yyyy>.<mm>.<dd>.<borrower> lists the borrower under that day.
//
// Index.Touch moves a borrower to the day of a new record (the audit
// recorder calls it for every record; each instance writes a borrower at
// most once a day). Records stored before the index existed are indexed by
// the runs themselves, a bounded part of the stream each time (backfill).
//
// Purger.Run lists the days older than the age, coarsest filters first,
// and for each borrower found reads the borrower's newest record: only
// when that record is older than the age are the borrower's subjects
// purged, up to and including that record's sequence. A record written
// meanwhile is newer and survives, and an index entry that is behind (a
// touch that was lost) moves the borrower on instead of purging it, so the
// index only ever decides who to look at, never what to delete.
//
// One instance at a time runs the purge, once a day (Purger.RunDue claims
// the run with a compare-and-set on a key of the same bucket); a run
// handles at most MaxPerRun borrowers and reads at most MaxScanPerRun older
// records, and one that stops at a bound runs again at the next check.
package retention
