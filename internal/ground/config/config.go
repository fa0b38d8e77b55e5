package config

import (
	"time"
)

// Config is the whole configuration (spec §2). The zero value is not
// usable; start from Default().
type Config struct {
	HTTP    HTTP   `yaml:"http"`
	Auth    Auth   `yaml:"auth"`
	DataDir string `yaml:"data_dir"`
	// MemoryLimitMiB is the Go runtime's soft memory limit for the whole
	// process, embedded NATS server included (see internal/roof/app
	// SetMemoryLimit); 0 leaves the runtime's default.
	MemoryLimitMiB int        `yaml:"memory_limit_mib"`
	NATS           NATS       `yaml:"nats"`
	Scheduler      Scheduler  `yaml:"scheduler"`
	Providers      Providers  `yaml:"providers"`
	Compliance     Compliance `yaml:"compliance"`
	Policies       []Policy   `yaml:"policies"`
	Agreements     Agreements `yaml:"agreements"`
	TemplatesDir   string     `yaml:"templates_dir"`
	Templates      Templates  `yaml:"templates"`
	Dispatcher     Dispatcher `yaml:"dispatcher"`
	Console        Console    `yaml:"console"`
	Audit          Audit      `yaml:"audit"`
	Log            Log        `yaml:"log"`
}

// HTTP is the API listener.
type HTTP struct {
	Listen string `yaml:"listen"`
	// PublicURL is how Twilio reaches us (signature checks, callbacks);
	// default http://<listen>.
	PublicURL string `yaml:"public_url"`
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included (an event
	// batch of up to 8 MB on a slow link).
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds each write of an answer, counted from that write:
	// the work before an answer (a large batch, a held acknowledgement) is
	// not bounded by it, a client that stops reading is.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds a request's header block.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxConnections caps open client connections (event streams
	// included); further clients wait for a free one. 0 derives it from
	// the process's open-file limit, leaving the rest to NATS and files.
	MaxConnections int `yaml:"max_connections"`
	// InboxStreams caps the live inbox streams (server-sent events) one
	// instance serves.
	InboxStreams StreamCaps `yaml:"inbox_streams"`
}

// StreamCaps bound concurrent inbox streams on one instance; a stream over
// either cap is refused with 429.
type StreamCaps struct {
	// PerToken bounds the streams opened with one bearer token (default 4).
	PerToken int `yaml:"per_token"`
	// PerBorrower bounds the streams of one borrower's inbox, whatever the
	// tokens (default 8).
	PerBorrower int `yaml:"per_borrower"`
}

// Auth holds the bearer tokens. No tokens and a loopback listener means
// open mode (with a warning); no tokens on any other listener refuses to
// start.
type Auth struct {
	Tokens []Token `yaml:"tokens"`
}

// Token is one bearer token and the roles it grants.
type Token struct {
	Name  string   `yaml:"name"`
	Token string   `yaml:"token"`
	Roles []string `yaml:"roles"` // publisher, ops, support, admin
}

// NATS selects the embedded server or an external one.
type NATS struct {
	// URL of an external NATS (cluster); empty runs the embedded server.
	URL      string   `yaml:"url"`
	Embedded Embedded `yaml:"embedded"`
	// Replicas for streams and buckets on an external cluster (default 1
	// embedded, 3 is usual on a cluster).
	Replicas int `yaml:"replicas"`
	// Creds is an optional NATS credentials file for an external server.
	Creds string `yaml:"creds"`
}

// Embedded configures the embedded server.
type Embedded struct {
	// Listen for other processes; "" = in-process connections only.
	Listen string `yaml:"listen"`
}

// Scheduler configures the sweep.
type Scheduler struct {
	// Sweep is a robfig/cron spec ("@every 1m", "CRON_TZ=... */5 * * * *").
	Sweep string `yaml:"sweep"`
	// Timezone is the default borrower time zone (IANA).
	Timezone string `yaml:"timezone"`
	// CatchUp is how late a one-shot step may still be sent (after
	// downtime); repeating steps use their period.
	CatchUp Duration `yaml:"catch_up"`
	// DefaultPolicy serves cases whose loan.updated names no policy;
	// default "standard" (or the first due-date policy when there is none).
	DefaultPolicy string `yaml:"default_policy"`
	// SweepBudget is how long one sweep may run before the instance
	// reports it (a warning, a metric, /readyz degraded); keep it under
	// the sweep period, since runs due meanwhile are skipped.
	SweepBudget Duration `yaml:"sweep_budget"`
}

// Providers configures each channel's provider.
type Providers struct {
	SMS   Provider `yaml:"sms"`
	Voice Provider `yaml:"voice"`
	Email Provider `yaml:"email"`
	InApp Provider `yaml:"inapp"`
}

// Provider is one channel's provider. Kind "" or "sandbox" uses the local
// outbox.
type Provider struct {
	Kind   string `yaml:"kind"` // sandbox, twilio, smtp, inbox
	From   string `yaml:"from"`
	Twilio Twilio `yaml:"twilio"`
	SMTP   SMTP   `yaml:"smtp"`
	// Concurrency is how many sends (or, for voice, simultaneous calls) one
	// instance runs at once.
	Concurrency int `yaml:"concurrency"`
	// RatePerSecond limits sends per sender (Twilio long codes: about 1/s);
	// 0 means no limit.
	RatePerSecond float64 `yaml:"rate_per_second"`
}

// Twilio holds Twilio credentials.
type Twilio struct {
	AccountSID string `yaml:"account_sid"`
	AuthToken  string `yaml:"auth_token"`
	// APIBaseURL replaces https://api.twilio.com (tests, proxies, regional
	// gateways).
	APIBaseURL string `yaml:"api_base_url"`
}

// SMTP is an SMTP relay.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	TLS      string `yaml:"tls"` // none, starttls, tls
	// InsecureSkipVerify accepts any server certificate (test relays only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Compliance holds the contact rules the dispatcher enforces itself.
type Compliance struct {
	// Preset starts from one named rule set or a combination of them
	// ("us-regf", or [us-regf, us-ma]: per rule the strictest wins); the
	// keys below that are set override it.
	Preset     Presets        `yaml:"preset"`
	SendWindow Window         `yaml:"send_window"`
	Caps       map[string]Cap `yaml:"caps"`
	// AfterConversation blocks further calls about a loan after a connected
	// call (default 7 days).
	AfterConversation *Duration `yaml:"after_conversation"`
	// MaxConnectedPerDay caps connected calls per borrower per local day
	// (0: no cap).
	MaxConnectedPerDay *int `yaml:"max_connected_per_day"`
	// OptOutKeywords are the inbound SMS words that opt a number out
	// (matched case-insensitively on the whole trimmed message).
	OptOutKeywords []string `yaml:"opt_out_keywords"`
	// OptOutConfirmation, when set, is the one SMS sent back after an
	// inbound opt-out (per locale); empty sends none.
	OptOutConfirmation map[string]string `yaml:"opt_out_confirmation"`
}

// Window is a daily time window in borrower local time.
type Window struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// Cap is a rolling limit: at most Max messages in any window of Per.
type Cap struct {
	Max int      `yaml:"max"`
	Per Duration `yaml:"per"`
	// Scope is "borrower" (default; voice defaults to "loan", per debt as
	// Regulation F counts calls).
	Scope string `yaml:"scope"`
}

// Policy is a named sequence of reminder steps.
type Policy struct {
	ID       string `yaml:"id"`
	Category string `yaml:"category"` // collection, agreement
	// Anchor: "" or "due_date" counts from the loan's due date;
	// "installment" from each agreement instalment's due date.
	Anchor string `yaml:"anchor"`
	Steps  []Step `yaml:"steps"`
}

// Step is one reminder of a policy.
type Step struct {
	ID       string    `yaml:"id"`
	At       Duration  `yaml:"at"`
	Every    *Duration `yaml:"every"`
	Until    *Duration `yaml:"until"`
	Channels []string  `yaml:"channels"`
	Template string    `yaml:"template"`
}

// Agreements configures agreement plans.
type Agreements struct {
	// Policy is the policy agreement.activated starts.
	Policy string `yaml:"policy"`
}

// Templates holds the rules every template version must pass to be saved.
type Templates struct {
	// MaxSMSSegments is how many SMS segments (160 GSM-7 septets or 70
	// UCS-2 units as one message, 153 or 67 per part beyond) an SMS text
	// may take when rendered with realistically long values; default 3.
	MaxSMSSegments int `yaml:"max_sms_segments"`
	// OptOutPhrases: a collection SMS or email must contain one of them;
	// default "STOP" and "退订".
	OptOutPhrases []string `yaml:"opt_out_phrases"`
}

// Dispatcher tunes the delivery pipeline.
type Dispatcher struct {
	// FenceLease is how long a suppression fence result may be used to
	// start a provider call; acknowledgements of mutes and agreements wait
	// this long so that no call cleared before them can start after them.
	FenceLease Duration `yaml:"fence_lease"`
	// AckWait is how long a worker may hold a reminder before NATS
	// redelivers it.
	AckWait Duration `yaml:"ack_wait"`
	// MaxDeliver bounds retries of one reminder (0: until sent).
	MaxDeliver int `yaml:"max_deliver"`
	// MaxDefer bounds one wait of a reminder deferred by a send window or
	// blackout; it is decided again when it comes back (default 1h).
	MaxDefer Duration `yaml:"max_defer"`
}

// Console configures what the support and ops views read.
type Console struct {
	// PhoneRegion is the ISO 3166 alpha-2 region (CN, US, GB) of phone
	// numbers typed into a search without a country code; default CN.
	PhoneRegion string `yaml:"phone_region"`
}

// Audit configures the audit trail (delivery records and suppression
// changes).
type Audit struct {
	// Retention is how long a borrower's records are kept after the
	// borrower's last record (12 CFR 1006.100: three years after the last
	// collection activity); 0 keeps them forever.
	Retention Age `yaml:"retention"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // "" (json unless a terminal), json, text
}

func dur(d time.Duration) Duration { return Duration(d) }
func durp(d time.Duration) *Duration {
	v := Duration(d)
	return &v
}
