package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
)

// TestRestartMidFlightLosesNothingAndSendsNothingTwice kills an instance
// while Twilio has accepted some of its SMS but not answered, then lets a
// fresh instance take over: every reminder reaches Twilio exactly once and
// ends with a sent record.
func TestRestartMidFlightLosesNothingAndSendsNothingTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for an ack-wait redelivery")
	}
	const borrowers = 20
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	cfg.Providers.SMS.Concurrency = 4
	cfg.Dispatcher.AckWait = config.Duration(5 * time.Second)
	audit := watchAudit(t, w.nats.Conn)

	gate := w.twilio.Hold()
	a := w.start(t, cfg, "A")
	loadBorrowers(t, "http://"+a.Addr(), borrowers, 0)
	for range 4 {
		select {
		case <-gate.Arrived():
		case <-time.After(30 * time.Second):
			t.Fatal("instance A never reached Twilio")
		}
	}
	a.Kill() // mid-flight: 4 SMS accepted by Twilio, no answer, no record
	gate.Release()

	cfg.DataDir = t.TempDir()
	w.start(t, cfg, "B")
	waitFor(t, 60*time.Second, "a sent record for every reminder", func() bool {
		sent := map[string]bool{}
		for _, d := range audit.all() {
			if d.Status == domain.Sent {
				sent[d.ID] = true
			}
		}
		return len(sent) == borrowers
	})

	perPhone := map[string]int{}
	for _, r := range w.twilio.Requests() {
		if r.Method == http.MethodPost {
			perPhone[r.To]++
		}
	}
	for i := range borrowers {
		if n := perPhone[phone(i)]; n != 1 {
			t.Errorf("b%d: %d SMS reached Twilio, want exactly 1", i, n)
		}
	}
	found := 0
	for _, d := range audit.all() {
		if d.Status == domain.Sent && d.Reason == "found at provider after redelivery" {
			found++
		}
	}
	if found < 4 {
		t.Errorf("%d reminders were recognised at the provider after the restart, want at least the 4 in flight", found)
	}
}

// TestRestartMidCallDialsNoOneTwice kills an instance while Twilio has
// accepted some of its calls but not answered, and Twilio reports one of
// them busy before the reminder comes back (the borrower declined it).
// A fresh instance takes over: every borrower is called exactly once, and
// the calls in flight are recognised at Twilio.
func TestRestartMidCallDialsNoOneTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for an ack-wait redelivery")
	}
	const borrowers, inFlight = 12, 4
	w := newWorld(t)
	cfg := w.config(t, 0, "voice")
	cfg.Providers.Voice.Concurrency = inFlight
	cfg.Dispatcher.AckWait = config.Duration(8 * time.Second)
	audit := watchAudit(t, w.nats.Conn)
	defer func() {
		if t.Failed() {
			audit.dump(t)
		}
	}()

	gate := w.twilio.Hold()
	a := w.start(t, cfg, "A")
	addrA := a.Addr()
	loadBorrowers(t, "http://"+addrA, borrowers, 0)
	var held []faketwilio.Record
	for range inFlight {
		select {
		case r := <-gate.Arrived():
			held = append(held, r)
		case <-time.After(30 * time.Second):
			t.Fatal("instance A never reached Twilio")
		}
	}
	a.Kill() // mid-call: Twilio accepted the calls, A never heard back
	gate.Release()

	cfg.DataDir = t.TempDir()
	b := w.start(t, cfg, "B")
	// One call ends busy (the borrower declined it) before its reminder is
	// redelivered: the status callback, taken by B, sets the attempt's
	// outcome, which must not make the redelivery skip the look-up.
	busy := held[0]
	busy.StatusCallback = strings.Replace(busy.StatusCallback, addrA, b.Addr(), 1)
	if err := w.twilio.CallEnded(testkit.Context(t, 10*time.Second), busy, "busy", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "a sent record for every reminder", func() bool {
		sent := map[string]bool{}
		for _, d := range audit.all() {
			if d.Status == domain.Sent {
				sent[d.ID] = true
			}
		}
		return len(sent) == borrowers
	})

	perPhone := map[string]int{}
	for _, c := range w.twilio.Calls() {
		perPhone[c.To]++
	}
	for i := range borrowers {
		if n := perPhone[phone(i)]; n != 1 {
			t.Errorf("b%d: %d calls reached Twilio, want exactly 1", i, n)
		}
	}
	found := 0
	for _, d := range audit.all() {
		if d.Status == domain.Sent && d.Reason == "found at provider after redelivery" {
			found++
		}
	}
	if found < inFlight {
		t.Errorf("%d reminders were recognised at Twilio after the restart, want at least the %d in flight", found, inFlight)
	}
}

// TestQueuedCallsForASuppressedBorrowerAreDropped holds the dialer's only
// slot on one call, queues calls behind it, mutes every borrower, and
// checks the queued calls are dropped with a record naming the mute.
func TestQueuedCallsForASuppressedBorrowerAreDropped(t *testing.T) {
	const borrowers = 10
	w := newWorld(t)
	cfg := w.config(t, 0, "voice")
	cfg.Providers.Voice.Concurrency = 1
	audit := watchAudit(t, w.nats.Conn)
	gate := w.twilio.Hold()
	a := w.start(t, cfg, "A")
	base := "http://" + a.Addr()
	loadBorrowers(t, base, borrowers, 0)
	select {
	case <-gate.Arrived():
	case <-time.After(30 * time.Second):
		t.Fatal("the dialer never placed a call")
	}
	waitFor(t, 30*time.Second, "every call queued", func() bool {
		queued := 0
		for _, d := range audit.all() {
			if d.Status == domain.Queued {
				queued++
			}
		}
		return queued == borrowers
	})
	for i := range borrowers {
		status, body := post(t, fmt.Sprintf("%s/v1/borrowers/b%d/mutes", base, i), map[string]any{"channels": []string{"voice"}, "reason": "dispute"})
		if status != http.StatusCreated {
			t.Fatalf("mute: %d %s", status, body)
		}
	}
	gate.Release()
	waitFor(t, 30*time.Second, "every queued call dropped", func() bool {
		dropped := 0
		for _, d := range audit.all() {
			if d.Status == domain.Suppressed && d.Channel == domain.Voice && len(d.Reason) > 5 && d.Reason[:5] == "mute:" {
				dropped++
			}
		}
		return dropped == borrowers-1
	})
	if n := len(w.twilio.Calls()); n != 1 {
		t.Fatalf("%d calls reached Twilio, want only the one placed before the mutes", n)
	}
}
