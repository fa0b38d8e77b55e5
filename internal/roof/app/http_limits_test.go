package app_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/testkit"
)

// startEmbedded runs an instance on its own embedded NATS until the test
// ends.
func startEmbedded(t *testing.T, cfg config.Config) *app.App {
	t.Helper()
	a, err := newEmbedded(t, cfg, "edge")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(testkit.Context(t, time.Minute)); err != nil {
		_ = a.Stop(context.Background())
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
	})
	return a
}

// shortHTTPLimits sets every HTTP timeout to one second.
func shortHTTPLimits(cfg *config.Config) {
	sec := config.Duration(time.Second)
	cfg.HTTP.ReadHeaderTimeout, cfg.HTTP.ReadTimeout, cfg.HTTP.WriteTimeout, cfg.HTTP.IdleTimeout = sec, sec, sec, sec
}

// waitClosed reads conn until the server closes it and fails the test if
// that has not happened by deadline (the server holds it).
func waitClosed(t *testing.T, conn net.Conn, deadline time.Time, what string) {
	t.Helper()
	_ = conn.SetReadDeadline(deadline)
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s: the server still held the connection at the deadline", what)
	}
}

func healthz(t *testing.T, base string) {
	t.Helper()
	if status, body := do(t, http.MethodGet, base+"/healthz", "", nil); status != http.StatusOK {
		t.Errorf("/healthz = %d %s", status, body)
	}
}

// TestSlowClientsAreCutOff: a client trickling a body (unauthenticated, so
// the server only discards it) and an idle keep-alive connection are closed
// after their timeouts, and /healthz answers all along.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	cfg := embeddedConfig(t.TempDir())
	cfg.Auth.Tokens = []config.Token{{Name: "root", Token: "t-root", Roles: []string{"admin"}}}
	shortHTTPLimits(&cfg)
	a := startEmbedded(t, cfg)
	base := "http://" + a.Addr()

	t.Run("trickled body", func(t *testing.T) {
		t.Parallel()
		const tricklers = 8
		done := make(chan struct{})
		defer close(done)
		conns := make([]net.Conn, tricklers)
		for i := range conns {
			conn, err := net.Dial("tcp", a.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conns[i] = conn
			// A body that would take minutes at this pace.
			fmt.Fprintf(conn, "POST /v1/events HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[", a.Addr())
			go func() {
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case <-tick.C:
						if _, err := conn.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
		}
		healthz(t, base)
		deadline := time.Now().Add(20 * time.Second)
		for i, conn := range conns {
			waitClosed(t, conn, deadline, fmt.Sprintf("trickling client %d", i))
		}
		healthz(t, base)
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		t.Parallel()
		conn, err := net.Dial("tcp", a.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", a.Addr())
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Close {
			t.Fatalf("/healthz = %d (close %v), want 200 on a kept-alive connection", res.StatusCode, res.Close)
		}
		healthz(t, base)
		waitClosed(t, conn, time.Now().Add(20*time.Second), "idle keep-alive")
	})
}

// TestConnectionsOverTheCapWait: with every connection slot taken, a new
// client is not accepted (it waits in the listen queue, costing no
// descriptor) until a slot frees.
func TestConnectionsOverTheCapWait(t *testing.T) {
	t.Parallel()
	cfg := embeddedConfig(t.TempDir())
	cfg.HTTP.MaxConnections = 2
	a := startEmbedded(t, cfg)

	get := func(conn net.Conn) error {
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", a.Addr())
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	var held []net.Conn
	for range cfg.HTTP.MaxConnections {
		conn, err := net.Dial("tcp", a.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := get(conn); err != nil {
			t.Fatal(err)
		}
		held = append(held, conn) // kept alive: the slot stays taken
	}

	extra, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatalf("dial over the cap: %v (the kernel's listen queue should take it)", err)
	}
	defer extra.Close()
	_ = extra.SetDeadline(time.Now().Add(30 * time.Second))
	answered := make(chan error, 1)
	go func() { answered <- get(extra) }()
	select {
	case err := <-answered:
		t.Fatalf("a client over the cap was served while every slot was taken (err %v)", err)
	case <-time.After(500 * time.Millisecond):
		// Not served while the cap holds: as wanted. (Only this negative
		// check waits for a while; passing never depends on timing.)
	}
	held[0].Close()
	if err := <-answered; err != nil {
		t.Fatalf("client over the cap, once a slot freed: %v", err)
	}
}

// TestEventStreamOutlivesWriteTimeout: an inbox stream stays open past the
// read and write timeouts and still delivers.
func TestEventStreamOutlivesWriteTimeout(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, 0, "inapp")
	shortHTTPLimits(&cfg)
	a := w.start(t, cfg, "A")
	base := "http://" + a.Addr()
	borrower := map[string]any{"specversion": "1.0", "id": "bu-s1", "source": "test", "type": "borrower.upserted",
		"data": map[string]any{"borrower_id": "s1", "name": "Stream", "locale": "en-US", "timezone": "UTC", "phone": phone(1), "email": mailbox(1)}}
	if status, body := post(t, base+"/v1/events", borrower); status != http.StatusOK {
		t.Fatalf("borrower: %d %s", status, body)
	}

	ctx := testkit.Context(t, time.Minute)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/borrowers/s1/inbox/stream", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d", res.StatusCode)
	}
	lines := bufio.NewReader(res.Body)
	if line, err := lines.ReadString('\n'); err != nil || !strings.HasPrefix(line, ": stream open") {
		t.Fatalf("first line %q, %v", line, err)
	}

	// The scenario is time passing: well past both one-second timeouts.
	<-time.After(2500 * time.Millisecond)
	loan := map[string]any{"specversion": "1.0", "id": "lu-s1", "source": "test", "type": "loan.updated",
		"data": map[string]any{"borrower_id": "s1", "loan_id": "l-s1", "due_date": time.Now().UTC().Format(time.DateOnly),
			"amount_due": "100.00", "currency": "USD", "status": "overdue", "policy": "tick"}}
	if status, body := post(t, base+"/v1/events", loan); status != http.StatusOK {
		t.Fatalf("loan: %d %s", status, body)
	}
	for {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before the message arrived: %v", err)
		}
		if strings.HasPrefix(line, "event: message") {
			return
		}
	}
}

// TestAnswerOutlastingTheWriteTimeoutArrives: the write timeout bounds the
// writing of an answer, not the work before it. An agreement held for two
// fence leases (here longer than the one-second write timeout, as a large
// batch or an election can take) still gets its 200.
func TestAnswerOutlastingTheWriteTimeoutArrives(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	shortHTTPLimits(&cfg)
	cfg.Dispatcher.FenceLease = config.Duration(700 * time.Millisecond) // held 1.4 s
	a := w.start(t, cfg, "A")
	base := "http://" + a.Addr()
	loadBorrowers(t, base, 1, 0)
	agreement := map[string]any{"specversion": "1.0", "id": "agr-slow", "source": "test", "type": "agreement.activated",
		"data": map[string]any{"borrower_id": "b0", "agreement_id": "a0", "kind": "settlement", "loan_ids": []string{"l0"}}}
	if status, body := post(t, base+"/v1/events", agreement); status != http.StatusOK {
		t.Fatalf("agreement held past the write timeout: %d %s, want 200", status, body)
	}
}
