package inapp

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ServeStream answers an HTTP request with the borrower's new messages as
// server-sent events: "event: message" with the message JSON as data, one
// event per message, flushed at once. A comment line every heartbeat keeps
// idle connections from being cut by proxies. It returns when the request's
// context ends (client gone, server shutting down). Authorisation is the
// caller's job.
func (ib *Inbox) ServeStream(w http.ResponseWriter, r *http.Request, borrowerID string) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming not supported", http.StatusInternalServerError)
		return
	}
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
			if !ok {
				return
			}
			if err := writeEvent(w, m); err != nil {
				return
			}
		case <-ticker.C:
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
