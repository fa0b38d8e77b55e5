package sms_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/channeltest"
	"github.com/forbear/forbear/channels/sms"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
)

const from = "+15005550006"

var seq atomic.Int64

// message returns a valid SMS, unique per call.
func message() channels.Message {
	n := seq.Add(1)
	return channels.Message{
		ReminderID: fmt.Sprintf("loan-%d/overdue/0/sms", n),
		BorrowerID: fmt.Sprintf("b-%d", n),
		Channel:    domain.SMS,
		To:         fmt.Sprintf("+8613%09d", n),
		Locale:     "zh-CN",
		Text:       fmt.Sprintf("您的贷款 #%d 已逾期，请尽快还款。", n),
	}
}

type bundle struct {
	fake *faketwilio.Server
	p    *sms.Provider
}

func setup(t *testing.T, opts sms.Options) bundle {
	t.Helper()
	fake := faketwilio.New(t)
	p, err := sms.New(config.Provider{Kind: "twilio", From: from, Twilio: fake.Twilio()}, opts)
	if err != nil {
		t.Fatalf("sms.New: %v", err)
	}
	return bundle{fake: fake, p: p}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestConformance(t *testing.T) {
	t.Parallel()
	channeltest.Run(t, func(t *testing.T) channeltest.Harness {
		b := setup(t, sms.Options{})
		return channeltest.Harness{Provider: b.p, Message: message, Calls: b.fake.Count}
	})
}

func TestNewNamesConfigKeys(t *testing.T) {
	t.Parallel()
	_, err := sms.New(config.Provider{Kind: "twilio"}, sms.Options{})
	for _, want := range []string{
		"providers.sms.twilio.account_sid is required",
		"providers.sms.twilio.auth_token is required",
		"providers.sms.from is required",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

func TestSendRequest(t *testing.T) {
	t.Parallel()
	b := setup(t, sms.Options{StatusCallback: "https://forbear.example/v1/providers/twilio/status"})
	msg := message()
	res, err := b.p.Send(ctx(t), msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.HasPrefix(res.ProviderRef, "SM") || len(res.ProviderRef) != 34 || res.Status != domain.Sent {
		t.Errorf("Result = %+v, want an SM sid and status sent", res)
	}
	got := b.fake.Messages()
	if len(got) != 1 {
		t.Fatalf("fake saw %d messages, want 1", len(got))
	}
	want := faketwilio.Record{To: msg.To, From: from, Body: msg.Text, SID: res.ProviderRef,
		StatusCallback: "https://forbear.example/v1/providers/twilio/status"}
	g := got[0]
	if g.To != want.To || g.From != want.From || g.Body != want.Body || g.SID != want.SID || g.StatusCallback != want.StatusCallback {
		t.Errorf("fake recorded %+v, want %+v", g, want)
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		code   int
		want   channels.ErrorKind
	}{
		{"invalid number", 400, 21211, channels.Permanent},
		{"opted out", 400, 21610, channels.OptedOut},
		{"throttled", 429, 20429, channels.Retry},
		{"server error", 500, 0, channels.Retry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, sms.Options{})
			msg := message()
			b.fake.FailNext(msg.To, tt.status, tt.code, 1)
			_, err := b.p.Send(ctx(t), msg)
			if got := channels.Classify(err); err == nil || got != tt.want {
				t.Fatalf("err = %v (kind %v), want kind %v", err, got, tt.want)
			}
			if strings.Contains(err.Error(), msg.To) {
				t.Errorf("error %q shows the full phone number", err)
			}
			if tt.want == channels.Retry {
				// Failures were n=1: the retry the dispatcher makes succeeds.
				if _, err := b.p.Send(ctx(t), msg); err != nil {
					t.Errorf("second Send: %v", err)
				}
			}
		})
	}
}

// The case Lookup exists for: Twilio accepted the message, the worker never
// heard back, the reminder is redelivered.
func TestLookupFindsMessageWhoseAnswerWasLost(t *testing.T) {
	t.Parallel()
	b := setup(t, sms.Options{})
	msg := message()
	gate := b.fake.Hold()
	c, cancel := context.WithCancel(ctx(t))
	done := make(chan error, 1)
	go func() {
		_, err := b.p.Send(c, msg)
		done <- err
	}()
	select {
	case <-gate.Arrived():
	case <-time.After(10 * time.Second):
		t.Fatal("send never reached the fake")
	}
	cancel() // the worker dies mid-call
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Send: err = %v, want context.Canceled", err)
	}
	gate.Release()

	res, found, err := b.p.Lookup(ctx(t), msg)
	if err != nil || !found {
		t.Fatalf("Lookup: found=%v err=%v, want found", found, err)
	}
	if sent := b.fake.Messages(); res.ProviderRef != sent[0].SID {
		t.Errorf("Lookup ref = %q, want %q", res.ProviderRef, sent[0].SID)
	}
}

func TestLookupMatchesTextAndSender(t *testing.T) {
	t.Parallel()
	b := setup(t, sms.Options{})
	msg := message()
	if _, err := b.p.Send(ctx(t), msg); err != nil {
		t.Fatal(err)
	}

	other := msg
	other.Text = msg.Text + " (2)"
	if _, found, err := b.p.Lookup(ctx(t), other); err != nil || found {
		t.Errorf("Lookup of different text: found=%v err=%v, want not found", found, err)
	}

	// Same number and text, but sent from another sender of the account.
	p2, err := sms.New(config.Provider{From: "+15005550001", Twilio: b.fake.Twilio()}, sms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := p2.Lookup(ctx(t), msg); err != nil || found {
		t.Errorf("Lookup from another sender: found=%v err=%v, want not found", found, err)
	}
}

// A repeating step sends the same text again: the copy sent for an
// earlier occurrence, before this reminder's attempt, is not this one.
func TestLookupCountsOnlyMessagesSinceTheAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t, sms.Options{})
	msg := message()
	if _, err := b.p.Send(ctx(t), msg); err != nil { // the earlier occurrence
		t.Fatal(err)
	}
	later := msg
	later.AttemptedAt = time.Now().Add(channels.ClockSkew + time.Minute)
	if _, found, err := b.p.Lookup(ctx(t), later); err != nil || found {
		t.Errorf("Lookup for an attempt after the only copy: found=%v err=%v, want not found", found, err)
	}
	now := msg
	now.AttemptedAt = time.Now().Add(-time.Second)
	if _, found, err := b.p.Lookup(ctx(t), now); err != nil || !found {
		t.Errorf("Lookup for an attempt just before the copy: found=%v err=%v, want found", found, err)
	}
	// The copy is another reminder's by the audit trail: not this one's.
	claimed := now
	claimed.Claimed = []string{b.fake.Messages()[0].SID}
	if _, found, err := b.p.Lookup(ctx(t), claimed); err != nil || found {
		t.Errorf("Lookup with the only copy claimed by another reminder: found=%v err=%v, want not found", found, err)
	}
}

func TestLookupErrorsAreClassified(t *testing.T) {
	t.Parallel()
	fake := faketwilio.New(t)
	tw := fake.Twilio()
	tw.AuthToken = "wrong"
	p, err := sms.New(config.Provider{From: from, Twilio: tw}, sms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, found, err := p.Lookup(ctx(t), message())
	if found || channels.Classify(err) != channels.Permanent {
		t.Fatalf("Lookup with bad credentials: found=%v err=%v, want a permanent error", found, err)
	}
}
