package domain_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/forbear/forbear/internal/ground/domain"
)

// TestSetTextBoundsTheRecord: a long rendered message (an email body) is
// cut to MaxRecordText bytes on a character boundary, with a marker; a
// short one is kept as it is.
func TestSetTextBoundsTheRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		cut  bool
	}{
		{name: "short", text: "Hi Li Lei, loan L-1 is overdue.", cut: false},
		{name: "exactly the bound", text: strings.Repeat("a", domain.MaxRecordText), cut: false},
		{name: "ascii over the bound", text: strings.Repeat("a", 3*domain.MaxRecordText), cut: true},
		{name: "chinese over the bound", text: strings.Repeat("您好，借款已逾期。", 1000), cut: true},
		{name: "emoji over the bound", text: "x" + strings.Repeat("💸", domain.MaxRecordText), cut: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d domain.Delivery
			d.SetText(tt.text, tt.text)
			for _, got := range []string{d.Subject, d.Text} {
				if len(got) > domain.MaxRecordText {
					t.Errorf("%d bytes, more than %d", len(got), domain.MaxRecordText)
				}
				if !utf8.ValidString(got) {
					t.Errorf("cut inside a character: %q", got[len(got)-16:])
				}
				if !tt.cut && got != tt.text {
					t.Errorf("a text within the bound was changed")
				}
				if tt.cut && (!strings.HasSuffix(got, "[...cut]") || !strings.HasPrefix(tt.text, strings.TrimSuffix(got, " [...cut]"))) {
					t.Errorf("cut text does not keep the start and end in the marker: ...%q", got[max(0, len(got)-32):])
				}
			}
		})
	}
}
