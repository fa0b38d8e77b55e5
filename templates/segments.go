package templates

// SMS encodings, as carriers and Twilio name them.
const (
	// EncodingGSM7 is the GSM 03.38 default alphabet: 7-bit septets, with
	// the characters of the extension table taking two (an escape and the
	// character).
	EncodingGSM7 = "GSM-7"
	// EncodingUCS2 is used as soon as one character is outside GSM-7; the
	// whole message is then counted in UTF-16 code units (an emoji or any
	// other character beyond the Basic Multilingual Plane takes two).
	EncodingUCS2 = "UCS-2"
)

// Segment sizes. A message that fits a single SMS has the whole payload; a
// longer one is sent as concatenated parts, each of which gives up room for
// the User Data Header (6 octets) that numbers the parts.
const (
	gsmSingle  = 160 // septets
	gsmPart    = 153 // septets per part of a concatenated message
	ucs2Single = 70  // UTF-16 code units
	ucs2Part   = 67  // UTF-16 code units per part
)

// gsmBasic is the GSM 03.38 default alphabet (one septet each). The escape
// code 0x1B itself is not a character.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension is the GSM 03.38 extension table: each character is sent as
// the escape septet followed by its code, two septets in all.
const gsmExtension = "\f^{}\\[~]|€"

// gsmCost maps every GSM-7 character to its septets (1 or 2).
var gsmCost = func() map[rune]int {
	m := make(map[rune]int, 140)
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// gsmASCII is gsmCost for the ASCII range (0: not GSM-7), so that the
// common characters of a text are counted without a map look-up: the dry
// run measures every SMS it sends.
var gsmASCII = func() (t [128]uint8) {
	for r, c := range gsmCost {
		if r < 128 {
			t[r] = uint8(c)
		}
	}
	return t
}()

// Segments reports how a carrier sends text as SMS: the encoding ("GSM-7"
// when every character is in the GSM 03.38 alphabet or its extension table,
// else "UCS-2" for the whole message) and the number of messages billed.
//
// GSM-7 counts septets (extension characters ^ { } \ [ ~ ] | € and form
// feed take two): up to 160 is one message, longer texts go in parts of
// 153. UCS-2 counts UTF-16 code units (an emoji takes two): up to 70 is one
// message, longer texts go in parts of 67. A part never ends between the
// escape and its character, nor between the halves of a surrogate pair, so
// such a character that does not fit starts the next part. Empty text is
// zero segments.
func Segments(text string) (encoding string, segments int) {
	m := Measure(text)
	return m.Encoding, m.Segments
}

// SMSMeasure is how a carrier sends a text as SMS (see Segments), and how
// much more fits before it costs another message.
type SMSMeasure struct {
	Encoding string
	Segments int
	// Left is the room left in the last segment, in the encoding's units
	// (GSM-7 septets, UCS-2 code units): a single message has 160 or 70 in
	// all, each part of a longer one 153 or 67. Empty text has a whole
	// single message left.
	Left int
}

// Measure is Segments with the room left in the last segment, as an editor
// shows it while one types.
func Measure(text string) SMSMeasure {
	if text == "" {
		return SMSMeasure{Encoding: EncodingGSM7, Left: gsmSingle}
	}
	if total, ok := gsmTotal(text); ok {
		n, left := pack(text, total, gsmSeptets, gsmSingle, gsmPart)
		return SMSMeasure{Encoding: EncodingGSM7, Segments: n, Left: left}
	}
	total := 0
	for _, r := range text {
		total += ucs2Units(r)
	}
	n, left := pack(text, total, ucs2Units, ucs2Single, ucs2Part)
	return SMSMeasure{Encoding: EncodingUCS2, Segments: n, Left: left}
}

// IsGSM7 reports whether r is in the GSM 03.38 alphabet or its extension
// table; a text with any other character is sent as UCS-2.
func IsGSM7(r rune) bool {
	return gsmSeptets(r) > 0
}

// gsmSeptets is the septets of r in GSM-7, or 0 when r is not in it.
func gsmSeptets(r rune) int {
	if r >= 0 && r < 128 {
		return int(gsmASCII[r])
	}
	return gsmCost[r]
}

// gsmTotal is the septets of text, or false when a character is outside
// GSM-7.
func gsmTotal(text string) (int, bool) {
	total := 0
	for _, r := range text {
		c := gsmSeptets(r)
		if c == 0 {
			return 0, false
		}
		total += c
	}
	return total, true
}

// ucs2Units is the UTF-16 code units of r: two for a surrogate pair.
func ucs2Units(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}

// pack counts messages of a text costing total units, each character cost
// units: one when everything fits single, else parts of at most part
// units, filled in order, with no character split between two. left is
// the room the last message has after the text.
func pack(text string, total int, cost func(rune) int, single, part int) (messages, left int) {
	if total <= single {
		return 1, single - total
	}
	parts, used := 1, 0
	for _, r := range text {
		c := cost(r)
		if used+c > part {
			parts++
			used = 0
		}
		used += c
	}
	return parts, part - used
}
