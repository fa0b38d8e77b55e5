package intake

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/forbear/forbear/internal/ground/tz"
)

// Bounds on what intake accepts. Each field and list is bounded so that no
// stored record can outgrow what NATS accepts in one message (see
// store.MaxValueBytes), and so that an error can always name the field
// instead of failing as a 500 deep below.
const (
	MaxIDBytes      = 128 // borrower, loan, agreement ids and policy names
	MaxEventIDBytes = 256 // CloudEvents id (the idempotency key)
	MaxSourceBytes  = 512 // CloudEvents source (a URI reference)
	MaxTypeBytes    = 64
	MaxNameBytes    = 200
	MaxEmailBytes   = 254 // RFC 5321's limit on a forward path
	MaxLocaleBytes  = 35  // the longest BCP 47 tags in practice
	MaxZoneBytes    = 64
	MaxReasonBytes  = 1000 // mute reason, borrower.ceased reason, template note

	MaxBlackouts      = 24
	MaxInstallments   = 520 // weekly for ten years
	MaxAgreementLoans = 100

	// MaxLoansPerBorrower caps a borrower's loan list, which every
	// loan.updated for a new loan grows and nothing shrinks.
	MaxLoansPerBorrower = 500
	// MaxActiveMutes caps a borrower's mutes that have not expired;
	// expired ones are pruned at every suppression write.
	MaxActiveMutes = 50
	// MaxActiveAgreements caps a borrower's agreement holds.
	MaxActiveAgreements = 50
)

// Dates forbear accepts for due dates and instalments. Real loans fall well
// inside; a date far outside (0001-01-01 from a zero value in a backend,
// say) makes the scheduler count years of steps, so it is refused at the
// door rather than absorbed there.
var (
	minDueDate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDueDate = time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
)

// checkInstant parses an RFC 3339 date-time within the dates forbear
// accepts.
func checkInstant(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, invalid(field, "must be an RFC 3339 date-time like 2026-05-05T09:30:00+08:00, got %s", short(s))
	}
	if t.Before(minDueDate) || t.After(maxDueDate) {
		return time.Time{}, invalid(field, "%s is outside %s..%s", short(s), minDueDate.Format(time.DateOnly), maxDueDate.Format(time.DateOnly))
	}
	return t, nil
}

// maxClockSkew is how far ahead of forbear's clock a date-time the lender
// reports (a consent, a number check) may be: clocks differ a little, but
// a consent from the future would stretch what it allows.
const maxClockSkew = 5 * time.Minute

// consentKeep is how long a consent is kept on the borrower's record: more
// than any rule looks back (the 60 days of a number check).
const consentKeep = 90 * 24 * time.Hour

// maxMuteSpan is the furthest a mute's until may lie ahead. A mute meant to
// last longer is one without until (it lasts until deleted).
const maxMuteSpan = 10 * 366 * 24 * time.Hour

// Codes of FieldError besides invalid_field.
const (
	// CodeNotFound is a reference to a loan or agreement forbear does not
	// know (HTTP 404).
	CodeNotFound = "not_found"
	// CodeLimitReached is a write refused because the borrower's record is
	// full: too many loans, active mutes or agreements (HTTP 409).
	CodeLimitReached = "limit_reached"
)

// BatchError is the failure of event Index of a request (one event or a
// batch). Events are applied in order, so Applied events, those before
// Index, were applied (and held for where they suppress) before the error
// was returned; a validation failure applies none.
type BatchError struct {
	Index   int
	Applied int
	Err     error
}

func (e *BatchError) Error() string { return fmt.Sprintf("event %d: %v", e.Index, e.Err) }

func (e *BatchError) Unwrap() error { return e.Err }

// atIndex wraps err as the failure of event i of n after applied events
// were applied; in a batch (n > 1) a field error's field gets the prefix
// "[i].".
func atIndex(i, n, applied int, err error) error {
	if fe, ok := err.(*FieldError); ok && n > 1 {
		prefixed := *fe
		prefixed.Field = fmt.Sprintf("[%d].%s", i, fe.Field)
		err = &prefixed
	}
	return &BatchError{Index: i, Applied: applied, Err: err}
}

// short quotes s for an error message, cut to a few dozen characters: a
// message names what was wrong without echoing megabytes back.
func short(s string) string {
	const keep = 40
	if utf8.RuneCountInString(s) <= keep {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q (%d bytes)", string(r[:keep])+"…", len(s))
}

// checkID checks a required id: present, at most max bytes, printable.
func checkID(field, id string, max int) error {
	if strings.TrimSpace(id) == "" {
		return invalid(field, "is required")
	}
	return checkText(field, id, max, false)
}

// checkText checks an optional text field: at most max bytes, valid UTF-8,
// no control or format characters (zero-width and direction marks hide
// what an id or a name really is). multiline allows newlines and tabs.
func checkText(field, s string, max int, multiline bool) error {
	if len(s) > max {
		return invalid(field, "is %d bytes, more than the %d allowed", len(s), max)
	}
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8")
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return invalid(field, "contains a control or format character (%U)", r)
		}
	}
	return nil
}

// checkDate checks a YYYY-MM-DD date within [minDueDate, maxDueDate].
func checkDate(field, s string) error {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return invalid(field, "must be a date YYYY-MM-DD, got %s", short(s))
	}
	if d.Before(minDueDate) || d.After(maxDueDate) {
		return invalid(field, "%s is outside %s..%s", s, minDueDate.Format(time.DateOnly), maxDueDate.Format(time.DateOnly))
	}
	return nil
}

// amountRe is a non-negative decimal with at most 12 integer digits (under
// a trillion, more than any single loan) and 4 decimals.
var amountRe = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,4})?$`)

// checkAmount checks a decimal string amount; positive demands more than
// zero.
func checkAmount(field, s string, positive bool) error {
	if strings.HasPrefix(s, "-") {
		return invalid(field, "must not be negative, got %s", short(s))
	}
	if !amountRe.MatchString(s) {
		return invalid(field, "must be a decimal string like \"1200.00\" below a trillion, got %s", short(s))
	}
	if positive && isZero(s) {
		return invalid(field, "must be more than zero")
	}
	return nil
}

// zoneRe is an IANA region zone: Area/Location or Area/Region/Location.
// Legacy names (EST5EDT, US/Eastern, PRC), Etc/ offsets, Factory and Local
// are refused: a borrower lives in a region, and the zone database keeps
// those names only for backward compatibility.
var zoneRe = regexp.MustCompile(`^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)(/[A-Za-z0-9_+-]+){1,2}$`)

func checkZone(field, name string) error {
	if len(name) > MaxZoneBytes {
		return invalid(field, "is %d bytes, more than the %d allowed", len(name), MaxZoneBytes)
	}
	if name != "UTC" && !zoneRe.MatchString(name) {
		return invalid(field, "%s is not an IANA region zone like Asia/Shanghai (or UTC)", short(name))
	}
	if _, err := tz.Load(name); err != nil {
		return invalid(field, "%s is not a known IANA time zone", short(name))
	}
	return nil
}

func checkCurrency(field, code string) error {
	if !iso4217[code] {
		return invalid(field, "must be an active ISO 4217 currency code like CNY, got %s", short(code))
	}
	return nil
}

// iso4217 holds the active ISO 4217 currency codes money is lent in: the
// list without precious metals (XAU, XAG, XPD, XPT), bond and accounting
// units (XBA-XBD, XDR, XSU, XUA) and the test and no-currency codes (XTS,
// XXX). Codes ISO has withdrawn (HRK, BGN, ANG, SLL, ZWL, CUC, VEF, ...)
// are refused: a loan in one has been converted by its lender. Fund codes
// (CLF, UYI, ...) stay: loans are indexed in them.
var iso4217 = func() map[string]bool {
	const codes = `AED AFN ALL AMD AOA ARS AUD AWG AZN
		BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
		CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK
		DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
		GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF
		IDR ILS INR IQD IRR ISK JMD JOD JPY
		KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
		MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN
		NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
		RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL
		THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS
		VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG`
	m := map[string]bool{}
	for _, c := range strings.Fields(codes) {
		m[c] = true
	}
	return m
}()
