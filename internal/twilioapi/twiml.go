package twilioapi

import (
	"encoding/xml"
	"strings"
)

// TwiML is Twilio's markup for what a call does once answered, or how an
// inbound SMS is answered. This is forbear's one writer of it: every text
// and attribute value is XML-escaped, so template output, a borrower's
// name or a configured reply can never inject verbs (a <Dial>, say).

// HangupTwiML ends a call without a word.
const HangupTwiML = `<Response><Hangup/></Response>`

// noReplyTwiML answers an inbound SMS with nothing.
const noReplyTwiML = `<Response></Response>`

// SayTwiML reads text aloud in language (a <Say> language such as en-US).
func SayTwiML(language, text string) string {
	return response("Say", "language", language, text)
}

// MessageTwiML answers an inbound SMS with body; an empty body answers
// nothing.
func MessageTwiML(body string) string {
	if body == "" {
		return noReplyTwiML
	}
	return response("Message", "", "", body)
}

// response is a <Response> with one verb holding text, with the attribute
// attr="value" when attr is set.
func response(verb, attr, value, text string) string {
	var b strings.Builder
	b.WriteString("<Response><" + verb)
	if attr != "" {
		b.WriteString(" " + attr + `="`)
		_ = xml.EscapeText(&b, []byte(value))
		b.WriteString(`"`)
	}
	b.WriteString(">")
	_ = xml.EscapeText(&b, []byte(text))
	b.WriteString("</" + verb + "></Response>")
	return b.String()
}
