package stats

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// TestAFoldWhoseAnswerWasLostIsNotAddedTwice: a fold's write can land
// while its answer is lost (a timeout); the retry finds its fold id in the
// stored value and does not add the counts a second time.
func TestAFoldWhoseAnswerWasLostIsNotAddedTwice(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	c, err := NewCounter(ctx, n.JS, CounterOptions{Instance: "A", Log: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	hour := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	c.Add(domain.Delivery{Channel: domain.SMS, Status: domain.Sent, At: hour.Add(time.Minute)})
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Flush(dead); err == nil {
		t.Fatal("a fold with a cancelled context succeeded")
	}
	// The write of that fold lands after all, as if only its answer was
	// lost.
	f := c.pending[hour]
	if f == nil {
		t.Fatal("the failed fold is not kept")
	}
	if _, err := c.counts.Update(ctx, statsKey(hour, "A"), func(v *hourValue) (bool, error) {
		*v = hourValue{Instance: "A", Fold: f.id, Counts: f.counts}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := c.counts.KV().Get(ctx, statsKey(hour, "A"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(e.Value()); got != `{"instance":"A","fold":`+strconv.FormatUint(f.id, 10)+`,"counts":{"sms":{"sent":1}}}` {
		t.Errorf("stored %s, want the one count", got)
	}
	if len(c.pending) != 0 {
		t.Errorf("the fold is still pending after it was found stored")
	}
}

// TestStopIsNotHeldByAFoldWithoutAnswer: a fold whose request gets no
// answer (a stream without a leader on a cluster; here the request goes
// to a subject nobody answers) neither holds Stop past its context nor
// loses the counts. Stop used to wait for that fold for ever.
func TestStopIsNotHeldByAFoldWithoutAnswer(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	c, err := NewCounter(ctx, n.JS, CounterOptions{Instance: "A", Interval: 20 * time.Millisecond, Log: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	// The fold's key exists, but the replica that answers direct reads has
	// not applied it (laggingReplica): the fold's create is refused, so it
	// asks the stream leader, and that request goes where nothing answers.
	hour := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if _, err := c.counts.KV().Put(ctx, statsKey(hour, "A"), []byte(`{"instance":"A","fold":1,"counts":{}}`)); err != nil {
		t.Fatal(err)
	}
	nc, _ := n.Connect(t)
	asked := make(chan struct{}, 1)
	if _, err := nc.Subscribe("unanswered.>", func(*nats.Msg) {
		select {
		case asked <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	unanswered, err := jetstream.NewWithAPIPrefix(nc, "unanswered")
	if err != nil {
		t.Fatal(err)
	}
	c.counts = store.NewBucket[hourValue](nil, store.LeaderBacked(laggingReplica{c.counts.KV()}, unanswered))
	c.Add(domain.Delivery{Channel: domain.SMS, Status: domain.Sent, At: hour})
	c.Start(ctx)
	select {
	case <-asked:
	case <-ctx.Done():
		t.Fatal("the fold never asked the leader")
	}
	stopCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- c.Stop(stopCtx) }()
	select {
	case err := <-stopped:
		if err == nil {
			t.Error("Stop reported the counts folded, but nothing answered")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Stop still waits for the unanswered fold 20s later")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.pending[hour]; f == nil || f.counts["sms"]["sent"] != 1 {
		t.Errorf("the counts of the unanswered fold are gone: pending %+v", c.pending)
	}
}

// laggingReplica answers every direct read as a replica that has not yet
// applied any write would: the key is missing.
type laggingReplica struct{ jetstream.KeyValue }

func (laggingReplica) Get(context.Context, string) (jetstream.KeyValueEntry, error) {
	return nil, jetstream.ErrKeyNotFound
}
