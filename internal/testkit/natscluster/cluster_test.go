package natscluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/testkit/natscluster"
)

// TestLeaderMovesWhenItsNodeIsKilled checks the harness itself: an R3
// stream survives SIGKILL of its leader, a new leader takes over, and the
// killed node rejoins.
func TestLeaderMovesWhenItsNodeIsKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nats-server processes")
	}
	c := natscluster.Start(t, 3)
	_, js := c.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	leader, err := c.StreamLeader(ctx, js, "T")
	if err != nil {
		t.Fatal(err)
	}
	c.Kill(leader)
	deadline := time.Now().Add(30 * time.Second)
	for {
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		n, err := c.StreamLeader(rctx, js, "T")
		rcancel()
		if err == nil && n != leader {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new leader after killing %s: %v", leader.Name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := js.Publish(ctx, "t.2", []byte("two")); err != nil {
		t.Fatalf("publish after the leader change: %v", err)
	}
	c.Restart(t, leader)
	for {
		ok, which, err := natscluster.AllLed(ctx, js)
		if ok {
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("stream %s not led with a quorum after the restart: %v", which, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().State.Msgs; got != 2 {
		t.Errorf("stream holds %d messages after the crash, want 2", got)
	}
}
