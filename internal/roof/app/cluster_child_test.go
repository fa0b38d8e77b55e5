package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/roof/app"
)

// clusterStep is how much real time one policy minute of the cluster
// test's schedule takes.
const clusterStep = 3 * time.Second

// stepClock is the cluster test's fast schedule clock: one policy minute
// for every clusterStep of real time since start. It is computed, not
// advanced, so that an instance in another process, given the same epoch
// and start, keeps the same time.
type stepClock struct {
	epoch, start time.Time
	mu           sync.Mutex
	frozen       time.Time // once stopped
}

func newStepClock(epoch, start time.Time) *stepClock {
	return &stepClock{epoch: epoch, start: start}
}

// Now implements clock.Clock.
func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen
	}
	return c.at(time.Now())
}

func (c *stepClock) at(wall time.Time) time.Time {
	return c.epoch.Add(time.Duration(wall.Sub(c.start)/clusterStep) * time.Minute)
}

// stop makes the schedule stand still (in this process).
func (c *stepClock) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen.IsZero() {
		c.frozen = c.at(time.Now())
	}
}

// childSpec is what an instance process needs from the test that starts
// it.
type childSpec struct {
	Config  config.Config
	NATSURL string
	Epoch   time.Time
	Start   time.Time
}

const childEnv = "FORBEAR_CLUSTER_CHILD"

// TestClusterInstanceProcess is not a test: it is a forbear instance that
// TestClusterSettlementRace runs as a separate process (this test binary,
// started again), so that it can be killed with SIGKILL. It prints its API
// address and runs until it is killed or its parent's end closes its
// standard input.
func TestClusterInstanceProcess(t *testing.T) {
	raw := os.Getenv(childEnv)
	if raw == "" {
		t.Skip("an instance process of TestClusterSettlementRace; runs only when that test starts it")
	}
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	ctx := context.Background()
	a, err := app.New(ctx, spec.Config, app.Options{NATSURL: spec.NATSURL, Instance: "A", Log: quiet(),
		Clock: newStepClock(spec.Epoch, spec.Start)})
	if err == nil {
		err = a.Start(ctx)
	}
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	fmt.Println("ADDR", a.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// startChildInstance starts instance A in its own process and returns its
// API address and a function that kills it with SIGKILL (and waits until
// it is gone). The process is killed when the test ends, at the latest.
func startChildInstance(t *testing.T, cfg config.Config, natsURL string, clk *stepClock) (addr string, kill func()) {
	t.Helper()
	spec, err := json.Marshal(childSpec{Config: cfg, NATSURL: natsURL, Epoch: clk.epoch, Start: clk.start})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterInstanceProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	said := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "ADDR ") || strings.HasPrefix(line, "ERROR ") {
				select {
				case said <- line:
				default:
				}
			}
		}
	}()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	kill = sync.OnceFunc(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	})
	t.Cleanup(func() { _ = stdin.Close(); kill() })
	select {
	case line := <-said:
		if addr, ok := strings.CutPrefix(line, "ADDR "); ok {
			return addr, kill
		}
		kill()
		t.Fatalf("instance process: %s", line)
	case <-done:
		t.Fatalf("instance process ended before it listened: %s", stderr.String())
	case <-time.After(2 * time.Minute):
		kill()
		t.Fatalf("instance process did not listen within 2 minutes: %s", stderr.String())
	}
	return "", kill
}
