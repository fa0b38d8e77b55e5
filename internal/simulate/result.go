package simulate

import (
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// What happened to a reminder, as a run counts it.
const (
	// StatusSent: the reminder reached its provider.
	StatusSent = "sent"
	// StatusDeferred: a send window or blackout held it (counted once, on
	// the day it was first held; it is decided again later).
	StatusDeferred = "deferred"
	// StatusCapped: a cap or a conversation stopped it for good.
	StatusCapped = "capped"
	// StatusSuppressed: a suppression in force when it was decided (an
	// agreement, a mute, an opt-out, a cease request, a closed case)
	// stopped it.
	StatusSuppressed = "suppressed"
	// StatusFailed: no address on the channel, or a text that does not
	// render.
	StatusFailed = "failed"
	// StatusWithheld: never published: the sweep saw a suppression in
	// force, or an agreement covering the loan, when the occurrence came
	// due. The live audit trail has no record of these.
	StatusWithheld = "withheld"
)

// Statuses lists the statuses of a run's counts, in a stable order.
var Statuses = []string{StatusSent, StatusDeferred, StatusCapped, StatusSuppressed, StatusFailed, StatusWithheld}

func statusIndex(s string) int {
	for i, x := range Statuses {
		if x == s {
			return i
		}
	}
	return -1
}

// Result is what a run found.
type Result struct {
	// Variant names the setup ("live" or the variant's name).
	Variant string `json:"variant"`
	// Start and Days are the simulated span; days begin at 00:00 in Zone.
	Start time.Time `json:"start"`
	Days  int       `json:"days"`
	Zone  string    `json:"zone"`
	// Borrowers is how many borrowers were simulated.
	Borrowers int `json:"borrowers"`
	// CallAnswered is the share of placed calls taken as connected (the
	// others ring unanswered).
	CallAnswered float64 `json:"call_answered"`
	// Totals are the counts of the whole run by status.
	Totals map[string]int `json:"totals"`
	// Rules are the whole run's holds by "status/rule"
	// ("deferred/send_window", "capped/cap", "withheld/agreement").
	Rules map[string]int `json:"rules"`
	// Segments is the SMS segments sent over the run (what is billed).
	Segments int `json:"sms_segments"`
	// PerDay is every day of the run.
	PerDay []Day `json:"per_day"`
	// Schedules are the exact schedules of the borrowers asked for.
	Schedules []Schedule `json:"schedules"`
	// Elapsed is how long the run took (wall time).
	Elapsed time.Duration `json:"-"`
}

// Day is one day of a run.
type Day struct {
	Date string `json:"date"`
	// Channels are the day's counts per channel (every channel listed).
	Channels map[domain.Channel]*ChannelDay `json:"channels"`
}

// ChannelDay is one channel's day.
type ChannelDay struct {
	Sent       int `json:"sent"`
	Deferred   int `json:"deferred"`
	Capped     int `json:"capped"`
	Suppressed int `json:"suppressed"`
	Failed     int `json:"failed"`
	Withheld   int `json:"withheld"`
	// Segments is the SMS segments sent that day (sms only).
	Segments int `json:"sms_segments,omitempty"`
	// DeferredUntil counts the day's deferred reminders by when they were
	// held until: the hour in the run's zone ("08:00"), or the date and
	// hour when that is another day ("2026-12-02 08:00").
	DeferredUntil map[string]int `json:"deferred_until,omitempty"`
	// Rules counts the day's holds by "status/rule".
	Rules map[string]int `json:"rules,omitempty"`
	// SentByHour is the day's sends per hour of the day in the run's zone.
	SentByHour [24]int `json:"sent_by_hour"`
	// Capacity says whether the day's sends fit the provider's rate.
	Capacity Capacity `json:"capacity"`
}

// count returns the counter of status s.
func (c *ChannelDay) count(s string) *int {
	switch s {
	case StatusSent:
		return &c.Sent
	case StatusDeferred:
		return &c.Deferred
	case StatusCapped:
		return &c.Capped
	case StatusSuppressed:
		return &c.Suppressed
	case StatusFailed:
		return &c.Failed
	default:
		return &c.Withheld
	}
}

// Count is the day's count of status s.
func (c *ChannelDay) Count(s string) int { return *c.count(s) }

// Schedule is one borrower's reminders over the run, in time order.
type Schedule struct {
	BorrowerID string  `json:"borrower_id"`
	Timezone   string  `json:"zone"`
	Entries    []Entry `json:"entries"`
	// Truncated is set when the borrower had more than MaxEntries.
	Truncated bool `json:"truncated,omitempty"`
}

// MaxEntries bounds the entries kept of one borrower's schedule.
const MaxEntries = 2000

// Entry is one decision about one reminder.
type Entry struct {
	At         time.Time      `json:"at"`
	ReminderID string         `json:"reminder_id"`
	LoanID     string         `json:"loan_id"`
	Step       string         `json:"step"`
	Channel    domain.Channel `json:"channel"`
	Status     string         `json:"status"`
	// Rule is what held the reminder (send_window, cap, agreement,
	// case_closed, ...); empty for a send.
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Until is when a deferred reminder is held until, or when a cap
	// frees.
	Until *time.Time `json:"until,omitempty"`
	// Segments is an SMS's segments.
	Segments int `json:"segments,omitempty"`
}
