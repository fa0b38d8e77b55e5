package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// MaxInput bounds what Normalize reads: the longest E.164 number has 15
// digits, so anything much longer is not a phone number however it is
// formatted.
const MaxInput = 64

// ErrNotAPhone is returned for input that is not a phone number: letters,
// too few or too many digits for its country, or too long.
var ErrNotAPhone = errors.New("not a phone number")

// ErrRegion is returned for a default region that libphonenumber does not
// know.
var ErrRegion = errors.New("unknown phone region")

// separators are the characters people put between a number's digits.
const separators = " \t-.()/\u00a0"

// Normalize returns input as an E.164 number ("+8613800000000"). Spaces,
// dashes, dots, slashes and parentheses are ignored; a leading "+" or "00"
// introduces the country code; without either, the number is read in
// defaultRegion (ISO 3166 alpha-2, "CN"), national trunk prefix included
// ("0" in many countries). The number must have a possible length for its
// country; whether it is assigned is not checked, so test ranges work.
func Normalize(input, defaultRegion string) (string, error) {
	region := strings.ToUpper(defaultRegion)
	if !ValidRegion(region) {
		return "", fmt.Errorf("%w %q", ErrRegion, defaultRegion)
	}
	if len(input) > MaxInput {
		return "", fmt.Errorf("%w: more than %d characters", ErrNotAPhone, MaxInput)
	}
	input = strings.TrimSpace(input)
	var b strings.Builder
	for i, r := range input {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0 && !strings.ContainsRune(input[i+1:], '+'):
			b.WriteRune(r)
		case strings.ContainsRune(separators, r):
		default:
			return "", fmt.Errorf("%w: only digits, one leading + and separators may be given", ErrNotAPhone)
		}
	}
	digits := b.String()
	// "00" is the international prefix of most of the world; read it as
	// "+" whatever the default region's own prefix is.
	if rest, ok := strings.CutPrefix(digits, "00"); ok {
		digits = "+" + rest
	}
	if strings.TrimPrefix(digits, "+") == "" {
		return "", fmt.Errorf("%w: no digits", ErrNotAPhone)
	}
	n, err := phonenumbers.Parse(digits, region)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotAPhone, err)
	}
	if !phonenumbers.IsPossibleNumber(n) {
		return "", fmt.Errorf("%w: wrong length for country code +%d", ErrNotAPhone, n.GetCountryCode())
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// ValidRegion reports whether region is an ISO 3166 alpha-2 code that
// libphonenumber has numbering metadata for ("CN", "US"; upper case).
func ValidRegion(region string) bool {
	return len(region) == 2 && phonenumbers.GetSupportedRegions()[region]
}
