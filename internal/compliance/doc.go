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
//     ("conversation"), or a per-day limit of connected calls
//     ("connected_per_day");
//   - deferred (held, and tried again at Decision.Until): outside the send
//     window ("send_window") or inside one of the borrower's blackout hours
//     ("blackout").
//
// Capping rules are checked first, because a capped reminder is never
// retried and deferring it first would only postpone the same answer.
// Every decision carries the rule, a human-readable reason (which window
// or cap, which zones, until when) and the instant it stops applying.
//
// # Time zones
//
// The send window and blackouts are in the borrower's local time. The
// borrower's zone is the stored IANA zone, or the configured default
// (scheduler.timezone) when it is missing or unknown. When the phone
// number's region (E.164 country code; for +1 the area code) has one zone
// that differs from it, a reminder may go only at moments that are inside
// the window in every one of those zones. If the zones share no such
// moment within 48 hours (Asia/Shanghai and America/New_York in winter,
// for example) the engine falls back to the window of the primary (stored
// or default) zone and says so in the reason. Deferral instants are
// computed exactly, across DST gaps and overlaps.
//
// # Configuration
//
// Compile builds Rules in three layers: the built-in rules (send window
// 08:00-21:00; sms at most 3 per 24h per borrower; voice at most 7 per 168h
// per loan; no calls about a loan for 7 days after a conversation; opt-out
// keywords STOP, UNSUBSCRIBE, 退订, TD, T), then the preset named by
// compliance.preset, then every compliance key that is set. An explicitly
// empty caps map ("caps: {}") removes every cap; a cap with max 0 removes
// that channel's cap; send_window 00:00-24:00 means no window.
//
// # Presets and their sources
//
// us-regf follows the U.S. CFPB Regulation F (12 CFR part 1006):
//
//   - 12 CFR 1006.6(b)(1)(i): a time before 8:00 a.m. or after 9:00 p.m.
//     local time at the consumer's location is presumed inconvenient; when
//     the location is uncertain, a collector must not contact the consumer
//     at a time inconvenient in any of the possible locations. Window
//     08:00-21:00, intersected over the stored and phone zones.
//   - 12 CFR 1006.14(b)(2): a collector is presumed to harass by telephone
//     if it places more than seven calls within seven consecutive days, or
//     within seven days after a telephone conversation, about a particular
//     debt. Voice cap 7 per 168h per loan, and after_conversation 7d.
//     Calls that rang (answered or not) or reached voicemail count; busy
//     and failed attempts, which never reached the consumer's line, do not
//     (the product's reading of the rule's commentary on calls that do not
//     connect to the dialed number).
//   - 12 CFR 1006.6(d)(3) and 1006.6(e): an electronic communication must
//     include a clear and conspicuous way to opt out. RequireOptOutLine.
//
// cn-nifa follows the National Internet Finance Association of China,
// 中国互联网金融协会《互联网金融逾期债务催收自律公约（试行）》(2018):
//
//   - contact hours 8:00-21:00 (window 08:00-21:00; borrowers without a zone
//     are taken to be in Asia/Shanghai unless scheduler.timezone says
//     otherwise);
//   - no contact of third parties unrelated to the debt (forbear only ever
//     contacts the borrower's own contact points, so this needs no rule in
//     the engine);
//   - at most 3 connected calls per borrower per local day: a limit set by
//     this product's preset (the convention is stricter than silence on
//     frequency but does not fix a number), compliance.max_connected_per_day.
//
// Keys set in the configuration override a preset.
package compliance
