package compliance

import (
	"github.com/nyaruka/phonenumbers"

	"github.com/forbear/forbear/internal/ground/domain"
)

// phoneKind says what b's number is to b, for the rules that count by it
// (PhoneCaps): the kind the borrower gave (borrower.upserted phone_kind)
// or, where none was given, one read from the number's type in
// libphonenumber's data: a mobile number is "mobile", a fixed line "home",
// and a number the data cannot tell apart (every +1 number) "home or
// mobile". Any other type, or a number the data does not know, is
// "other", the stricter side. personal is true for home and mobile.
func phoneKind(b *domain.Borrower) (kind string, personal bool) {
	switch b.PhoneKind {
	case domain.PhoneMobile, domain.PhoneHome:
		return b.PhoneKind, true
	case domain.PhoneWork, domain.PhoneOther:
		return b.PhoneKind, false
	}
	n, err := phonenumbers.Parse(b.Phone, "")
	if err != nil {
		return domain.PhoneOther + " (number type unknown)", false
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE:
		return domain.PhoneMobile + " (number type)", true
	case phonenumbers.FIXED_LINE:
		return domain.PhoneHome + " (number type: fixed line)", true
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return "home or mobile (number type)", true
	}
	return domain.PhoneOther + " (number type)", false
}
