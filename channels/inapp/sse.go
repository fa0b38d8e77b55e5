package inapp

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// writeWait bounds one write to a stream's client: a client that stops
// reading is disconnected instead of holding its connection and its place
// under the stream caps.
const writeWait = 30 * time.Second

// ServeStream answers an HTTP request with the borrower's new messages as
// server-sent events: "event: message" with the message JSON as data, one
// event per message, flushed at once. A comment line every heartbeat keeps
// idle connections from being cut by proxies. It returns when the request's
// context ends (client gone, server shutting down), when the client falls
// StreamBuffer messages behind or a write to it waits more than writeWait
// (the client reconnects and reads the inbox). Authorisation and stream
// caps are the caller's job.
func (ib *Inbox) ServeStream(w http.ResponseWriter, r *http.Request, borrowerID string) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming not supported", http.StatusInternalServerError)
		return
	}
	// Not every ResponseWriter has deadlines (test recorders): then writes
	// are only bounded by the connection.
	rc := http.NewResponseController(w)
	deadline := func() { _ = rc.SetWriteDeadline(time.Now().Add(writeWait)) }
	// The server does not reset it for the connection's next request.
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	ctx := r.Context()
	msgs, err := ib.Stream(ctx, borrowerID)
	if err != nil {
		http.Error(w, "inbox unavailable", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	// nginx buffers responses unless told otherwise.
	h.Set("X-Accel-Buffering", "no")
	deadline()
	w.WriteHeader(http.StatusOK)
	// The watch is in place before the first byte goes out, so a client
	// that has read the response headers misses nothing published later.
	if _, err := io.WriteString(w, ": stream open\n\n"); err != nil {
		return
	}
	flusher.Flush()

	hb := ib.heartbeat
	if hb <= 0 {
		hb = DefaultHeartbeat
	}
	ticker := time.NewTicker(hb)
	defer ticker.Stop()
	for {
		select {
		case m, ok := <-msgs:
			deadline()
			if !ok {
				return
			}
			if err := writeEvent(w, m); err != nil {
				return
			}
		case <-ticker.C:
			deadline()
			if _, err := io.WriteString(w, ": heartbeat\n\n"); err != nil {
				return
			}
		case <-ctx.Done():
			return
		}
		flusher.Flush()
	}
}

// writeEvent writes one SSE event. json.Marshal never emits a raw newline,
// so the data fits on one "data:" line and cannot end the event early.
func writeEvent(w io.Writer, m Message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("inapp: encode event: %w", err)
	}
	_, err = fmt.Fprintf(w, "event: message\ndata: %s\n\n", data)
	return err
}
