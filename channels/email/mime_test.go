package email_test

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"strings"
	"testing"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/email"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit/smtpserver"
)

func TestMIME(t *testing.T) {
	t.Parallel()
	b := setup(t, smtpserver.Options{})
	msg := message()
	msg.Subject = "还款提醒: 1200.00 due"
	msg.Text = "Dear Alice,\n<script>alert(1)</script> pay now. Ünïcode ok."
	msg.HTML = email.HTMLBody(msg.Text)
	msg.UnsubscribeURL = "https://lender.example/unsub?t=abc"
	res, err := b.p.Send(ctx(t), msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.Status != domain.Sent {
		t.Errorf("Status = %q, want sent", res.Status)
	}
	msgs, err := b.srv.Wait(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	h := m.Header
	if h == nil {
		t.Fatalf("message does not parse:\n%s", m.Data)
	}

	want := map[string]string{
		"From":                  `"Forbear Collections" <collections@example.com>`,
		"To":                    "<alice@example.com>",
		"Message-Id":            "<" + res.ProviderRef + ">",
		"Mime-Version":          "1.0",
		"List-Unsubscribe":      "<https://lender.example/unsub?t=abc>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"Date":                  "Sun, 01 Mar 2026 09:30:00 +0000",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	rawSubject := h.Get("Subject")
	if !strings.HasPrefix(rawSubject, "=?utf-8?") {
		t.Errorf("Subject %q is not RFC 2047 encoded", rawSubject)
	}
	var dec mime.WordDecoder
	if got, err := dec.DecodeHeader(rawSubject); err != nil || got != msg.Subject {
		t.Errorf("decoded Subject = %q (%v), want %q", got, err, msg.Subject)
	}

	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", h.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(strings.NewReader(string(m.Body)), params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part %s: Content-Transfer-Encoding = %q", p.Header.Get("Content-Type"), cte)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatalf("quoted-printable: %v", err)
		}
		parts[p.Header.Get("Content-Type")] = strings.ReplaceAll(string(body), "\r\n", "\n")
	}
	if got := parts["text/plain; charset=utf-8"]; got != msg.Text {
		t.Errorf("text part = %q, want %q", got, msg.Text)
	}
	html := parts["text/html; charset=utf-8"]
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Errorf("html part not escaped: %q", html)
	}
	for _, line := range strings.Split(string(m.Data), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line longer than 998 octets: %d", len(line))
		}
	}
}

func TestTextOnlyHasNoHTMLPartNorUnsubscribe(t *testing.T) {
	t.Parallel()
	b := setup(t, smtpserver.Options{})
	if _, err := b.p.Send(ctx(t), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs, err := b.srv.Wait(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if got := m.Header.Get("Subject"); got != "Your payment is due" {
		t.Errorf("ASCII subject = %q, want it unencoded", got)
	}
	if m.Header.Get("List-Unsubscribe") != "" {
		t.Errorf("List-Unsubscribe set without an URL")
	}
	if strings.Contains(string(m.Body), "text/html") {
		t.Errorf("text-only message has an HTML part")
	}
}

func TestMessageIDIsStableAcrossResends(t *testing.T) {
	t.Parallel()
	b := setup(t, smtpserver.Options{})
	msg := message()
	r1, err := b.p.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := b.p.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.p.Send(ctx(t), message())
	if err != nil {
		t.Fatal(err)
	}
	if r1.ProviderRef != r2.ProviderRef {
		t.Errorf("resend ref %q != first ref %q", r2.ProviderRef, r1.ProviderRef)
	}
	if other.ProviderRef == r1.ProviderRef {
		t.Errorf("two reminders share Message-ID %q", r1.ProviderRef)
	}
	if !strings.HasSuffix(r1.ProviderRef, "@example.com") {
		t.Errorf("Message-ID %q not in the sender's domain", r1.ProviderRef)
	}
	msgs, err := b.srv.Wait(ctx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := msgs[0].Header.Get("Message-Id"), msgs[1].Header.Get("Message-Id"); a != b {
		t.Errorf("Message-ID headers differ: %q, %q", a, b)
	}
}

func TestHeaderInjection(t *testing.T) {
	t.Parallel()
	b := setup(t, smtpserver.Options{})
	msg := message()
	msg.Subject = "Reminder\r\nBcc: evil@attacker.example\r\n\r\n<html>"
	msg.UnsubscribeURL = "https://lender.example/u?x=1\r\nBcc: evil@attacker.example"
	if _, err := b.p.Send(ctx(t), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs, err := b.srv.Wait(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if len(m.Header["Bcc"]) != 0 {
		t.Errorf("injected Bcc header: %q", m.Header["Bcc"])
	}
	if len(m.To) != 1 {
		t.Errorf("envelope recipients = %q, want only alice", m.To)
	}
	head, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "bcc:") {
			t.Errorf("header block has an injected line %q", line)
		}
	}
	if got := m.Header.Get("Subject"); got != "Reminder Bcc: evil@attacker.example  <html>" {
		t.Errorf("Subject = %q", got)
	}
	if got := m.Header.Get("List-Unsubscribe"); strings.ContainsAny(got, "\r\n ") {
		t.Errorf("List-Unsubscribe = %q", got)
	}

	// A recipient with a line break is not an address at all.
	bad := message()
	bad.To = "alice@example.com\r\nBcc: evil@attacker.example"
	_, err = b.p.Send(ctx(t), bad)
	var pe *channels.Error
	if !errors.As(err, &pe) || pe.Kind != channels.Permanent || pe.Code != "invalid_address" {
		t.Fatalf("Send to injected recipient: err = %v, want permanent invalid_address", err)
	}
	if got := b.srv.Count(); got != 1 {
		t.Errorf("server has %d messages, want 1", got)
	}
}

func TestHTMLBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"plain", "plain"},
		{"<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"},
		{"a & b\nc", "a &amp; b<br>\nc"},
		{"one\r\ntwo\rthree", "one<br>\ntwo<br>\nthree"},
		{`"quoted"`, "&#34;quoted&#34;"},
	}
	for _, tt := range tests {
		if got := email.HTMLBody(tt.in); got != tt.want {
			t.Errorf("HTMLBody(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
