package stats

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/logging"
	"github.com/forbear/forbear/internal/store"
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
	if _, err := store.UpdateJSON(ctx, c.kv, statsKey(hour, "A"), func(v *hourValue) (bool, error) {
		*v = hourValue{Instance: "A", Fold: f.id, Counts: f.counts}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := c.kv.Get(ctx, statsKey(hour, "A"))
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
