package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"time"
)

// HTMLBody turns plain text into an HTML fragment: every character that
// means something in HTML is escaped and line breaks become <br>, so text
// that came from event data can never inject markup or script.
func HTMLBody(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.ReplaceAll(html.EscapeString(text), "\n", "<br>\n")
}

// MessageID returns the Message-ID (without angle brackets) of the email for
// reminderID, sent from domain. It is a hash of the reminder id: stable
// across resends, and free of anything a header could not carry.
func MessageID(reminderID, domain string) string {
	sum := sha256.Sum256([]byte(reminderID))
	return "forbear." + hex.EncodeToString(sum[:16]) + "@" + domain
}

// envelope is what build needs besides the channels.Message.
type envelope struct {
	from      string // formatted From header value
	to        string // formatted To header value
	subject   string
	text      string
	html      string
	unsub     string
	messageID string
	date      time.Time
}

// headerValue removes CR and LF, the characters that would end a header and
// start another one, and trims the result.
func headerValue(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
	return strings.TrimSpace(s)
}

// encodeSubject RFC 2047-encodes a subject when it is not plain ASCII and
// folds the encoded words so that no header line grows past the limit.
func encodeSubject(s string) string {
	enc := mime.QEncoding.Encode("utf-8", headerValue(s))
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// unsubscribeURL makes url safe inside <...>: CR, LF, spaces and angle
// brackets are percent-encoded rather than dropped, so the link still
// resolves where it was legitimate.
func unsubscribeURL(url string) string {
	return strings.NewReplacer("\r", "%0D", "\n", "%0A", " ", "%20", "\t", "%09", "<", "%3C", ">", "%3E").
		Replace(strings.TrimSpace(url))
}

// build renders the complete RFC 5322 message with CRLF line endings.
func build(e envelope) ([]byte, error) {
	var buf bytes.Buffer
	// The boundary stays random: one derived from the reminder id could be
	// computed and planted in event data to forge a part.
	mw := multipart.NewWriter(&buf)

	hdr := []struct{ k, v string }{
		{"From", headerValue(e.from)},
		{"To", headerValue(e.to)},
		{"Subject", encodeSubject(e.subject)},
		{"Date", e.date.Format(time.RFC1123Z)},
		{"Message-ID", "<" + headerValue(e.messageID) + ">"},
		{"MIME-Version", "1.0"},
		// Auto-replies (vacation notices) should not answer a reminder.
		{"Auto-Submitted", "auto-generated"},
	}
	if e.unsub != "" {
		hdr = append(hdr,
			struct{ k, v string }{"List-Unsubscribe", "<" + unsubscribeURL(e.unsub) + ">"},
			struct{ k, v string }{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"})
	}
	hdr = append(hdr, struct{ k, v string }{"Content-Type", "multipart/alternative; boundary=\"" + mw.Boundary() + "\""})

	var out bytes.Buffer
	for _, h := range hdr {
		out.WriteString(h.k)
		out.WriteString(": ")
		out.WriteString(h.v)
		out.WriteString("\r\n")
	}
	out.WriteString("\r\n")

	if err := writePart(mw, "text/plain; charset=utf-8", e.text); err != nil {
		return nil, err
	}
	if e.html != "" {
		if err := writePart(mw, "text/html; charset=utf-8", e.html); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("email: close multipart: %w", err)
	}
	out.Write(buf.Bytes())
	return out.Bytes(), nil
}

// writePart adds one quoted-printable part; quoted-printable keeps mostly
// ASCII text readable and every line short, whatever the template produced.
func writePart(mw *multipart.Writer, contentType, body string) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", contentType)
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return fmt.Errorf("email: create part: %w", err)
	}
	qw := quotedprintable.NewWriter(pw)
	if _, err := qw.Write([]byte(body)); err != nil {
		return fmt.Errorf("email: write part: %w", err)
	}
	if err := qw.Close(); err != nil {
		return fmt.Errorf("email: write part: %w", err)
	}
	return nil
}
