package store

import (
	"encoding/base64"
	"strings"
)

// Stream names and subjects.
const (
	EventsStream     = "FORBEAR_EVENTS"
	EventsSubjects   = "forbear.events.>"
	EventsPrefix     = "forbear.events."
	DLQStream        = "FORBEAR_DLQ"
	DLQEventsSubject = "forbear.dlq.events"

	RemindersStream = "FORBEAR_REMINDERS"
	// RemindersPrefix + channel + "." + Token(borrower)
	RemindersPrefix = "forbear.reminders."
	// SchedulesPrefix + Token(reminder id): a deferred reminder waiting in
	// the server's message scheduler to be put back on its subject.
	SchedulesPrefix = "forbear.schedules."

	DeliveriesStream = "FORBEAR_DELIVERIES"
	// DeliveriesPrefix + Token(borrower) + "." + Token(reminder); records
	// stored before per-reminder subjects are on DeliveriesPrefix +
	// Token(borrower), changes of the borrower's suppressions on
	// SuppressionHistorySubject.
	DeliveriesPrefix = "forbear.deliveries."

	OutboxStream = "FORBEAR_OUTBOX"
	// OutboxPrefix + channel + "." + Token(borrower)
	OutboxPrefix = "forbear.outbox."

	// SweepNudgeSubject is a core NATS subject, on no stream: every
	// change to the due index's now lane is announced on it, so that the
	// instance leading the sweep publishes what became due at once.
	SweepNudgeSubject = "forbear.sweep.nudge"
)

// KV bucket names.
const (
	BorrowersBucket    = "forbear_borrowers"    // Token(borrower) -> domain.Borrower
	CasesBucket        = "forbear_cases"        // Token(loan) -> domain.Case
	AgreementsBucket   = "forbear_agreements"   // Token(agreement) -> domain.Agreement
	SuppressionsBucket = "forbear_suppressions" // Token(borrower) -> domain.Suppressions; no direct get
	EventIDsBucket     = "forbear_event_ids"    // Token(event id) -> applied marker
	OccurrencesBucket  = "forbear_occurrences"  // occurrence key -> published marker
	DueBucket          = "forbear_due"          // due index, owned by scheduler
	InboxBucket        = "forbear_inbox"        // in-app inbox, owned by channels/inapp
	TemplatesBucket    = "forbear_templates"    // owned by templates
	LeasesBucket       = "forbear_leases"       // leader leases
	SecretsBucket      = "forbear_secrets"      // generated secrets shared by instances
	LedgerBucket       = "forbear_ledger"       // Token(borrower) -> compliance.Ledger (contact attempts)
	PhonesBucket       = "forbear_phones"       // Token(phone) -> borrower ids with that number
	EmailsBucket       = "forbear_emails"       // Token(lower-case email) -> borrower ids with that address
	StatsBucket        = "forbear_stats"        // hour.instance -> delivery counts, owned by internal/stats
	InstancesBucket    = "forbear_instances"    // Token(instance) -> heartbeat, owned by internal/stats
	CallsBucket        = "forbear_calls"        // Token(reminder) -> what a call says once answered, owned by channels/voice
	RetentionBucket    = "forbear_retention"    // borrowers by day of last record, owned by internal/retention
)

// InboxKey is the key of an in-app message in InboxBucket: one per
// borrower and message, under the borrower's token so that a borrower's
// messages are one subject filter (InboxBorrowerKeys).
func InboxKey(borrowerID, messageID string) string { return Token(borrowerID) + "." + Token(messageID) }

// InboxBorrowerKeys matches every key of a borrower's in-app messages in
// InboxBucket: channels/inapp lists them with it, and the retention purge
// removes them with it.
func InboxBorrowerKeys(borrowerID string) string { return Token(borrowerID) + ".*" }

// Token turns an id into a string that is safe as one NATS subject token
// and one KV key token. Ids made of letters, digits, '-' and '_' are kept as
// they are (readable subjects); anything else becomes '=' followed by its
// unpadded base64url form, which cannot collide with a kept id because '='
// is never kept.
func Token(id string) string {
	if id != "" && isPlain(id) {
		return id
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(id))
}

// FromToken reverses Token.
func FromToken(tok string) (string, error) {
	if !strings.HasPrefix(tok, "=") {
		return tok, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok[1:])
	return string(b), err
}

func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ReminderSubject is the REMINDERS subject of a reminder.
func ReminderSubject(channel, borrowerID string) string {
	return RemindersPrefix + channel + "." + Token(borrowerID)
}

// DeliverySubject is the DELIVERIES subject of a reminder's audit records:
// one subject per reminder, so that its records are read without scanning
// the borrower's whole history.
func DeliverySubject(borrowerID, reminderID string) string {
	return DeliveriesPrefix + Token(borrowerID) + "." + Token(reminderID)
}

// DeliveryFilter matches every per-reminder subject of a borrower's audit
// records.
func DeliveryFilter(borrowerID string) string { return DeliveriesPrefix + Token(borrowerID) + ".*" }

// SuppressionHistorySubject is where the changes of a borrower's
// suppressions are recorded, beside the delivery records (and retained and
// purged with them). It has one token more than a reminder's subject, so
// DeliveryFilter never matches it.
func SuppressionHistorySubject(borrowerID string) string {
	return DeliveriesPrefix + Token(borrowerID) + ".suppressions.changes"
}

// BorrowerRecordsFilter matches every audit subject of a borrower but the
// legacy one: the per-reminder subjects and the suppression history.
func BorrowerRecordsFilter(borrowerID string) string {
	return DeliveriesPrefix + Token(borrowerID) + ".>"
}

// LegacyDeliverySubject is where a borrower's audit records were stored
// before they had a subject per reminder; reads still include it.
func LegacyDeliverySubject(borrowerID string) string { return DeliveriesPrefix + Token(borrowerID) }

// KVStream is the stream that holds a KV bucket.
func KVStream(bucket string) string { return "KV_" + bucket }

// KVSubject is the stream subject of a key (or a key pattern with
// wildcards) of a KV bucket.
func KVSubject(bucket, key string) string { return "$KV." + bucket + "." + key }

// OutboxSubject is the sandbox OUTBOX subject.
func OutboxSubject(channel, borrowerID string) string {
	return OutboxPrefix + channel + "." + Token(borrowerID)
}
