package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/logging"
)

func TestChainSurvivesPanic(t *testing.T) {
	t.Parallel()
	l := cronLogger{log: logging.Discard()}
	runs := 0
	panicky := cron.FuncJob(func() {
		runs++
		if runs == 1 {
			panic("boom")
		}
	})
	job := cron.NewChain(jobWrappers(l)...).Then(panicky)
	for range 3 {
		job.Run() // would panic out of the test if Recover were missing
	}
	if runs != 3 {
		t.Errorf("job ran %d times, want 3: a panic disabled later runs", runs)
	}

	// The reverse order is the trap the chain avoids: one panic and the
	// job never runs again.
	runs = 0
	wrong := cron.NewChain(cron.Recover(l), cron.SkipIfStillRunning(l)).Then(panicky)
	for range 3 {
		wrong.Run()
	}
	if runs != 1 {
		t.Errorf("reverse chain ran %d times; expected it to stick at 1", runs)
	}
}

func TestParseSpec(t *testing.T) {
	t.Parallel()
	from := time.Date(2025, 3, 10, 0, 0, 30, 0, time.UTC)
	tests := []struct {
		spec    string
		want    time.Time
		wantErr bool
	}{
		{spec: "@every 1m", want: from.Add(time.Minute)},
		{spec: "*/5 * * * *", want: time.Date(2025, 3, 10, 0, 5, 0, 0, time.UTC).In(time.Local)},
		{spec: "CRON_TZ=Asia/Shanghai 0 9 * * *", want: time.Date(2025, 3, 10, 1, 0, 0, 0, time.UTC)},
		{spec: "CRON_TZ=UTC 30 * * * * *", want: time.Date(2025, 3, 10, 0, 1, 30, 0, time.UTC)},
		{spec: "@hourly", want: time.Date(2025, 3, 10, 1, 0, 0, 0, time.UTC)},
		{spec: "bogus", wantErr: true},
		{spec: "@every nope", wantErr: true},
		{spec: "CRON_TZ=Mars/Olympus * * * * *", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			sch, err := ParseSpec(tt.spec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSpec(%q) err = %v, wantErr %v", tt.spec, err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.spec) {
					t.Errorf("error %q does not name the spec", err)
				}
				return
			}
			// "*/5" and "@hourly" are read in time.Local; compare instants
			// only where the zone is fixed by the spec or irrelevant.
			if tt.spec == "*/5 * * * *" || tt.spec == "@hourly" {
				if _, off := time.Now().Zone(); off != 0 {
					return
				}
			}
			if got := sch.Next(from); !got.Equal(tt.want) {
				t.Errorf("Next = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC))
	ps, err := Compile(config.ExamplePolicies())
	if err != nil {
		t.Fatal(err)
	}
	base := Options{JS: b.nats.JS, State: b.state, Policies: ps}
	tests := []struct {
		name    string
		mod     func(*Options)
		wantErr string
	}{
		{"ok", func(*Options) {}, ""},
		{"no js", func(o *Options) { o.JS = nil }, "JS is required"},
		{"no state", func(o *Options) { o.State = nil }, "State is required"},
		{"no policies", func(o *Options) { o.Policies = nil }, "Policies is empty"},
		{"bad spec", func(o *Options) { o.Spec = "every minute" }, `sweep spec "every minute"`},
		{"unknown default", func(o *Options) { o.DefaultPolicy = "nope" }, `default policy "nope"`},
		{"instalment default", func(o *Options) { o.DefaultPolicy = "plan" }, "anchored on the due date"},
		{"unknown agreement policy", func(o *Options) { o.AgreementPolicy = "nope" }, `agreement policy "nope"`},
		{"due-date agreement policy", func(o *Options) { o.AgreementPolicy = "standard" }, "anchor: installment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.mod(&o)
			_, err := New(o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
