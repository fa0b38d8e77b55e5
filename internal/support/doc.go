// Package support answers what support staff ask about borrowers, in one
// place that both the HTTP API and the web console call:
//
//   - Search finds borrowers by id, loan id, email or phone number (typed
//     in any format; see internal/ground/phone), through the stored records and
//     the phone and email indexes, never by scanning.
//   - Borrower assembles the borrower page: profile, zone and local time,
//     cases with days past due, agreements, the suppressions in force, the
//     next reminders with what would happen to each at its time (the real
//     compliance rules against the current contact ledger, and the
//     suppressions), and the recent contact attempts.
//   - OpenExport and BorrowerExport write one borrower's whole record (the
//     profile, the suppressions in force and every change of them, every
//     delivery record with its text) as one JSON document or as CSV,
//     streamed a page of records at a time.
package support
