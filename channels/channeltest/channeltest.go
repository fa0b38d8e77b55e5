// Package channeltest is the conformance suite every channel provider must
// pass. A provider's own test calls Run with a function that builds a fresh
// provider against its real (or fake third-party) backend.
package channeltest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/domain"
)

// Harness is one provider under test and a window onto its backend.
type Harness struct {
	Provider channels.Provider
	// Message returns a valid message for this provider, unique per call.
	Message func() channels.Message
	// Calls reports how many provider calls reached the backend so far.
	Calls func() int
}

// Run runs the suite. setup is called once per subtest.
func Run(t *testing.T, setup func(t *testing.T) Harness) {
	t.Run("SendReturnsReference", func(t *testing.T) {
		h := setup(t)
		res, err := h.Provider.Send(ctx(t), h.Message())
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		if res.ProviderRef == "" {
			t.Errorf("ProviderRef is empty")
		}
		if res.Status != domain.Sent && res.Status != domain.Delivered {
			t.Errorf("Status = %q, want sent or delivered", res.Status)
		}
		if got := h.Calls(); got != 1 {
			t.Errorf("backend saw %d calls, want 1", got)
		}
	})
	t.Run("ExpiredFenceMakesNoCall", func(t *testing.T) {
		h := setup(t)
		c := channels.WithFence(ctx(t), time.Now().Add(-time.Millisecond))
		_, err := h.Provider.Send(c, h.Message())
		if !errors.Is(err, channels.ErrFenceExpired) {
			t.Fatalf("Send with expired fence: err = %v, want ErrFenceExpired", err)
		}
		if got := h.Calls(); got != 0 {
			t.Errorf("backend saw %d calls after an expired fence, want 0", got)
		}
	})
	t.Run("ValidFenceSends", func(t *testing.T) {
		h := setup(t)
		c := channels.WithFence(ctx(t), time.Now().Add(time.Minute))
		if _, err := h.Provider.Send(c, h.Message()); err != nil {
			t.Fatalf("Send with valid fence: %v", err)
		}
		if got := h.Calls(); got != 1 {
			t.Errorf("backend saw %d calls, want 1", got)
		}
	})
	t.Run("CanceledContextMakesNoCall", func(t *testing.T) {
		h := setup(t)
		c, cancel := context.WithCancel(ctx(t))
		cancel()
		if _, err := h.Provider.Send(c, h.Message()); err == nil {
			t.Fatalf("Send with canceled context succeeded")
		}
		if got := h.Calls(); got != 0 {
			t.Errorf("backend saw %d calls with a canceled context, want 0", got)
		}
	})
	t.Run("LookupFindsSentMessage", func(t *testing.T) {
		h := setup(t)
		l, ok := h.Provider.(channels.Looker)
		if !ok {
			t.Skip("provider has no Lookup")
		}
		msg := h.Message()
		// The worker records its attempt before the call; a provider that
		// matches by time (voice) looks from there.
		msg.AttemptedAt = time.Now()
		if _, found, err := l.Lookup(ctx(t), msg); err != nil || found {
			t.Fatalf("Lookup before send: found=%v err=%v, want not found", found, err)
		}
		sent, err := h.Provider.Send(ctx(t), msg)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		got, found, err := l.Lookup(ctx(t), msg)
		if err != nil || !found {
			t.Fatalf("Lookup after send: found=%v err=%v, want found", found, err)
		}
		if got.ProviderRef != sent.ProviderRef {
			t.Errorf("Lookup ref = %q, want %q", got.ProviderRef, sent.ProviderRef)
		}
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
