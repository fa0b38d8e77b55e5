package httpapi

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound what clients can hold of the HTTP server: without them an
// idle keep-alive or a body trickled a byte at a time keeps a connection
// (and a descriptor) forever, and a few hundred of them starve everyone.
type Limits struct {
	// ReadHeaderTimeout bounds reading the request headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end
	// of its response. Event streams are exempt as a whole (see
	// Options.WriteTimeout).
	WriteTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request header block.
	MaxHeaderBytes int
}

// NewHTTPServer is the http.Server for h with l's limits.
func NewHTTPServer(h http.Handler, l Limits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// Connection cap bounds for DefaultMaxConnections.
const (
	minDefaultConnections = 32
	maxDefaultConnections = 16384
)

// DefaultMaxConnections is the connection cap when none is configured:
// half the process's open-file limit, leaving the other half to NATS (its
// store files and clients) and everything else, within 32 and 16384.
func DefaultMaxConnections() int {
	return min(max(openFileLimit()/2, minDefaultConnections), maxDefaultConnections)
}

// LimitListener lets at most n connections from ln be open at once. Over
// the cap, Accept waits for one to close: new clients wait in the kernel's
// listen queue, costing no descriptor, instead of being accepted until the
// process runs out of them.
func LimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	slots     chan struct{} // one token per open connection
	closed    chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &slotConn{Conn: c, release: func() { <-l.slots }}, nil
}

// Close also ends an Accept waiting for a free slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// slotConn gives its slot back when closed, once.
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite keeps the TCP half-close the HTTP server uses to let a client
// read an error answer before the connection goes.
func (c *slotConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// perWriteDeadlines replaces the server's write timeout, which bounds a
// whole answer from the end of the request's headers, by a deadline on
// each write of the answer: the time a handler works before it answers (a
// large batch of events, a suppression held for the fence, a retry across
// a leader election) is not the client's doing, and an event stream lasts
// as long as its client listens. A client that stops reading is still cut
// off, once its buffers fill, within perWrite of a write; 0 sets no
// deadline at all. The read timeout needs no such care: once a request is
// read, net/http watches for the client leaving with a read that has no
// deadline.
func perWriteDeadlines(perWrite time.Duration, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// An error means the writer has no deadline to lift (a recorder).
		_ = rc.SetWriteDeadline(time.Time{})
		if perWrite > 0 {
			w = &deadlineWriter{ResponseWriter: w, rc: rc, perWrite: perWrite}
		}
		h(w, r)
	}
}

// deadlineWriter gives every write and flush its own write deadline.
type deadlineWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	perWrite time.Duration
}

func (w *deadlineWriter) WriteHeader(code int) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.perWrite))
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.perWrite))
	return w.ResponseWriter.Write(p)
}

func (w *deadlineWriter) Flush() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.perWrite))
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
