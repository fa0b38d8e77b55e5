package config

import "time"

// DefaultMemoryLimitMiB is memory_limit_mib when not configured.
const DefaultMemoryLimitMiB = 896

// MinMemoryLimitMiB is the least memory_limit_mib other than 0: below it
// the collector would run all the time.
const MinMemoryLimitMiB = 128

// Default returns the configuration forbear runs with when nothing is
// configured: embedded NATS, HTTP on loopback, sandbox providers and the
// bundled example policies "standard" and "plan".
func Default() Config {
	return Config{
		HTTP: HTTP{
			Listen:            "127.0.0.1:8080",
			ReadHeaderTimeout: dur(10 * time.Second),
			ReadTimeout:       dur(time.Minute),
			WriteTimeout:      dur(2 * time.Minute),
			IdleTimeout:       dur(2 * time.Minute),
			MaxHeaderBytes:    64 << 10,
			InboxStreams:      StreamCaps{PerToken: 4, PerBorrower: 8},
		},
		DataDir: "./forbear-data",
		// 1,000,000 open cases keep about 250 MiB live in the embedded
		// server's subject index, about 530 MiB for the two minutes after
		// all of them were written at once; a heap of twice that would
		// pass 1 GiB, so a soft limit makes the collector run before.
		MemoryLimitMiB: DefaultMemoryLimitMiB,
		NATS:           NATS{Embedded: Embedded{Listen: "127.0.0.1:4222"}},
		Scheduler: Scheduler{
			Sweep:       "@every 1m",
			Timezone:    "Asia/Shanghai",
			CatchUp:     dur(24 * time.Hour),
			SweepBudget: dur(50 * time.Second),
		},
		Providers: Providers{
			SMS:   Provider{Kind: "sandbox", Concurrency: 64},
			Voice: Provider{Kind: "sandbox", Concurrency: 4},
			Email: Provider{Kind: "sandbox", Concurrency: 16},
			InApp: Provider{Kind: "inbox", Concurrency: 64},
		},
		// Compliance is left unset here: the compliance package applies the
		// built-in rules (08:00-21:00, sms 3 per 24h, voice 7 per 168h per
		// loan, 7 days after a conversation), then a preset, then the keys
		// that were set, so that "set" and "default" stay distinguishable.
		Policies:     ExamplePolicies(),
		Agreements:   Agreements{Policy: "plan"},
		TemplatesDir: "./templates",
		Templates:    Templates{MaxSMSSegments: 3, OptOutPhrases: []string{"STOP", "退订"}},
		Dispatcher: Dispatcher{
			FenceLease: dur(200 * time.Millisecond),
			AckWait:    dur(30 * time.Second),
			MaxDefer:   dur(time.Hour),
		},
		// CN goes with the default scheduler.timezone, Asia/Shanghai.
		Console: Console{PhoneRegion: "CN"},
		// Three years after the last activity (12 CFR 1006.100).
		Audit: Audit{Retention: Age(DefaultRetention)},
		Log:   Log{Level: "info"},
	}
}

// ExamplePolicies are the bundled policies of spec §2.
func ExamplePolicies() []Policy {
	day := 24 * time.Hour
	return []Policy{
		{
			ID: "standard", Category: "collection",
			Steps: []Step{
				{ID: "pre-due", At: dur(-3 * day), Channels: []string{"sms", "inapp"}, Template: "pre_due"},
				{ID: "overdue", At: dur(day), Every: durp(3 * day), Until: durp(29 * day), Channels: []string{"sms"}, Template: "overdue"},
				{ID: "call", At: dur(7 * day), Every: durp(2 * day), Channels: []string{"voice"}, Template: "call"},
			},
		},
		{
			ID: "plan", Category: "agreement", Anchor: "installment",
			Steps: []Step{
				{ID: "before", At: dur(-2 * day), Channels: []string{"sms", "inapp"}, Template: "installment_due"},
				{ID: "missed", At: dur(day), Channels: []string{"sms", "inapp"}, Template: "installment_missed"},
			},
		},
	}
}
