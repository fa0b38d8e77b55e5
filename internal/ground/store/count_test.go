package store_test

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// TestCountMatchesWhatIsStored: Count answers how many messages match a
// filter (none, one, thousands, across subjects) in one request each.
func TestCountMatchesWhatIsStored(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	publish := readStream(t, n, "COUNT", true)
	publish("COUNT.a", 3000)
	publish("COUNT.b", 1)
	publish("COUNT.a", 2)
	r := store.NewReader(n.JS)
	ctx := testkit.Context(t, time.Minute)
	for filter, want := range map[string]uint64{"COUNT.a": 3002, "COUNT.b": 1, "COUNT.*": 3003, "COUNT.c": 0} {
		got, err := r.Count(ctx, "COUNT", filter)
		if err != nil || got != want {
			t.Errorf("Count(%s) = %d, %v; want %d", filter, got, err, want)
		}
	}
}
