package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/channels/email"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
	"github.com/forbear/forbear/internal/testkit/natscluster"
)

// TestClusterSettlementRace is the guarantee on a real 3-node JetStream
// cluster of nats-server processes, with two forbear instances on it and
// R3 streams and buckets: the settlement race of
// TestNoProviderCallAfterSuppressionIsAcknowledged, once while the node
// leading the reminders' stream is killed with SIGKILL and restarted, and
// once while one forbear instance is killed. Both runs share one cluster
// (its start-up is the slow part); each starts from empty streams.
//
// Pass: no provider call after any acknowledgement; every acknowledged
// event applied; every reminder of an unsuppressed borrower reaches its
// provider, SMS and calls exactly once, emails at least once (with one
// Message-ID); a suppression asked for during the outage is acknowledged
// within 5 s of every stream having a leader again.
func TestClusterSettlementRace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster; about two minutes")
	}
	c := natscluster.Start(t, 3)
	t.Run("stream leader killed", func(t *testing.T) {
		r := newClusterRun(t, c, 0)
		var leader *natscluster.Node
		r.race(func() {
			var err error
			if leader, err = c.StreamLeader(r.ctx, r.js, store.RemindersStream); err != nil {
				t.Fatalf("leader of %s: %v", store.RemindersStream, err)
			}
			// Every other stream and bucket is led from the same node, so
			// that every write an acknowledgement needs meets the election.
			if err := c.Gather(r.ctx, r.js, leader); err != nil {
				t.Fatal(err)
			}
		}, func() time.Time {
			c.Kill(leader)
			t.Logf("killed %s, the leader of %s and of every other stream", leader.Name, store.RemindersStream)
			time.Sleep(4 * time.Second) // the node stays down a while: the fault, not a wait
			c.Restart(t, leader)
			return r.waitAllLed()
		})
	})
	t.Run("instance killed", func(t *testing.T) {
		r := newClusterRun(t, c, withChildA)
		r.race(nil, func() time.Time {
			// Kill A while Twilio holds requests in flight, so that some of
			// A's SMS and calls are accepted by Twilio with no record
			// written: B must find them there rather than send again.
			gate := r.w.twilio.Hold()
			calls, held := 0, 0
			for calls < 2 || held < 12 {
				select {
				case rec := <-gate.Arrived():
					held++
					if rec.Kind == faketwilio.Call {
						calls++
					}
				case <-time.After(30 * time.Second):
					t.Fatalf("only %d requests (%d calls) reached Twilio", held, calls)
				}
			}
			r.killA()
			gate.Release()
			t.Logf("killed instance A (SIGKILL) with %d Twilio requests (%d calls) in flight", held, calls)
			return time.Now() // the cluster itself never lost its quorum
		})
	})
}

// clusterRun is one run of the race on the shared cluster.
type clusterRun struct {
	t     *testing.T
	c     *natscluster.Cluster
	w     *world
	ctx   context.Context
	js    jetstream.JetStream
	clk   *stepClock
	bases []string // instance A's API, then B's
	// killA ends instance A with SIGKILL (only a run withChildA has one).
	killA func()
}

// withChildA runs instance A as a separate process (this test binary
// again, see TestClusterInstanceProcess), so that a test can kill it with
// SIGKILL; B runs in the test's process.
const withChildA = 1

const clusterBorrowers = 60

func newClusterRun(t *testing.T, c *natscluster.Cluster, opts int) *clusterRun {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	_, js := c.Connect(t)
	// Every run starts from empty streams and buckets: what the run before
	// left (reminders, the due index) must not leak into this one.
	names := js.StreamNames(ctx)
	var streams []string
	for n := range names.Name() {
		streams = append(streams, n)
	}
	for _, n := range streams {
		if err := js.DeleteStream(ctx, n); err != nil {
			t.Fatalf("delete stream %s: %v", n, err)
		}
	}
	r := &clusterRun{t: t, c: c, w: newWorldOn(t, nil, c.URLs()), ctx: ctx, js: js}
	// The schedule runs on a fast clock, one policy minute every 3 s, as in
	// the single-server race; the guarantee is measured in real time.
	r.clk = newStepClock(time.Now().UTC().Truncate(24*time.Hour).Add(12*time.Hour), time.Now())
	// A step every 4 policy minutes: 12 s apart in real time, more than
	// the clock skew a provider look-up allows (channels.ClockSkew), as
	// sends to one borrower are in life.
	cfg := r.w.config(t, 4*time.Minute, "sms", "voice", "email")
	cfg.NATS.Replicas = 3
	// A reminder held by a dead instance comes back after the ack wait:
	// short here so that the run ends in reasonable time.
	cfg.Dispatcher.AckWait = config.Duration(5 * time.Second)
	if opts&withChildA != 0 {
		var addr string
		addr, r.killA = startChildInstance(t, cfg, c.URLs(), r.clk)
		r.bases = append(r.bases, "http://"+addr)
	} else {
		r.bases = append(r.bases, "http://"+r.w.startWithClock(t, cfg, "A", r.clk).Addr())
	}
	r.bases = append(r.bases, "http://"+r.w.startWithClock(t, cfg, "B", r.clk).Addr())
	return r
}

// race loads the borrowers, waits for steady sending, runs prepare (if
// any), then suppresses every other borrower at random moments while fault
// runs; fault returns when the cluster is whole again. Then it checks the
// outcome.
func (r *clusterRun) race(prepare func(), fault func() (restored time.Time)) {
	t := r.t
	loadBorrowers(t, r.bases[1], clusterBorrowers, 0)
	waitFor(t, 3*time.Minute, "first SMS to every borrower", func() bool {
		seen := map[string]bool{}
		for _, m := range r.w.twilio.Messages() {
			seen[m.To] = true
		}
		return len(seen) >= clusterBorrowers
	})

	if prepare != nil {
		prepare()
	}
	type ack struct {
		asked, at time.Time
		attempts  int
	}
	acks := make([]ack, clusterBorrowers)
	var wg sync.WaitGroup
	for i := 0; i < clusterBorrowers; i += 2 {
		wg.Go(func() {
			time.Sleep(rand.N(6 * time.Second)) // a random moment, not a wait for anything
			acks[i].asked = time.Now()
			acks[i].at, acks[i].attempts = r.suppress(i)
		})
	}
	time.Sleep(1500 * time.Millisecond) // the fault strikes while suppressions are in flight
	restored := fault()
	wg.Wait()
	lastAck := time.Now()
	unsuppressed := map[string]bool{}
	for i := 1; i < clusterBorrowers; i += 2 {
		unsuppressed[phone(i)] = true
	}
	waitFor(t, 3*time.Minute, "an SMS after the last acknowledgement to every unsuppressed borrower", func() bool {
		after := map[string]bool{}
		for _, m := range r.w.twilio.Messages() {
			if m.At.After(lastAck) && unsuppressed[m.To] {
				after[m.To] = true
			}
		}
		return len(after) == len(unsuppressed)
	})
	// Let the schedule stand still and the queues drain, so that every
	// published reminder has reached its end before counting.
	r.clk.stop()
	waitFor(t, 3*time.Minute, "the reminders stream to drain", func() bool {
		s, err := r.js.Stream(r.ctx, store.RemindersStream)
		return err == nil && s.CachedInfo().State.Msgs == 0
	})

	// 1. No provider call after an acknowledgement.
	byPhone, byMail := map[string]int{}, map[string]int{}
	for i := 0; i < clusterBorrowers; i += 2 {
		byPhone[phone(i)], byMail[mailbox(i)] = i, i
	}
	violations := 0
	for _, q := range r.w.twilio.Requests() {
		if i, ok := byPhone[q.To]; ok && q.Method == http.MethodPost && q.At.After(acks[i].at) {
			violations++
			t.Errorf("%s to b%d %v after its suppression was acknowledged", q.Kind, i, q.At.Sub(acks[i].at))
		}
	}
	for _, m := range r.w.smtp.Messages() {
		for _, to := range m.To {
			if i, ok := byMail[to]; ok && m.Started.After(acks[i].at) {
				violations++
				t.Errorf("email to b%d started %v after its suppression was acknowledged", i, m.Started.Sub(acks[i].at))
			}
		}
	}

	// 2. Every acknowledged suppression is in force, read through the
	// instance still standing.
	live := r.bases[len(r.bases)-1]
	for i := 0; i < clusterBorrowers; i += 2 {
		status, body := do(t, http.MethodGet, fmt.Sprintf("%s/v1/borrowers/b%d", live, i), "", nil)
		var v struct {
			Suppressions domain.Suppressions `json:"suppressions"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &v) != nil {
			t.Errorf("borrower b%d: %d %s", i, status, body)
			continue
		}
		if len(v.Suppressions.Holds)+len(v.Suppressions.Mutes) == 0 {
			t.Errorf("borrower b%d: its acknowledged suppression is not in force: %s", i, body)
		}
	}

	// 3. Exactly once for SMS and calls, at least once (one Message-ID)
	// for emails, and nothing queued for an unsuppressed borrower lost.
	calls := map[string]int{} // reminder id -> accepted Twilio creates
	for _, q := range r.w.twilio.Requests() {
		if q.Method != http.MethodPost || q.SID == "" {
			continue
		}
		if id := reminderOf(q.StatusCallback); id != "" {
			calls[id]++
		}
	}
	twice := 0
	for id, n := range calls {
		if n > 1 {
			twice++
			t.Errorf("reminder %s reached Twilio %d times", id, n)
		}
	}
	emails := map[string]int{} // Message-ID -> SMTP transactions
	for _, m := range r.w.smtp.Messages() {
		emails[strings.Trim(m.Header.Get("Message-Id"), "<>")]++
	}
	emailTwice := 0
	for _, n := range emails {
		if n > 1 {
			emailTwice++
		}
	}
	lost := 0
	recs := r.records()
	for _, d := range recs {
		if d.Status != domain.Queued || !unsuppressed[phoneOfBorrower(d.BorrowerID)] {
			continue
		}
		reached := false
		switch d.Channel {
		case domain.SMS, domain.Voice:
			reached = calls[d.ID] > 0
		case domain.Email:
			reached = emails[email.MessageID(d.ID, "example.com")] > 0
		}
		if !reached {
			lost++
			t.Errorf("reminder %s of an unsuppressed borrower never reached its provider", d.ID)
			for _, o := range recs {
				if o.ID == d.ID {
					t.Logf("  its record: %s %s by %s %s", o.At.Format(time.StampMilli), o.Status, o.Instance, o.Reason)
				}
			}
		}
	}

	// 4. Suppressions asked for during the outage were acknowledged soon
	// after the cluster was whole again.
	var slowest, longest time.Duration
	attempts := 0
	for i := 0; i < clusterBorrowers; i += 2 {
		slowest = max(slowest, acks[i].at.Sub(later(acks[i].asked, restored)))
		longest = max(longest, acks[i].at.Sub(acks[i].asked))
		attempts += acks[i].attempts
	}
	if slowest > 5*time.Second {
		t.Errorf("slowest suppression acknowledged %v after the cluster was whole again, want within 5s", slowest)
	}
	t.Logf("%d violations; %d reminders at Twilio more than once, %d emails more than once (same Message-ID), %d lost; "+
		"slowest acknowledgement %v after the cluster was whole, longest wait from first try to acknowledgement %v; "+
		"%d attempts for %d suppressions; %d Twilio creates, %d SMTP transactions",
		violations, twice, emailTwice, lost, slowest.Round(time.Millisecond), longest.Round(time.Millisecond),
		attempts, clusterBorrowers/2, len(calls), r.w.smtp.Count())
}

// suppress acknowledges a suppression for borrower i as a client would:
// retrying through either instance until one acknowledges it. Even
// borrowers get an agreement, the others (when a test asks) a mute.
func (r *clusterRun) suppress(i int) (acked time.Time, attempts int) {
	deadline := time.Now().Add(2 * time.Minute)
	for attempt := 0; ; attempt++ {
		base := r.bases[(i/2+attempt)%len(r.bases)]
		var status int
		var body []byte
		want := http.StatusOK
		if i%4 == 0 {
			status, body = postQuiet(base+"/v1/events", map[string]any{
				"specversion": "1.0", "id": fmt.Sprintf("agr-%d", i), "source": "test", "type": "agreement.activated",
				"data": map[string]any{"borrower_id": fmt.Sprintf("b%d", i), "agreement_id": fmt.Sprintf("a%d", i),
					"kind": "settlement", "loan_ids": []string{fmt.Sprintf("l%d", i)}}})
		} else {
			want = http.StatusCreated
			status, body = postQuiet(fmt.Sprintf("%s/v1/borrowers/b%d/mutes", base, i), map[string]any{"reason": "complaint"})
		}
		if status == want {
			return time.Now(), attempt + 1
		}
		if time.Now().After(deadline) {
			r.t.Errorf("suppression of b%d never acknowledged: last answer %d %s", i, status, body)
			return time.Now(), attempt + 1
		}
		time.Sleep(100 * time.Millisecond) // a client's pause between retries
	}
}

// records reads every delivery record from the stream.
func (r *clusterRun) records() []domain.Delivery {
	t := r.t
	c, err := r.js.OrderedConsumer(r.ctx, store.DeliveriesStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []domain.Delivery
	for pending := int(info.NumPending); pending > 0; {
		batch, err := c.Fetch(min(pending, 1000), jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var d domain.Delivery
			if json.Unmarshal(m.Data(), &d) == nil {
				out = append(out, d)
			}
		}
		if n == 0 {
			t.Fatalf("delivery records: %d left unread", pending)
		}
		pending -= n
	}
	return out
}

// waitAllLed waits until every stream and bucket has a leader and a quorum
// of current replicas, and returns when the look that first saw it began:
// the moment is no later than that, so acknowledgements measured from it
// are, if anything, counted late.
func (r *clusterRun) waitAllLed() time.Time {
	var at time.Time
	waitFor(r.t, 2*time.Minute, "every stream to have a leader again", func() bool {
		ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
		defer cancel()
		at = time.Now()
		ok, _, _ := natscluster.AllLed(ctx, r.js)
		return ok
	})
	return at
}

// postQuiet posts JSON and reports a transport failure as status 0, as a
// retrying client sees it (the instance may be dead).
func postQuiet(url string, v any) (int, []byte) {
	data, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", strings.NewReader(string(data)))
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// reminderOf is the reminder id in a status-callback URL ("r").
func reminderOf(callback string) string {
	u, err := url.Parse(callback)
	if err != nil {
		return ""
	}
	return u.Query().Get("r")
}

// phoneOfBorrower is the phone loadBorrowers gives borrower "b<i>".
func phoneOfBorrower(id string) string {
	var i int
	if _, err := fmt.Sscanf(id, "b%d", &i); err != nil {
		return ""
	}
	return phone(i)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
