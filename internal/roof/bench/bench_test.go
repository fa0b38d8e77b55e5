package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// TestRunSmall runs the whole bench at a small size and checks that every
// figure is there and sane: the rates, the writes and reads per reminder
// (the reminders' own stream gets exactly one write each), the latency
// samples, the sweep and the RSS of each phase, in the text and in JSON.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the bench")
	}
	const reminders, cases, events = 500, 1000, 20
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := Run(ctx, Options{Reminders: reminders, Cases: cases, Events: events, Sweep: "@every 1s", Dir: t.TempDir()}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	text := out.String()
	t.Log("\n" + text)

	positive := func(name string, v float64) {
		t.Helper()
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive finite number", name, v)
		}
	}
	positive("raw per second", res.Raw.PerSec)
	positive("end-to-end per second", res.EndToEnd.PerSec)
	positive("ratio", res.Ratio)
	if res.EndToEnd.FenceChecks < reminders {
		t.Errorf("fence checks %d, want at least one per reminder (%d)", res.EndToEnd.FenceChecks, reminders)
	}
	if e := res.EndToEnd; e.FenceRounds < 1 || e.FenceRounds > e.FenceChecks || e.FenceRoundP50 <= 0 {
		t.Errorf("fence rounds %d (p50 %v) for %d checks, want between one and one per check", e.FenceRounds, e.FenceRoundP50, e.FenceChecks)
	}

	st := res.EndToEnd.Storage
	positive("writes per reminder", st.WritesPerReminder)
	positive("reads per reminder", st.ReadsPerReminder)
	if st.Reminders != reminders {
		t.Errorf("storage divided by %d reminders, want %d", st.Reminders, reminders)
	}
	streams := map[string]StreamIO{}
	var writes, reads int64
	for _, s := range st.Streams {
		streams[s.Stream] = s
		writes += s.Writes
		reads += s.Reads
	}
	if writes != st.Writes || reads != st.Reads {
		t.Errorf("streams add up to %d writes and %d reads, totals say %d and %d", writes, reads, st.Writes, st.Reads)
	}
	if got := streams["FORBEAR_REMINDERS"].Writes; got != reminders {
		t.Errorf("FORBEAR_REMINDERS got %d writes, want one per reminder (%d)", got, reminders)
	}
	if got := streams["FORBEAR_DELIVERIES"].Writes; got < 2*reminders {
		t.Errorf("FORBEAR_DELIVERIES got %d writes, want at least a queued and a delivered record per reminder (%d)", got, 2*reminders)
	}
	if got := streams["FORBEAR_REMINDERS"].Delivered; got < reminders {
		t.Errorf("FORBEAR_REMINDERS handed out %d messages, want at least %d", got, reminders)
	}
	if st.Acks < reminders {
		t.Errorf("%d acks, want at least one per reminder (%d)", st.Acks, reminders)
	}

	lat := res.Latency
	if lat == nil {
		t.Fatal("no event-to-provider latency")
	}
	if lat.Events != events || lat.Spread != 2*time.Second {
		t.Errorf("latency over %d events spread over %v, want %d over 2s", lat.Events, lat.Spread, events)
	}
	if !(0 < lat.P50 && lat.P50 <= lat.P99 && lat.P99 <= lat.Max) {
		t.Errorf("latency p50 %v, p99 %v, max %v: want 0 < p50 <= p99 <= max", lat.P50, lat.P99, lat.Max)
	}
	if !(0 < lat.IntakeP50 && lat.IntakeP50 <= lat.IntakeP99) {
		t.Errorf("intake p50 %v, p99 %v", lat.IntakeP50, lat.IntakeP99)
	}
	if res.Sweep == nil || res.Sweep.Cases != cases || res.Sweep.P50 <= 0 {
		t.Errorf("sweep with nothing due: %+v", res.Sweep)
	}
	// The end-to-end run carries the open cases: they are loaded into its
	// instance first, and their memory is part of its peak.
	if res.EndToEnd.OpenCases != cases || res.Sweep == nil || res.Sweep.LiveHeapMiB <= 0 || res.Sweep.SettledHeapMiB != 0 {
		t.Errorf("end to end over %d open cases, sweep %+v; want %d open cases, a live heap and no settled one (no idle wait)",
			res.EndToEnd.OpenCases, res.Sweep, cases)
	}
	if res.PeakRSSMiB <= 0 || res.EndToEnd.PeakRSSMiB <= 0 || res.Sweep == nil || res.Sweep.PeakRSSMiB <= 0 ||
		res.Sweep.PeakRSSMiB > res.EndToEnd.PeakRSSMiB || res.EndToEnd.PeakRSSMiB > res.PeakRSSMiB {
		t.Errorf("peak RSS: run %v, end to end %v, sweep %+v", res.PeakRSSMiB, res.EndToEnd.PeakRSSMiB, res.Sweep)
	}

	for _, want := range []string{"raw JetStream", "forbear end to end", "ratio forbear/raw", "fence wait per send",
		"writes ", "reads ", "FORBEAR_REMINDERS", "KV_forbear_ledger", "event in -> first provider call", "intake call itself",
		"sweep with 1000 open cases", "with 1000 open cases (loading them and the sweeps)", "whole run",
		"carrying 1000 open cases", "live heap with them", "end to end, the open cases included"} {
		if !strings.Contains(text, want) {
			t.Errorf("the text has no %q", want)
		}
	}

	// The JSON form names every figure.
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"raw.per_sec", "end_to_end.per_sec", "ratio", "end_to_end.fence_p99_ns",
		"end_to_end.storage.writes_per_reminder", "end_to_end.storage.reads_per_reminder", "end_to_end.storage.streams",
		"event_to_provider.p99_ns", "event_to_provider.max_ns", "sweep_nothing_due.p50_ns", "sweep_nothing_due.peak_rss_mib",
		"peak_rss_mib", "end_to_end.open_cases", "sweep_nothing_due.live_heap_mib"} {
		if _, ok := lookup(doc, path); !ok {
			t.Errorf("the JSON has no %s", path)
		}
	}
}

// TestRunJSON: with Options.JSON the output is one JSON document and
// nothing else.
func TestRunJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the bench")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := Run(ctx, Options{Reminders: 100, JSON: true, Dir: t.TempDir()}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var got Result
	dec := json.NewDecoder(&out)
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("the output is not JSON: %v\n%s", err, out.String())
	}
	if dec.More() {
		t.Errorf("more than one JSON document in the output")
	}
	if got.Reminders != 100 || got.EndToEnd.Storage.Writes != res.EndToEnd.Storage.Writes || got.Latency != nil || got.Sweep != nil {
		t.Errorf("decoded %+v, want the run's result without latency and sweep", got)
	}
}

// TestRunSettles: with Options.Settle the instance idles between loading
// its open cases and the end-to-end run, and the live heap is taken again
// after the wait.
func TestRunSettles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the bench")
	}
	const settle = 20 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := Run(ctx, Options{Reminders: 50, Cases: 50, Settle: settle, Dir: t.TempDir()}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if res.EndToEnd.Settle != settle || res.EndToEnd.OpenCases != 50 || res.Sweep == nil || res.Sweep.SettledHeapMiB <= 0 {
		t.Errorf("end to end settled %v over %d open cases, sweep %+v; want %v over 50 and a settled heap",
			res.EndToEnd.Settle, res.EndToEnd.OpenCases, res.Sweep, settle)
	}
	for _, want := range []string{"idle 20ms before the end-to-end run", "after 20ms idle", "idle 20ms after loading them"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the text has no %q:\n%s", want, out.String())
		}
	}
}

func lookup(doc map[string]any, path string) (any, bool) {
	var v any = doc
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// TestClassify: what each JetStream subject the tally sees counts as.
func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		subject    string
		data       string
		wantKind   request
		wantStream string
		wantKeys   int
	}{
		{"$JS.API.DIRECT.GET.KV_forbear_cases.$KV.forbear_cases.L1", "", directGet, "KV_forbear_cases", 0},
		{"$JS.API.DIRECT.GET.KV_forbear_cases", `{"last_by_subj":"$KV.forbear_cases.L1"}`, directGet, "KV_forbear_cases", 0},
		{"$JS.API.DIRECT.GET.KV_forbear_cases", `{"multi_last":["$KV.forbear_cases.L1","$KV.forbear_cases.L2"],"batch":2}`, batchGet, "KV_forbear_cases", 2},
		{"$JS.API.STREAM.MSG.GET.KV_forbear_suppressions", `{"last_by_subj":"$KV.forbear_suppressions.b1"}`, msgGet, "KV_forbear_suppressions", 0},
		{"$JS.API.CONSUMER.MSG.NEXT.FORBEAR_REMINDERS.sms", `{"batch":512}`, pull, "FORBEAR_REMINDERS", 0},
		{"$JS.ACK.FORBEAR_REMINDERS.sms.1.42.40.1700000000000000000.0", "", ackReply, "FORBEAR_REMINDERS", 0},
		{"$JS.ACK._.ABCDEF.FORBEAR_REMINDERS.sms.1.42.40.1700000000000000000.0.xyz", "", ackReply, "FORBEAR_REMINDERS", 0},
		{"$JS.API.STREAM.INFO.FORBEAR_REMINDERS", "", otherRequest, "", 0},
		{"$JS.API.CONSUMER.CREATE.KV_forbear_suppressions.abc", "{}", otherRequest, "", 0},
		{"$JS.API.INFO", "", otherRequest, "", 0},
		{"$JS.ACK.short", "", otherRequest, "", 0},
	}
	for _, tt := range tests {
		kind, stream, keys := classify(tt.subject, []byte(tt.data))
		if kind != tt.wantKind || stream != tt.wantStream || keys != tt.wantKeys {
			t.Errorf("classify(%q) = %v, %q, %d; want %v, %q, %d", tt.subject, kind, stream, keys, tt.wantKind, tt.wantStream, tt.wantKeys)
		}
	}
}

// TestShort: figures are printed to four significant digits.
func TestShort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want time.Duration
	}{
		{39825459 * time.Nanosecond, 39830 * time.Microsecond},
		{1234567 * time.Nanosecond, 1235 * time.Microsecond},
		{987 * time.Nanosecond, 987 * time.Nanosecond},
		{33333333333 * time.Nanosecond, 33330 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := short(tt.in); got != tt.want {
			t.Errorf("short(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestOptionsCheck: sizes out of bounds and a sweep too slow to measure
// are refused before anything runs, naming the flag.
func TestOptionsCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"defaults", Options{}, ""},
		{"events with the default sweep", Options{Events: 200}, ""},
		{"too many reminders", Options{Reminders: MaxReminders + 1}, "--reminders"},
		{"negative cases", Options{Cases: -1}, "--cases"},
		{"negative concurrency", Options{Concurrency: -1}, "--concurrency"},
		{"too many in flight", Options{Concurrency: MaxConcurrency + 1}, "--concurrency"},
		{"one in flight", Options{Concurrency: 1}, ""},
		{"too many events", Options{Events: MaxEvents + 1}, "--events"},
		{"negative settle", Options{Settle: -time.Second}, "--settle"},
		{"settle too long", Options{Settle: MaxSettle + time.Second}, "--settle"},
		{"the default settle", Options{Settle: DefaultSettle}, ""},
		{"bad sweep", Options{Events: 1, Sweep: "often"}, "--sweep"},
		{"daily sweep", Options{Events: 1, Sweep: "@daily"}, "--sweep"},
		{"daily sweep, no events", Options{Sweep: "@daily"}, ""},
	}
	for _, tt := range tests {
		err := tt.o.check()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: check() = %v, want an error naming %q", tt.name, err, tt.wantErr)
		}
	}
	o := Options{}
	if err := o.check(); err != nil || o.Reminders != 100_000 || o.Concurrency != DefaultConcurrency || o.Sweep != "@every 1m" {
		t.Errorf("defaults: %v, %+v", err, o)
	}
}
