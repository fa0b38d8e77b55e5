package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// TestNoProviderCallAfterSuppressionIsAcknowledged is the guarantee of spec
// §5, black box: 300 overdue borrowers get an SMS, a call and an email
// every few seconds from two instances sharing one NATS; half of them are
// suppressed at random moments (agreements and mutes, through either
// instance). After each acknowledgement the fake Twilio and the SMTP server
// must receive nothing more for that borrower, while the other half keep
// receiving.
func TestNoProviderCallAfterSuppressionIsAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("race test takes about 20 s")
	}
	const borrowers = 300
	w := newWorld(t)
	// The schedule runs on a fast clock: one policy minute every 3 s of real
	// time, so every borrower is due on every channel every few seconds.
	// The guarantee itself (fence, acknowledgements, provider timestamps) is
	// measured in real time. A minute passes only once the workers have
	// taken what the last one queued: on a loaded machine the schedule
	// slows down rather than queue reminders faster than they can go, which
	// would delay every borrower's next SMS past the wait below.
	clk := clock.NewFake(time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour))
	js, err := jetstream.New(w.nats.Conn)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		tick := time.NewTicker(3 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if queuedReminders(js) < maxQueuedToAdvance {
					clk.Advance(time.Minute)
				}
			}
		}
	}()
	cfg := w.config(t, time.Minute, "sms", "voice", "email")
	a := w.startWithClock(t, cfg, "A", clk)
	b := w.startWithClock(t, cfg, "B", clk)
	bases := []string{"http://" + a.Addr(), "http://" + b.Addr()}
	audit := watchAudit(t, w.nats.Conn)
	loadBorrowers(t, bases[0], borrowers, 0)

	// Wait for steady state: every borrower has had at least one SMS.
	waitFor(t, 3*time.Minute, "first SMS to every borrower", func() bool {
		seen := map[string]bool{}
		for _, r := range w.twilio.Messages() {
			seen[r.To] = true
		}
		return len(seen) >= borrowers
	})

	// Suppress every other borrower at a random moment within 5 s: even
	// ones by agreement, odd ones by mute, each through a random instance.
	acked := make([]time.Time, borrowers)
	var wg sync.WaitGroup
	for i := 0; i < borrowers; i += 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(rand.N(5 * time.Second)) // a random moment, not a wait for anything
			base := bases[rand.N(2)]
			var status int
			var body []byte
			if i%4 == 0 {
				status, body = post(t, base+"/v1/events", map[string]any{
					"specversion": "1.0", "id": fmt.Sprintf("agr-%d", i), "source": "test", "type": "agreement.activated",
					"data": map[string]any{"borrower_id": fmt.Sprintf("b%d", i), "agreement_id": fmt.Sprintf("a%d", i),
						"kind": "settlement", "loan_ids": []string{fmt.Sprintf("l%d", i)}}})
				if status != http.StatusOK {
					t.Errorf("agreement for b%d: %d %s", i, status, body)
				}
			} else {
				status, body = post(t, fmt.Sprintf("%s/v1/borrowers/b%d/mutes", base, i), map[string]any{"reason": "complaint"})
				if status != http.StatusCreated {
					t.Errorf("mute for b%d: %d %s", i, status, body)
				}
			}
			acked[i] = time.Now() // the acknowledgement has been received
		}()
	}
	wg.Wait()
	lastAck := time.Now()
	// Keep running: the unsuppressed half must go on receiving.
	waitFor(t, 3*time.Minute, "an SMS after the last acknowledgement to every unsuppressed borrower", func() bool {
		got := 0
		after := map[string]bool{}
		for _, r := range w.twilio.Messages() {
			if r.At.After(lastAck) {
				after[r.To] = true
			}
		}
		for i := 1; i < borrowers; i += 2 {
			if after[phone(i)] {
				got++
			}
		}
		return got == borrowers/2
	})

	// The guarantee: nothing reached a provider after the acknowledgement.
	byPhone, byMail := map[string]int{}, map[string]int{}
	for i := 0; i < borrowers; i += 2 {
		byPhone[phone(i)], byMail[mailbox(i)] = i, i
	}
	violations := 0
	for _, r := range w.twilio.Requests() {
		if i, ok := byPhone[r.To]; ok && r.Method == http.MethodPost && r.At.After(acked[i]) {
			violations++
			t.Errorf("%s to b%d at %s, %v after its suppression was acknowledged", r.Kind, i, r.At.Format(time.StampMicro), r.At.Sub(acked[i]))
		}
	}
	for _, m := range w.smtp.Messages() {
		for _, to := range m.To {
			if i, ok := byMail[to]; ok && m.Started.After(acked[i]) {
				violations++
				t.Errorf("email to b%d started %v after its suppression was acknowledged", i, m.Started.Sub(acked[i]))
			}
		}
	}

	// Both instances worked, and reminders caught by a suppression left a
	// record naming it.
	instances := map[string]int{}
	suppressed := 0
	for _, d := range audit.all() {
		if d.Status == domain.Sent {
			instances[d.Instance]++
		}
		if d.Status == domain.Suppressed && (strings.HasPrefix(d.Reason, "agreement:a") || strings.HasPrefix(d.Reason, "mute:")) {
			suppressed++
		}
	}
	if suppressed == 0 {
		t.Errorf("no reminder caught by a suppression left a record naming it")
	}
	if instances["A"] == 0 || instances["B"] == 0 {
		t.Errorf("sends by instance %v: want both instances sending", instances)
	}
	t.Logf("provider calls: %d twilio, %d smtp; sent by instance %v; %d suppressed records; %d violations",
		len(w.twilio.Requests()), w.smtp.Count(), instances, suppressed, violations)
}

// maxQueuedToAdvance is the backlog of reminders under which the race
// test's clock moves on: less than one minute's worth (300 borrowers on
// three channels).
const maxQueuedToAdvance = 300

// queuedReminders is how many reminders the channel workers have yet to
// take or acknowledge (deferrals waiting for their time are not theirs
// yet); on an error, as many as would hold the clock.
func queuedReminders(js jetstream.JetStream) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, store.RemindersStream)
	if err != nil {
		return maxQueuedToAdvance
	}
	var n uint64
	consumers := s.ListConsumers(ctx)
	for c := range consumers.Info() {
		n += c.NumPending + uint64(c.NumAckPending)
	}
	if consumers.Err() != nil {
		return maxQueuedToAdvance
	}
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
