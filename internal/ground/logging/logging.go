// Package logging builds forbear's logrus logger (JSON unless writing to a
// terminal) and masks personal data before it reaches a log line.
package logging

import (
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/sirupsen/logrus"
)

// Stable field names used in every log line.
const (
	FieldBorrower = "borrower_id"
	FieldLoan     = "loan_id"
	FieldChannel  = "channel"
	FieldStep     = "step"
	FieldMsg      = "msg_id"
)

// New returns a logger writing to w at level ("debug", "info", "warn",
// "error"; default info) in format ("json", "text", or "" for JSON unless w
// is a terminal).
func New(w io.Writer, level, format string) (*logrus.Logger, error) {
	l := logrus.New()
	l.SetOutput(w)
	lv := logrus.InfoLevel
	if level != "" {
		var err error
		if lv, err = logrus.ParseLevel(level); err != nil {
			return nil, err
		}
	}
	l.SetLevel(lv)
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && isTerminal(f) {
			format = "text"
		}
	}
	if format == "json" {
		l.SetFormatter(&logrus.JSONFormatter{})
	} else {
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	}
	return l, nil
}

// Discard returns a logger that writes nothing (tests).
func Discard() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Phone masks a phone number, keeping the country prefix and the last two
// digits: +8613812345678 -> +86*********78.
func Phone(p string) string {
	if len(p) <= 5 {
		return strings.Repeat("*", len(p))
	}
	return p[:3] + strings.Repeat("*", len(p)-5) + p[len(p)-2:]
}

// Email masks an email address, keeping the first letter and the domain:
// alice@example.com -> a****@example.com.
func Email(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at <= 0 {
		return strings.Repeat("*", len(e))
	}
	return e[:1] + strings.Repeat("*", at-1) + e[at:]
}

// Address masks whatever contact address a is (phone or email).
func Address(a string) string {
	if strings.Contains(a, "@") {
		return Email(a)
	}
	return Phone(a)
}

var (
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	phoneRe = regexp.MustCompile(`\+?[0-9][0-9 \-]{6,}[0-9]`)
)

// Scrub masks every email address and phone-like number inside free text,
// such as a provider's error message that echoes the recipient.
func Scrub(s string) string {
	s = emailRe.ReplaceAllStringFunc(s, Email)
	return phoneRe.ReplaceAllStringFunc(s, Phone)
}
