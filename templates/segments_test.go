package templates

import (
	"errors"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/domain"
)

func TestSegments(t *testing.T) {
	t.Parallel()
	rep := strings.Repeat
	tests := []struct {
		name         string
		text         string
		wantEncoding string
		wantSegments int
	}{
		{name: "empty", text: "", wantEncoding: EncodingGSM7, wantSegments: 0},
		{name: "one character", text: "a", wantEncoding: EncodingGSM7, wantSegments: 1},

		// GSM-7: 160 septets single, then parts of 153.
		{name: "GSM 160", text: rep("a", 160), wantEncoding: EncodingGSM7, wantSegments: 1},
		{name: "GSM 161", text: rep("a", 161), wantEncoding: EncodingGSM7, wantSegments: 2},
		{name: "GSM 306", text: rep("a", 306), wantEncoding: EncodingGSM7, wantSegments: 2},
		{name: "GSM 307", text: rep("a", 307), wantEncoding: EncodingGSM7, wantSegments: 3},
		{name: "GSM 459", text: rep("a", 459), wantEncoding: EncodingGSM7, wantSegments: 3},
		{name: "GSM 460", text: rep("a", 460), wantEncoding: EncodingGSM7, wantSegments: 4},
		{
			name:         "carrier example: English reminder",
			text:         "Hi Alex Chen, your payment of $1,200.00 for loan L-1 is due on Mar 5, 2026. Reply STOP to opt out.",
			wantEncoding: EncodingGSM7, wantSegments: 1,
		},
		{name: "GSM specials are one septet", text: "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", wantEncoding: EncodingGSM7, wantSegments: 1},
		{name: "GSM specials fill 160", text: rep("é", 160), wantEncoding: EncodingGSM7, wantSegments: 1},

		// Extension table: two septets each.
		{name: "80 euro signs are 160 septets", text: rep("€", 80), wantEncoding: EncodingGSM7, wantSegments: 1},
		{name: "81 euro signs are 162 septets", text: rep("€", 81), wantEncoding: EncodingGSM7, wantSegments: 2},
		{name: "159 plus a brace is 161 septets", text: rep("a", 159) + "{", wantEncoding: EncodingGSM7, wantSegments: 2},
		{name: "158 plus a brace is 160 septets", text: rep("a", 158) + "}", wantEncoding: EncodingGSM7, wantSegments: 1},
		{name: "every extension character", text: "^{}\\[~]|€\f", wantEncoding: EncodingGSM7, wantSegments: 1},
		{
			// 152 + 2 would end part 1 between the escape and the brace:
			// the brace starts part 2, which then overflows into part 3
			// (306 septets, that naive counting puts in 2 parts).
			name: "escape not split at a part boundary", text: rep("a", 152) + "{" + rep("a", 152),
			wantEncoding: EncodingGSM7, wantSegments: 3,
		},
		{
			name: "extension fits exactly at the end of a part", text: rep("a", 151) + "[" + rep("a", 153),
			wantEncoding: EncodingGSM7, wantSegments: 2,
		},

		// UCS-2: one character outside GSM-7 switches the whole message.
		{name: "UCS-2 70", text: rep("中", 70), wantEncoding: EncodingUCS2, wantSegments: 1},
		{name: "UCS-2 71", text: rep("中", 71), wantEncoding: EncodingUCS2, wantSegments: 2},
		{name: "UCS-2 134", text: rep("中", 134), wantEncoding: EncodingUCS2, wantSegments: 2},
		{name: "UCS-2 135", text: rep("中", 135), wantEncoding: EncodingUCS2, wantSegments: 3},
		{name: "UCS-2 201", text: rep("中", 201), wantEncoding: EncodingUCS2, wantSegments: 3},
		{name: "UCS-2 202", text: rep("中", 202), wantEncoding: EncodingUCS2, wantSegments: 4},
		{name: "curly apostrophe makes 70 Latin letters UCS-2", text: rep("a", 69) + "’", wantEncoding: EncodingUCS2, wantSegments: 1},
		{name: "curly apostrophe makes 71 Latin letters two parts", text: rep("a", 70) + "’", wantEncoding: EncodingUCS2, wantSegments: 2},
		{name: "lower-case c cedilla is not GSM-7", text: "ç", wantEncoding: EncodingUCS2, wantSegments: 1},
		{name: "tab is not GSM-7", text: "a\tb", wantEncoding: EncodingUCS2, wantSegments: 1},
		{
			// 55 characters: one message.
			name:         "carrier example: Chinese reminder",
			text:         "张伟您好，您的借款L-1应还¥1,200.00，还款日为2026年3月5日，可随时在App内还款。回复退订拒收",
			wantEncoding: EncodingUCS2, wantSegments: 1,
		},
		{
			// 76 code units: two parts.
			name:         "carrier example: long Chinese reminder",
			text:         "张伟您好，您的借款L-1应还¥1,200.00（还款日2026年3月5日），目前已逾期3天。请尽快在App内还款；如有困难，可查看还款方案。回复退订拒收",
			wantEncoding: EncodingUCS2, wantSegments: 2,
		},

		// Emoji are surrogate pairs: two code units, never split.
		{name: "one emoji", text: "😀", wantEncoding: EncodingUCS2, wantSegments: 1},
		{name: "35 emoji are 70 units", text: rep("😀", 35), wantEncoding: EncodingUCS2, wantSegments: 1},
		{name: "36 emoji are 72 units", text: rep("😀", 36), wantEncoding: EncodingUCS2, wantSegments: 2},
		{name: "69 letters and an emoji are 71 units", text: rep("a", 69) + "😀", wantEncoding: EncodingUCS2, wantSegments: 2},
		{
			// 134 units, but the pair cannot end part 1 at unit 67.
			name: "surrogate pair not split at a part boundary", text: rep("a", 66) + "😀" + rep("a", 66),
			wantEncoding: EncodingUCS2, wantSegments: 3,
		},
		{
			name: "surrogate pair fits exactly at the end of a part", text: rep("a", 65) + "😀" + rep("a", 67),
			wantEncoding: EncodingUCS2, wantSegments: 2,
		},
		{name: "euro sign in a UCS-2 message is one unit", text: rep("€", 69) + "中", wantEncoding: EncodingUCS2, wantSegments: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			enc, n := Segments(tt.text)
			if enc != tt.wantEncoding || n != tt.wantSegments {
				t.Errorf("Segments(%d runes) = %s, %d; want %s, %d", len([]rune(tt.text)), enc, n, tt.wantEncoding, tt.wantSegments)
			}
		})
	}
}

// The alphabet tables must hold exactly GSM 03.38: 127 characters of the
// basic set (128 codes less the escape) and the 10 of the extension table.
func TestGSMAlphabet(t *testing.T) {
	t.Parallel()
	basic, ext := 0, 0
	for _, c := range gsmCost {
		switch c {
		case 1:
			basic++
		case 2:
			ext++
		}
	}
	if basic != 127 || ext != 10 {
		t.Fatalf("GSM-7 table has %d basic and %d extension characters, want 127 and 10", basic, ext)
	}
}

// An SMS is measured with LongSample: a text that fits with "Alex Chen" but
// not with a long name is refused, naming channel, locale and the count.
func TestSMSSegmentLimit(t *testing.T) {
	t.Parallel()
	sms := func(loc, body string) Definition {
		return Definition{Category: CategoryCollection, Channels: map[domain.Channel]map[string]Text{domain.SMS: {loc: {Body: body}}}}
	}
	// 430 + name + " STOP": 445 septets with Sample (3 parts), 469 with
	// LongSample (4 parts).
	tooLong := strings.Repeat("x", 430) + " {{.Borrower.Name}} STOP"
	tests := []struct {
		name    string
		def     Definition
		max     int
		wantErr string // "" = valid
	}{
		{name: "short text", def: sms("en-US", "Hi {{.Borrower.Name}}, reply STOP to opt out."), max: 3},
		{name: "three parts with long values", def: sms("en-US", strings.Repeat("x", 400)+" {{.Borrower.Name}} STOP"), max: 3},
		{name: "four parts only with long values", def: sms("en-US", tooLong), max: 3, wantErr: "channel sms, locale en-US: renders to 4 SMS segments (GSM-7)"},
		{name: "limit of one", def: sms("en-US", strings.Repeat("x", 130)+" {{.Borrower.Name}} STOP"), max: 1, wantErr: "renders to 2 SMS segments (GSM-7) with realistically long values, more than the 1 allowed"},
		{name: "higher limit", def: sms("en-US", tooLong), max: 4},
		{name: "Chinese over three parts", def: sms("zh-CN", strings.Repeat("请", 180)+"{{.Borrower.Name}}退订"), max: 3, wantErr: "channel sms, locale zh-CN: renders to 4 SMS segments (UCS-2)"},
		{name: "Chinese within three parts", def: sms("zh-CN", strings.Repeat("请", 150)+"{{.Borrower.Name}}退订"), max: 3},
		{name: "emoji count double", def: sms("en-US", strings.Repeat("😀", 100)+" STOP"), max: 3, wantErr: "renders to 4 SMS segments (UCS-2)"},
		{
			name: "voice and email have no segment limit", max: 1,
			def: Definition{Channels: map[domain.Channel]map[string]Text{
				domain.Voice: {"en-US": {Body: strings.Repeat("x", 2000)}},
				domain.Email: {"en-US": {Subject: "s", Body: strings.Repeat("x", 2000)}},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := compileChecked("", tt.def, rules{optOut: DefaultOptOutPhrases(), maxSegments: tt.max})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Channel != "sms" || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want a *ValidationError for sms containing %q", err, tt.wantErr)
			}
		})
	}
}

// Every bundled SMS must fit the default limit with long values.
func TestBundledSMSFitDefaultLimit(t *testing.T) {
	t.Parallel()
	defs, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	for id, def := range defs {
		for loc, text := range def.Channels[domain.SMS] {
			ct, err := compileText(string(domain.SMS), loc, text)
			if err != nil {
				t.Fatal(err)
			}
			_, long, err := ct.execute(LongSample(loc))
			if err != nil {
				t.Fatal(err)
			}
			enc, n := Segments(long)
			t.Logf("%s sms %s: %d %s segments with long values", id, loc, n, enc)
			if n > DefaultMaxSMSSegments {
				t.Errorf("%s sms %s: %d segments", id, loc, n)
			}
		}
	}
}
