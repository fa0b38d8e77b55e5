package logging_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/logging"
)

func TestMasking(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		fn             func(string) string
	}{
		{"phone", "+8613812345678", "+86*********78", logging.Phone},
		{"short phone", "123", "***", logging.Phone},
		{"email", "alice@example.com", "a****@example.com", logging.Email},
		{"not an email", "alice", "*****", logging.Email},
		{"address picks email", "bob@example.com", "b**@example.com", logging.Address},
		{"address picks phone", "+15551234567", "+15*******67", logging.Address},
		{"scrub smtp error", "550 5.1.1 <bob@example.com>: rejected", "550 5.1.1 <b**@example.com>: rejected", logging.Scrub},
		{"scrub phone in text", "number +15551234567 is invalid", "number +15*******67 is invalid", logging.Scrub},
		{"scrub leaves codes", "twilio error 21211 status 400", "twilio error 21211 status 400", logging.Scrub},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.in); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJSONLogsHaveStableFields(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, err := logging.New(&buf, "info", "")
	if err != nil {
		t.Fatal(err)
	}
	l.WithField(logging.FieldBorrower, "b1").Info("hello")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON when not a terminal: %q", buf.String())
	}
	if line["borrower_id"] != "b1" || !strings.Contains(buf.String(), `"msg":"hello"`) {
		t.Fatalf("line = %v", line)
	}
	if _, err := logging.New(&buf, "loud", ""); err == nil {
		t.Fatal("bad level accepted")
	}
}
