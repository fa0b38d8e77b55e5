package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/natsrv"
	"github.com/forbear/forbear/internal/ground/store"
)

// NATS is an embedded nats-server for one test, with forbear's streams and
// buckets created.
type NATS struct {
	Server *natsrv.Server
	Conn   *nats.Conn
	JS     jetstream.JetStream
}

// StartNATS starts a JetStream server in a temporary directory, connects to
// it and runs store.Setup. Everything is closed when the test ends.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	srv, err := natsrv.Start(natsrv.Options{StoreDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	n := &NATS{Server: srv}
	n.Conn, n.JS = n.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.Setup(ctx, n.JS, store.Options{}); err != nil {
		t.Fatalf("store setup: %v", err)
	}
	return n
}

// Connect opens another client connection (as a second forbear instance
// would), closed when the test ends.
func (n *NATS) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(n.Server.ClientURL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Eventually polls cond until it is true or the deadline passes; it waits
// on a condition with a deadline, it does not sleep and hope.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
