package httpapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestLimitListener(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(inner, 1)
	defer ln.Close()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial()
	first, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}

	dial() // waits in the listen queue
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("Accept after a slot freed: %v", err)
		}
		accepted <- c
	}()
	select {
	case <-accepted:
		t.Fatal("a second connection was accepted while the only slot was taken")
	case <-time.After(300 * time.Millisecond):
	}
	first.Close()
	first.Close() // a second Close gives nothing back twice (and does not block)
	second := <-accepted
	if second == nil {
		t.Fatal("no second connection")
	}

	// Close ends an Accept that waits for a slot.
	waiting := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		waiting <- err
	}()
	ln.Close()
	select {
	case err := <-waiting:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("waiting Accept after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not end a waiting Accept")
	}
	second.Close()
}

// A stream outlives the write timeout as a whole, but a client that stops
// reading is cut off: once its buffers are full, a write fails within the
// per-write deadline instead of blocking forever.
func TestStreamingCutsOffAClientThatDoesNotRead(t *testing.T) {
	t.Parallel()
	const perWrite = 300 * time.Millisecond
	stuck := make(chan error, 1)
	srv := NewHTTPServer(perWriteDeadlines(perWrite, func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				stuck <- err
				return
			}
			w.(http.Flusher).Flush()
		}
	}), Limits{ReadHeaderTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: perWrite, IdleTimeout: time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /stream HTTP/1.1\r\nHost: %s\r\n\r\n", ln.Addr())
	// ...and never read.
	select {
	case err := <-stuck:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("stream write failed with %v, want a deadline", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stream kept writing to a client that reads nothing")
	}
}
