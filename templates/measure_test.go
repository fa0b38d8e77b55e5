package templates

import (
	"strings"
	"testing"
)

func TestMeasureLeft(t *testing.T) {
	t.Parallel()
	rep := strings.Repeat
	tests := []struct {
		name         string
		text         string
		wantEncoding string
		wantSegments int
		wantLeft     int
	}{
		{name: "empty has a whole message", text: "", wantEncoding: EncodingGSM7, wantSegments: 0, wantLeft: 160},
		{name: "GSM 1", text: "a", wantEncoding: EncodingGSM7, wantSegments: 1, wantLeft: 159},
		{name: "GSM 160 is full", text: rep("a", 160), wantEncoding: EncodingGSM7, wantSegments: 1, wantLeft: 0},
		// 161 septets: two parts of at most 153, the second holds 8.
		{name: "GSM 161", text: rep("a", 161), wantEncoding: EncodingGSM7, wantSegments: 2, wantLeft: 145},
		{name: "GSM 306 fills two parts", text: rep("a", 306), wantEncoding: EncodingGSM7, wantSegments: 2, wantLeft: 0},
		{name: "extension takes two septets", text: rep("€", 10), wantEncoding: EncodingGSM7, wantSegments: 1, wantLeft: 140},
		// The brace starts part 2 (no split between escape and character):
		// part 2 holds 2 + 152 = 154 > 153, so part 3 holds 1.
		{name: "escape not split", text: rep("a", 152) + "{" + rep("a", 152), wantEncoding: EncodingGSM7, wantSegments: 3, wantLeft: 152},
		{name: "UCS-2 1", text: "中", wantEncoding: EncodingUCS2, wantSegments: 1, wantLeft: 69},
		{name: "UCS-2 70 is full", text: rep("中", 70), wantEncoding: EncodingUCS2, wantSegments: 1, wantLeft: 0},
		{name: "UCS-2 71", text: rep("中", 71), wantEncoding: EncodingUCS2, wantSegments: 2, wantLeft: 63},
		{name: "emoji takes two units", text: "😀", wantEncoding: EncodingUCS2, wantSegments: 1, wantLeft: 68},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := Measure(tc.text)
			if m.Encoding != tc.wantEncoding || m.Segments != tc.wantSegments || m.Left != tc.wantLeft {
				t.Errorf("Measure = %s, %d segments, %d left; want %s, %d, %d", m.Encoding, m.Segments, m.Left,
					tc.wantEncoding, tc.wantSegments, tc.wantLeft)
			}
			// Measure and Segments agree on what they share.
			if enc, n := Segments(tc.text); enc != m.Encoding || n != m.Segments {
				t.Errorf("Segments = %s, %d; Measure = %s, %d", enc, n, m.Encoding, m.Segments)
			}
		})
	}
}

func TestIsGSM7(t *testing.T) {
	t.Parallel()
	for _, r := range "aZ09@£€{}\n é" {
		if !IsGSM7(r) {
			t.Errorf("IsGSM7(%q) = false, want true", r)
		}
	}
	for _, r := range "中…😀ç’" {
		if IsGSM7(r) {
			t.Errorf("IsGSM7(%q) = true, want false", r)
		}
	}
}

// TestMeasureAllocates: measuring a text allocates nothing, GSM-7 or
// UCS-2, single or in parts. The dry run measures every SMS it sends (a
// year of 100,000 borrowers is millions of texts), so a measure that
// allocated a slice per text showed in its run time.
func TestMeasureAllocates(t *testing.T) {
	for _, text := range []string{
		"Your payment of 120.00 USD is due on 2026-03-10.",
		strings.Repeat("ab{", 100),
		"您的还款已逾期 3 天，请尽快还款。",
		strings.Repeat("😀x", 80),
	} {
		if n := testing.AllocsPerRun(20, func() { Measure(text) }); n != 0 {
			t.Errorf("Measure(%.20q...) allocates %v times, want 0", text, n)
		}
	}
}
