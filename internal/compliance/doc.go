// Package compliance is forbear's contact-rule engine: a pure function of
// the rules, an injected "now", the reminder, the borrower and the
// borrower's recent contact attempts (a Ledger) that decides whether a
// reminder may go out now.
//
// A Decision is one of
//
//   - allowed;
//   - capped (recorded, never sent, not retried): a rolling cap per channel
//     ("cap"), a conversation block on calls about one loan
//     ("conversation"), a per-day limit of connected calls
//     ("connected_per_day") or of calls placed ("calls_per_day"), a cap on
//     calls and texts per loan by the kind of number ("phone_contacts"),
//     or an SMS whose number was never confirmed within its hold
//     ("number_check");
//   - deferred (held, and tried again at Decision.Until): an SMS to a
//     number not confirmed recently ("number_check"), outside the send
//     window ("send_window") or inside one of the borrower's blackout
//     hours ("blackout").
//
// Capping rules are checked first, because a capped reminder is never
// retried and deferring it first would only postpone the same answer.
//
// # Sources
//
// Every value of the Rules has a Source: the preset that set it and the
// article of its text it follows, the configuration key that set it, or
// forbear's own default. Every decision carries its rule id and that
// source (Decision.Pack, Decision.Citation), and its Reason starts with
// them: "send_window[cn-gbt-2025 风控指引, forbear's reading: collection
// hours]: ...". Where forbear does not have a text's own article numbers,
// the citation names the text and says that the value is forbear's
// reading of it; it never invents an article number.
//
// Wording a reason (times in every zone, counts, the window) costs more
// than deciding. Rules.CheckWithoutReason decides alike and leaves the
// Reason empty, with no allocation on any path (a dry run words only the
// reasons of the schedules it keeps); Rules.Check, which the channel
// workers use, always words it.
//
// # Time zones
//
// The send window and blackouts are in the borrower's local time. The
// borrower's zone is the stored IANA zone, or the configured default
// (scheduler.timezone) when it is missing or unknown. The zones the phone
// number may be in come from libphonenumber's time-zone data
// (github.com/nyaruka/phonenumbers, PhoneZones): one for most numbers, two
// where a NANP area code spans two zones, a whole country's for a number
// the data places only by its country code. A reminder may go only at
// moments that are inside the window in every one of those zones and in
// the borrower's own. If they share no such moment within 48 hours
// (Asia/Shanghai and America/New_York in winter, for example) the engine
// falls back to the window of the primary (stored or default) zone and
// says so in the reason. Deferral instants are computed exactly, across
// DST gaps and overlaps. The zones of the numbers checked lately are
// remembered in a fixed table (a borrower's reminders are decided again
// and again).
//
// # Configuration
//
// Compile builds Rules in three layers: the built-in rules (send window
// 08:00-21:00; sms at most 3 per 24h per borrower; voice at most 7 per
// 168h per loan; no calls about a loan for 7 days after a conversation;
// opt-out keywords STOP, UNSUBSCRIBE, 退订, TD, T: all forbear's own
// defaults), then the presets named by compliance.preset, then every
// compliance key that is set. An explicitly empty caps map ("caps: {}")
// removes every cap; a cap with max 0 removes that channel's cap;
// send_window 00:00-24:00 means no window.
//
// Several presets combine rule by rule, the strictest value winning (see
// pack.apply): the window is the hours inside all of them, a daily limit
// the lower, a wait the longer, a cap the one that allows no more; two
// caps neither of which is stricter are a configuration error.
//
// # Presets and their sources
//
// us-regf follows the U.S. CFPB Regulation F (12 CFR part 1006):
//
//   - 1006.6(b)(1)(i): before 8:00 a.m. and after 9:00 p.m. local time at
//     the consumer's location is presumed inconvenient, in every possible
//     location. Window 08:00-21:00 over the stored zone and every zone of
//     the number.
//   - 1006.14(b)(2)(i): more than seven calls within seven consecutive
//     days about a particular debt. Voice cap 7 per 168h per loan. Calls
//     that rang (answered or not) or reached voicemail count; busy and
//     failed attempts do not (forbear's reading of the treatment of calls
//     that do not connect to the dialed number).
//   - 1006.14(b)(2)(ii): a call within seven days after a telephone
//     conversation about the debt. after_conversation 7d.
//   - 1006.14(b)(3)(i): calls made with the person's prior consent do not
//     count. Calls placed at or after a consent to calls are left out of
//     the 7-in-7 count while the consent is under 7 days old; afterwards
//     they count again (forbear's reading, the stricter of two). A consent
//     only removes calls from the count: a full cap still refuses.
//   - 1006.6(d)(5): text messages to a number that may have been
//     reassigned. An SMS goes only to a number confirmed (a consent, a
//     reassigned-number check, a consent to SMS) within 60 days; others
//     are deferred, and capped when none comes within 7 days of their due
//     time (forbear's choice, so that nothing circulates for ever).
//   - 1006.6(e): electronic communications carry an opt-out notice.
//     RequireOptOutLine.
//
// us-ma follows Massachusetts 940 CMR 7.04(1)(f) for creditors: per debt,
// at most two calls or texts in each seven days to a home or mobile
// number, and two in each thirty days to any other number (PhoneCaps).
// The kind of number is the borrower's phone_kind, else its type in
// libphonenumber's data ("other", the stricter, where unclear).
//
// cn-gbt-2025 follows the national standard 《互联网金融 个人网络消费信贷
// 贷后催收风控指引》 (in force 2025-02-28, replacing the NIFA 2024
// guideline): no collection 22:00-08:00 (window 08:00-22:00); at most 3
// effective voice conversations a day with one debtor, automated voice
// included (connected_per_day 3: every connected call counts, whatever
// spoke); the debtor only, never the contacts they listed (forbear
// contacts only the borrower's own contact points, so this needs no rule).
// Borrowers without a zone are taken to be in Asia/Shanghai unless
// scheduler.timezone says otherwise (forbear's choice).
//
// cn-cba-2026 follows the China Banking Association's
// 《金融机构个人消费类贷款催收工作指引（试行）》(2026): no collection
// 22:00-08:00; when calls go unanswered, at most 6 attempts a day to the
// same contact method (calls_per_day 6, counting every call placed to the
// number that day, answered or not: forbear's reading, the stricter).
//
// cn-nifa is a deprecated alias of cn-gbt-2025: Rules.Deprecated says so,
// for the log at start.
//
// Keys set in the configuration override a preset.
package compliance
