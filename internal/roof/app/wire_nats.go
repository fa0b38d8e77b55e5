package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/dirlock"
	"github.com/forbear/forbear/internal/ground/natsrv"
	"github.com/forbear/forbear/internal/ground/store"
)

// connect starts the embedded server (when nats.url is not set) and opens
// the instance's two connections.
func (a *App) connect() error {
	var err error
	if a.cfg.NATS.URL == "" {
		if err := a.lockDataDir(); err != nil {
			return err
		}
		dir := filepath.Join(a.cfg.DataDir, "nats")
		a.embedded, err = natsrv.Start(natsrv.Options{StoreDir: dir, Listen: a.cfg.NATS.Embedded.Listen, ServerName: "forbear",
			Log: a.log.WithField("part", "nats")})
		if err != nil {
			return err
		}
		where := a.embedded.ClientURL()
		if where == "" {
			where = "in-process only"
		}
		a.log.WithFields(logrus.Fields{"store_dir": dir, "client_url": where}).Info("embedded NATS with JetStream started")
	}
	if a.nc, err = a.dial("forbear " + a.instance); err != nil {
		return err
	}
	if a.embedded == nil {
		a.log.WithField("url", a.nc.ConnectedUrlRedacted()).Info("connected to external NATS")
	}
	// The fence asks the suppression stream's leader a question before
	// sends, and its watcher receives every suppression. On the shared
	// connection both would queue behind the workers' traffic (the server
	// reads one connection's messages in order, and so does the client):
	// a send would wait tens of milliseconds for a question that takes one.
	if a.fenceNC, err = a.dial("forbear " + a.instance + " fence"); err != nil {
		return err
	}
	a.js, err = jetstream.New(a.nc)
	return err
}

// syncQueueLen is the buffer of each synchronous subscription on the
// instance's connections. The batch reads (store.Bucket.GetMany) open
// one per request and take at most store.MaxGetMany answers and an end
// marker; the client's default, 65,536 slots, allocated and cleared for
// every request, cost the sweep more than the request itself.
const syncQueueLen = 4 * store.MaxGetMany

// dial opens a connection to the embedded server or to nats.url.
func (a *App) dial(name string) (*nats.Conn, error) {
	if a.embedded != nil {
		nc, err := a.embedded.Connect(name, nats.SyncQueueLen(syncQueueLen))
		if err != nil {
			return nil, fmt.Errorf("nats: %w", err)
		}
		return nc, nil
	}
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.SyncQueueLen(syncQueueLen)}
	if a.cfg.NATS.Creds != "" {
		opts = append(opts, nats.UserCredentials(a.cfg.NATS.Creds))
	}
	nc, err := nats.Connect(a.cfg.NATS.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats.url %s: %w", a.cfg.NATS.URL, err)
	}
	return nc, nil
}

// lockDataDir keeps data_dir to this instance: two embedded servers on one
// store each acknowledge writes the other then loses. The lock is held
// until Stop or Kill (or the process's end, crash included).
func (a *App) lockDataDir() error {
	host, _ := os.Hostname()
	lock, err := dirlock.Acquire(a.cfg.DataDir, dirlock.Holder{PID: os.Getpid(), Host: host, Instance: a.instance, Since: time.Now()})
	if errors.Is(err, dirlock.ErrLocked) {
		return fmt.Errorf("data_dir %w; stop that instance or give this one another data_dir", err)
	}
	if err != nil {
		return fmt.Errorf("data_dir %s: %w", a.cfg.DataDir, err)
	}
	a.dataLock = lock
	return nil
}

func (a *App) closeNATS() {
	if a.nc != nil {
		a.nc.Close()
	}
	if a.fenceNC != nil {
		a.fenceNC.Close()
	}
	if a.embedded != nil {
		a.embedded.Shutdown()
	}
	// Only once the server has let go of the store.
	a.dataLock.Release()
}
