package bench

import (
	"fmt"
	"io"
	"time"

	"github.com/forbear/forbear/internal/ground/store"
)

// The text form of a Result, a part as each measurement ends.

func printHeader(w io.Writer, r *Result) {
	fmt.Fprintf(w, "forbear bench: %d reminders, %d cores (GOMAXPROCS %d), %s\n", r.Reminders, r.Cores, r.GOMAXPROCS, r.Platform)
}

func printRaw(w io.Writer, r *Result) {
	fmt.Fprintf(w, "raw JetStream (publish + consume with ack): %8.0f msg/s  (%v)\n", r.Raw.PerSec, short(r.Raw.Elapsed))
}

func printEndToEnd(w io.Writer, r *Result) {
	e := r.EndToEnd
	fmt.Fprintf(w, "forbear end to end (sweep -> worker -> fence -> sandbox -> audit): %8.0f reminders/s  (%v; sweep publish %v; %d sends in flight)\n",
		e.PerSec, short(e.Elapsed), short(e.SweepPublish), e.Concurrency)
	fmt.Fprintf(w, "  on an instance carrying %d open cases besides the reminders' own", e.OpenCases)
	if e.OpenCases > 0 {
		fmt.Fprintf(w, ", idle %v after loading them", short(e.Settle))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "ratio forbear/raw: %.2fx\n", r.Ratio)
	fmt.Fprintf(w, "fence wait per send: p50 %v  p99 %v  (%d checks)\n", short(e.FenceP50), short(e.FenceP99), e.FenceChecks)
	if e.FenceRounds > 0 {
		fmt.Fprintf(w, "  its rounds (one question to the suppression stream's leader each): p50 %v  p99 %v  (%d rounds, %.1f checks a round)\n",
			short(e.FenceRoundP50), short(e.FenceRoundP99), e.FenceRounds, float64(e.FenceChecks)/float64(e.FenceRounds))
	}
	printStorage(w, e.Storage)
}

func printStorage(w io.Writer, s Storage) {
	fmt.Fprintf(w, "stored writes and reads per reminder, end to end (counted on the server from the sweep's start to the last ack):\n")
	fmt.Fprintf(w, "  writes %6.2f  (%d messages appended to streams; every KV put, delete and marker is one)\n", s.WritesPerReminder, s.Writes)
	provider := int64(0)
	for _, st := range s.Streams {
		if st.Stream == store.OutboxStream {
			provider = st.Writes
		}
	}
	fmt.Fprintf(w, "         %6.2f  of them forbear's own; the rest is the sandbox provider storing the message it sends\n",
		perReminder(s.Writes-provider, s.Reminders))
	fmt.Fprintf(w, "  reads  %6.2f  (%d JetStream API requests that read: direct gets, batched direct gets counted once, leader message gets, consumer pulls)\n",
		s.ReadsPerReminder, s.Reads)
	fmt.Fprintf(w, "  apart: %.2f keys read in batches, %.2f messages handed out by consumers, %.2f acks per reminder; %d other API requests\n",
		perReminder(s.KeysRead, s.Reminders), perReminder(s.Delivered, s.Reminders), perReminder(s.Acks, s.Reminders), s.OtherRequests)
	width := len("per reminder")
	for _, st := range s.Streams {
		width = max(width, len(st.Stream))
	}
	fmt.Fprintf(w, "  %-*s %7s %7s %7s %7s %9s %7s %7s %9s %7s\n", width, "per reminder",
		"writes", "reads", "direct", "batch", "(keys)", "msg get", "pull", "delivered", "acks")
	for _, st := range s.Streams {
		n := func(v int64) float64 { return perReminder(v, s.Reminders) }
		fmt.Fprintf(w, "  %-*s %7.3f %7.3f %7.3f %7.3f %9.3f %7.3f %7.3f %9.3f %7.3f  %s\n", width, st.Stream,
			n(st.Writes), n(st.Reads), n(st.DirectGets), n(st.BatchGets), n(st.KeysRead), n(st.MsgGets), n(st.Pulls), n(st.Delivered), n(st.Acks),
			streamWrites[st.Stream])
	}
}

// streamWrites says what a stream's writes are in the end-to-end run.
var streamWrites = map[string]string{
	store.RemindersStream:                    "the reminder",
	store.DeliveriesStream:                   "audit: queued, then the outcome",
	store.OutboxStream:                       "the sandbox provider's store of what it sent",
	store.KVStream(store.DueBucket):          "the loan's index record (entry and markers)",
	store.KVStream(store.LedgerBucket):       "the contact ledger's compare-and-set",
	store.KVStream(store.RetentionBucket):    "retention index: the borrower's day of last record, once a day per borrower",
	store.KVStream(store.SuppressionsBucket): "the fence's marker when the bucket is empty",
	store.KVStream(store.OccurrencesBucket):  "occurrence markers of earlier versions",
}

func printLatency(w io.Writer, r *Result) {
	l := r.Latency
	fmt.Fprintf(w, "event in -> first provider call, idle instance: p50 %v  p99 %v  max %v  (%d events)\n",
		short(l.P50), short(l.P99), short(l.Max), l.Events)
	fmt.Fprintf(w, "  from the start of each POST /v1/events (loan.updated, overdue, the policy's step due now) to the sandbox provider's Send;\n")
	fmt.Fprintf(w, "  one event at a time, spread evenly over %v; each nudges a sweep of the now lane, between the scheduled ones (sweep %q)\n",
		short(l.Spread), l.Sweep)
	fmt.Fprintf(w, "  the intake call itself answered in p50 %v  p99 %v\n", short(l.IntakeP50), short(l.IntakeP99))
}

func printSweep(w io.Writer, r *Result) {
	fmt.Fprintf(w, "sweep with %d open cases and nothing due: %v\n", r.Sweep.Cases, short(r.Sweep.P50))
}

// printHeap says what the open cases keep live, before and after the idle
// wait.
func printHeap(w io.Writer, r *Result, settle time.Duration) {
	s := r.Sweep
	fmt.Fprintf(w, "  live heap with them (the embedded server's subject state, most of it): %.0f MiB once loaded", s.LiveHeapMiB)
	if settle > 0 {
		fmt.Fprintf(w, ", %.0f MiB after %v idle", s.SettledHeapMiB, short(settle))
	}
	fmt.Fprintln(w)
}

func printPeak(w io.Writer, r *Result) {
	scope := "each phase's own peak"
	if !r.RSSPerPhase {
		scope = "peak of the run so far: the high-water mark could not be reset"
	}
	fmt.Fprintf(w, "peak RSS (process, embedded server included; %s):\n", scope)
	fmt.Fprintf(w, "  raw %.0f MiB", r.Raw.PeakRSSMiB)
	if r.Latency != nil {
		fmt.Fprintf(w, ", event latency %.0f MiB", r.Latency.PeakRSSMiB)
	}
	fmt.Fprintln(w)
	if r.Sweep != nil {
		fmt.Fprintf(w, "  with %d open cases (loading them and the sweeps): %.0f MiB\n", r.Sweep.Cases, r.Sweep.PeakRSSMiB)
	}
	fmt.Fprintf(w, "  end to end, the open cases included: %.0f MiB\n", r.EndToEnd.PeakRSSMiB)
	fmt.Fprintf(w, "  whole run: %.0f MiB\n", r.PeakRSSMiB)
}

// short rounds d to four significant digits.
func short(d time.Duration) time.Duration {
	unit := time.Duration(1)
	for d/unit >= 10_000 {
		unit *= 10
	}
	return d.Round(unit)
}
