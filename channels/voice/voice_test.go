package voice_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/channeltest"
	"github.com/forbear/forbear/channels/voice"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
)

const from = "+15005550006"

var seq atomic.Int64

func message() channels.Message {
	n := seq.Add(1)
	return channels.Message{
		ReminderID: fmt.Sprintf("loan-%d/call/0/voice", n),
		Channel:    domain.Voice,
		To:         fmt.Sprintf("+1555%07d", n),
		Locale:     "en-US",
		Text:       fmt.Sprintf("Your loan %d is 7 days overdue.", n),
	}
}

type bundle struct {
	fake *faketwilio.Server
	p    *voice.Provider
}

func setup(t *testing.T, opts voice.Options) bundle {
	t.Helper()
	fake := faketwilio.New(t)
	p, err := voice.New(config.Provider{Kind: "twilio", From: from, Twilio: fake.Twilio()}, opts)
	if err != nil {
		t.Fatalf("voice.New: %v", err)
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
		b := setup(t, voice.Options{})
		return channeltest.Harness{Provider: b.p, Message: message, Calls: b.fake.Count}
	})
}

func TestNewNamesConfigKeys(t *testing.T) {
	t.Parallel()
	_, err := voice.New(config.Provider{Twilio: config.Twilio{AccountSID: "AC1", AuthToken: "x", APIBaseURL: "::"}}, voice.Options{})
	for _, want := range []string{"providers.voice.from is required", "providers.voice.twilio.api_base_url"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

func TestTwiML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		locale string
		text   string
		want   string
	}{
		{"english", "en-US", "Please pay today.", `<Response><Say language="en-US">Please pay today.</Say></Response>`},
		{"empty locale", "", "Hi", `<Response><Say language="en-US">Hi</Say></Response>`},
		{"chinese", "zh-CN", "您的贷款已逾期，请尽快还款。", `<Response><Say language="zh-CN">您的贷款已逾期，请尽快还款。</Say></Response>`},
		{"other locale passes through", "es-MX", "Hola", `<Response><Say language="es-MX">Hola</Say></Response>`},
		{"markup is escaped", "en-US", `<Dial>+15551234567</Dial> & "you" 'owe' > 0`,
			`<Response><Say language="en-US">&lt;Dial&gt;+15551234567&lt;/Dial&gt; &amp; &#34;you&#34; &#39;owe&#39; &gt; 0</Say></Response>`},
		{"attribute is escaped", `en"><Hangup/><Say x="`, "Hi",
			`<Response><Say language="en&#34;&gt;&lt;Hangup/&gt;&lt;Say x=&#34;">Hi</Say></Response>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := voice.TwiML(tt.locale, tt.text)
			if got != tt.want {
				t.Errorf("TwiML(%q, %q) =\n %s\nwant\n %s", tt.locale, tt.text, got, tt.want)
			}
			// Whatever the input, the result parses back to one <Say> with
			// the original text.
			var doc struct {
				Say struct {
					Language string `xml:"language,attr"`
					Text     string `xml:",chardata"`
				} `xml:"Say"`
			}
			if err := xml.Unmarshal([]byte(got), &doc); err != nil {
				t.Fatalf("TwiML does not parse: %v", err)
			}
			if doc.Say.Text != tt.text {
				t.Errorf("parsed text = %q, want %q", doc.Say.Text, tt.text)
			}
		})
	}
}

func TestSendRequest(t *testing.T) {
	t.Parallel()
	b := setup(t, voice.Options{StatusCallback: "https://forbear.example/v1/providers/twilio/status"})
	msg := message()
	msg.Locale = "zh-CN"
	msg.Text = "请还款 <今天> & 谢谢"
	res, err := b.p.Send(ctx(t), msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.HasPrefix(res.ProviderRef, "CA") || len(res.ProviderRef) != 34 || res.Status != domain.Sent {
		t.Errorf("Result = %+v, want a CA sid and status sent", res)
	}
	calls := b.fake.Calls()
	if len(calls) != 1 {
		t.Fatalf("fake saw %d calls, want 1", len(calls))
	}
	c := calls[0]
	if c.To != msg.To || c.From != from || c.SID != res.ProviderRef || c.StatusCallback == "" {
		t.Errorf("fake recorded %+v", c)
	}
	if want := voice.TwiML("zh-CN", msg.Text); c.Twiml != want {
		t.Errorf("Twiml = %s, want %s", c.Twiml, want)
	}
	if len(b.fake.Messages()) != 0 {
		t.Errorf("a call created messages")
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
		{"throttled", 429, 20429, channels.Retry},
		{"server error", 503, 0, channels.Retry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, voice.Options{})
			msg := message()
			b.fake.FailNext(msg.To, tt.status, tt.code, 1)
			_, err := b.p.Send(ctx(t), msg)
			if got := channels.Classify(err); err == nil || got != tt.want {
				t.Fatalf("err = %v (kind %v), want kind %v", err, got, tt.want)
			}
		})
	}
}

func TestScriptTooLongMakesNoCall(t *testing.T) {
	t.Parallel()
	b := setup(t, voice.Options{})
	msg := message()
	msg.Text = strings.Repeat("&", voice.MaxTwiML/4) // 5 bytes escaped each
	_, err := b.p.Send(ctx(t), msg)
	if channels.Classify(err) != channels.Permanent {
		t.Fatalf("err = %v, want permanent", err)
	}
	if n := b.fake.Count(); n != 0 {
		t.Errorf("fake saw %d calls, want 0", n)
	}
}

func looker(t *testing.T, p *voice.Provider) channels.Looker {
	t.Helper()
	l, ok := channels.Provider(p).(channels.Looker)
	if !ok {
		t.Fatal("the voice provider cannot look up calls: a redelivered reminder would dial again")
	}
	return l
}

// TestLookupFindsCallWhoseAnswerWasLost: the worker dies while Twilio
// creates the call; a look-up from the attempt time finds it while it is
// still queued (no start time yet) and after it was dialled, whatever its
// outcome.
func TestLookupFindsCallWhoseAnswerWasLost(t *testing.T) {
	t.Parallel()
	b := setup(t, voice.Options{})
	l := looker(t, b.p)
	msg := message()
	msg.AttemptedAt = time.Now() // the ledger's attempt, written before the call
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
	sid := b.fake.Calls()[0].SID

	for _, status := range []string{"queued", "ringing", "busy", "no-answer", "completed"} {
		b.fake.SetCallStatus(sid, status)
		res, found, err := l.Lookup(ctx(t), msg)
		if err != nil || !found || res.ProviderRef != sid || res.Status != domain.Sent {
			t.Errorf("Lookup of a %s call = %+v, found=%v, err=%v; want found %s", status, res, found, err, sid)
		}
	}
	var lists int
	for _, r := range b.fake.Requests() {
		if r.Method == http.MethodGet && r.Kind == faketwilio.Call {
			lists++
		}
	}
	if lists == 0 {
		t.Error("Lookup did not list calls at Twilio")
	}
}

// TestLookupMatchesNumberSenderAndTime: calls to another number, from
// another sender, or placed before the attempt are not this reminder's;
// without an attempt time there is nothing to match.
func TestLookupMatchesNumberSenderAndTime(t *testing.T) {
	t.Parallel()
	b := setup(t, voice.Options{})
	l := looker(t, b.p)
	msg := message()
	msg.AttemptedAt = time.Now()
	res, err := b.p.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	b.fake.SetCallStatus(res.ProviderRef, "completed")

	other := msg
	other.To = "+15559999999"
	if _, found, err := l.Lookup(ctx(t), other); err != nil || found {
		t.Errorf("Lookup for another number: found=%v err=%v, want not found", found, err)
	}
	later := msg
	later.AttemptedAt = time.Now().Add(time.Hour) // the call predates this attempt
	if _, found, err := l.Lookup(ctx(t), later); err != nil || found {
		t.Errorf("Lookup of an attempt after the call: found=%v err=%v, want not found", found, err)
	}
	unknown := msg
	unknown.AttemptedAt = time.Time{}
	if _, found, err := l.Lookup(ctx(t), unknown); err != nil || found {
		t.Errorf("Lookup without an attempt time: found=%v err=%v, want not found", found, err)
	}
	p2, err := voice.New(config.Provider{From: "+15005550001", Twilio: b.fake.Twilio()}, voice.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := looker(t, p2).Lookup(ctx(t), msg); err != nil || found {
		t.Errorf("Lookup from another sender: found=%v err=%v, want not found", found, err)
	}
	claimed := msg
	claimed.Claimed = []string{res.ProviderRef} // another reminder's call
	if _, found, err := l.Lookup(ctx(t), claimed); err != nil || found {
		t.Errorf("Lookup of a call another reminder claims: found=%v err=%v, want not found", found, err)
	}
	if _, found, err := l.Lookup(ctx(t), msg); err != nil || !found {
		t.Errorf("Lookup of the call itself: found=%v err=%v, want found", found, err)
	}
}
