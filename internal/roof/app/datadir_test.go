package app_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/testkit"
)

// embeddedConfig is an open-mode instance on its own embedded, in-process
// NATS under dataDir.
func embeddedConfig(dataDir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.NATS.Embedded.Listen = ""
	cfg.HTTP.Listen = "127.0.0.1:0"
	return cfg
}

// newEmbedded builds an instance on its own embedded NATS; the caller
// starts and stops it.
func newEmbedded(t *testing.T, cfg config.Config, name string) (*app.App, error) {
	t.Helper()
	return app.New(testkit.Context(t, time.Minute), cfg, app.Options{Instance: name, Log: quiet(), NoScheduler: true})
}

// TestSecondInstanceOnTheSameDataDirIsRefused: two embedded servers on one
// store lose acknowledged events. The second instance must refuse to
// start, naming the directory and who holds it, and the first keeps
// working; once the first is gone (stopped or crashed) the directory is
// free again.
func TestSecondInstanceOnTheSameDataDirIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := embeddedConfig(dir)
	a, err := newEmbedded(t, cfg, "first")
	if err != nil {
		t.Fatalf("first instance: %v", err)
	}
	ctx := testkit.Context(t, time.Minute)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = a.Stop(context.Background())
		}
	})

	b, err := newEmbedded(t, cfg, "second")
	if err == nil {
		_ = b.Stop(context.Background())
		t.Fatal("a second instance on the same data_dir started")
	}
	t.Log(err)
	host, _ := os.Hostname()
	for _, want := range []string{"data_dir " + dir, "in use", "pid " + strconv.Itoa(os.Getpid()), host, "first"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}

	// The first instance still takes and keeps events.
	base := "http://" + a.Addr()
	postBorrower(t, base, "kept", "+15550000001", "kept@example.com", "UTC", time.Now().UTC().Format(time.DateOnly))
	if status, body := do(t, http.MethodGet, base+"/v1/borrowers/kept", "", nil); status != http.StatusOK {
		t.Fatalf("borrower after the refused start: %d %s", status, body)
	}

	// A crash releases the lock (the kernel drops it with the process; Kill
	// stands in for that here), and the data is still there.
	a.Kill()
	killed = true
	c, err := newEmbedded(t, cfg, "third")
	if err != nil {
		t.Fatalf("instance after the holder crashed: %v", err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if status, body := do(t, http.MethodGet, "http://"+c.Addr()+"/v1/borrowers/kept", "", nil); status != http.StatusOK {
		t.Errorf("borrower after the restart: %d %s", status, body)
	}
	// A clean stop releases it too.
	if err := c.Stop(testkit.Context(t, 15*time.Second)); err != nil {
		t.Logf("stop: %v", err)
	}
	d, err := newEmbedded(t, cfg, "fourth")
	if err != nil {
		t.Fatalf("instance after the holder stopped: %v", err)
	}
	_ = d.Stop(context.Background())
}
