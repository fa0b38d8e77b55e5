package twilioapi_test

import (
	"encoding/xml"
	"net/url"
	"testing"

	"github.com/forbear/forbear/internal/twilioapi"
)

func TestMessageTwiML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"no reply", "", `<Response></Response>`},
		{"plain", "You will receive no more SMS reminders.", `<Response><Message>You will receive no more SMS reminders.</Message></Response>`},
		{"markup is escaped", `</Message><Redirect>http://x</Redirect> & "so"`,
			`<Response><Message>&lt;/Message&gt;&lt;Redirect&gt;http://x&lt;/Redirect&gt; &amp; &#34;so&#34;</Message></Response>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := twilioapi.MessageTwiML(tt.body)
			if got != tt.want {
				t.Fatalf("MessageTwiML(%q) = %s, want %s", tt.body, got, tt.want)
			}
			// Whatever the body, the answer is one <Message> saying it.
			var doc struct {
				Messages []string `xml:"Message"`
			}
			if err := xml.Unmarshal([]byte(got), &doc); err != nil {
				t.Fatalf("answer does not parse: %v", err)
			}
			if tt.body != "" && (len(doc.Messages) != 1 || doc.Messages[0] != tt.body) {
				t.Errorf("parsed messages %q, want [%q]", doc.Messages, tt.body)
			}
		})
	}
}

func TestReadStatusCallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		form url.Values
		want twilioapi.StatusCallback
	}{
		{"call ringing", url.Values{"CallStatus": {"ringing"}, "CallSid": {"CA1"}},
			twilioapi.StatusCallback{Call: true, Status: "ringing", SID: "CA1", Outcome: twilioapi.Pending}},
		{"call completed by a machine", url.Values{"CallStatus": {"completed"}, "CallSid": {"CA1"}, "AnsweredBy": {"machine_end_beep"}, "To": {"+15550001"}},
			twilioapi.StatusCallback{Call: true, Status: "completed", SID: "CA1", Outcome: twilioapi.Reached, AnsweredBy: "machine_end_beep", To: "+15550001"}},
		{"call busy", url.Values{"CallStatus": {"busy"}, "CallSid": {"CA1"}},
			twilioapi.StatusCallback{Call: true, Status: "busy", SID: "CA1", Outcome: twilioapi.NotReached}},
		{"call not answered", url.Values{"CallStatus": {"no-answer"}},
			twilioapi.StatusCallback{Call: true, Status: "no-answer", Outcome: twilioapi.NotReached}},
		{"message sent", url.Values{"MessageStatus": {"sent"}, "MessageSid": {"SM1"}},
			twilioapi.StatusCallback{Status: "sent", SID: "SM1", Outcome: twilioapi.Pending}},
		{"message delivered", url.Values{"MessageStatus": {"delivered"}, "MessageSid": {"SM1"}},
			twilioapi.StatusCallback{Status: "delivered", SID: "SM1", Outcome: twilioapi.Reached}},
		{"message undelivered", url.Values{"MessageStatus": {"undelivered"}, "MessageSid": {"SM1"}, "ErrorCode": {"30003"}},
			twilioapi.StatusCallback{Status: "undelivered", SID: "SM1", Outcome: twilioapi.NotReached, ErrorCode: "30003"}},
		{"message to a recipient who replied STOP", url.Values{"MessageStatus": {"failed"}, "MessageSid": {"SM1"}, "ErrorCode": {"21610"}, "To": {"+15550001"}},
			twilioapi.StatusCallback{Status: "failed", SID: "SM1", Outcome: twilioapi.OptedOut, ErrorCode: "21610", To: "+15550001"}},
		{"nothing", url.Values{}, twilioapi.StatusCallback{Outcome: twilioapi.Pending}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := twilioapi.ReadStatusCallback(tt.form); got != tt.want {
				t.Errorf("ReadStatusCallback = %+v, want %+v", got, tt.want)
			}
		})
	}
}
