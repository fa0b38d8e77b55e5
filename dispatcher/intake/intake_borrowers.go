package intake

import (
	"context"
	"slices"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// upsertBorrower creates or updates a borrower's profile; the loan list
// (kept by loan.updated) is left as stored.
func (in *Intake) upsertBorrower(ctx context.Context, d BorrowerData) error {
	var oldPhone, oldEmail string
	var loans []string
	now := in.clock.Now()
	_, err := in.updateBorrower(ctx, d.BorrowerID, now, func(b *domain.Borrower) (bool, error) {
		oldPhone, oldEmail, loans = b.Phone, b.Email, b.LoanIDs
		if err := d.ApplyTo(b, now); err != nil {
			return false, err
		}
		b.Updated = now
		return true, nil
	})
	if err != nil {
		return err
	}
	// The new number and address are indexed even when they are not new:
	// an earlier attempt of this event may have stored the borrower and
	// failed before the index (an index entry that already holds the
	// borrower is not written again).
	if err := in.state.IndexPhone(ctx, d.BorrowerID, oldPhone, d.Phone); err != nil {
		return err
	}
	if err := in.state.IndexEmail(ctx, d.BorrowerID, oldEmail, d.Email); err != nil {
		return err
	}
	// A new time zone moves every reminder of the borrower.
	return in.reindexLoans(ctx, loans)
}

// ApplyTo stores d on b as intake stores borrower.upserted at now: the
// profile (name, locale, zone, phone, email, blackouts), the phone kind,
// and the number's check (see applyPhoneCheck). A check dated after now,
// beyond the clock skew intake allows, is refused as intake refuses it.
// b's id, loans and time of update are left to the caller. The dry run
// builds its borrowers with it, so they carry what a live borrower would.
func (d BorrowerData) ApplyTo(b *domain.Borrower, now time.Time) error {
	var checked *time.Time
	if d.PhoneCheckedAt != "" {
		t, err := checkInstant("data.phone_checked_at", d.PhoneCheckedAt)
		if err != nil {
			return err
		}
		if t.After(now.Add(maxClockSkew)) {
			return invalid("data.phone_checked_at", "is in the future (%s)", t.Format(time.RFC3339))
		}
		checked = &t
	}
	oldPhone := b.Phone
	b.Name, b.Locale, b.Timezone, b.Phone, b.Email = d.Name, d.Locale, d.Timezone, d.Phone, d.Email
	b.Blackouts = d.Blackouts
	b.PhoneKind = d.PhoneKind
	applyPhoneCheck(b, oldPhone, checked, d.PhoneCheck)
	return nil
}

// applyPhoneCheck records what confirms b's number as the borrower's. A
// check given replaces the stored one; without one, the stored check
// stays while the number does. A new number (one that replaces another)
// drops the old number's check and the consents to SMS, which confirmed
// that number; consents to calls are about the calls and stay.
func applyPhoneCheck(b *domain.Borrower, oldPhone string, checked *time.Time, how string) {
	if oldPhone != "" && oldPhone != b.Phone {
		b.PhoneCheckedAt, b.PhoneCheck = nil, ""
		b.Consents = slices.DeleteFunc(b.Consents, func(c domain.Consent) bool { return c.Channel == domain.SMS })
	}
	if checked != nil {
		t := checked.UTC()
		b.PhoneCheckedAt, b.PhoneCheck = &t, how
	}
}

// consent records the borrower's consent to be contacted on a channel at
// d.At, or at the event's time, or now. A borrower not known yet is kept
// as a stub (as loan.updated does), so the order of events does not
// matter.
func (in *Intake) consent(ctx context.Context, d ConsentData, evTime *time.Time) error {
	now := in.clock.Now()
	at, field := now, "time"
	if evTime != nil {
		at = *evTime
	}
	if d.At != "" {
		t, err := checkInstant("data.at", d.At)
		if err != nil {
			return err
		}
		at, field = t, "data.at"
	}
	if at.After(now.Add(maxClockSkew)) {
		return invalid(field, "is in the future (%s): a consent counts from when it was given", at.Format(time.RFC3339))
	}
	c := domain.Consent{Channel: domain.Channel(d.Channel), At: at.UTC()}
	_, err := in.updateBorrower(ctx, d.BorrowerID, now, func(b *domain.Borrower) (bool, error) {
		b.Consents = AddConsent(b.Consents, c, now)
		b.Updated = now
		return true, nil
	})
	return err
}

// AddConsent adds c to a borrower's consents as intake stores
// borrower.consented at now, keeping the record bounded: consents older
// than consentKeep go, a repeat is stored once, and past
// domain.MaxConsents the oldest go first. The result is sorted by time,
// and list is left as it was. The dry run stores its borrowers' consents
// with it.
func AddConsent(list []domain.Consent, c domain.Consent, now time.Time) []domain.Consent {
	out := slices.DeleteFunc(slices.Clone(list), func(have domain.Consent) bool {
		return have.At.Before(now.Add(-consentKeep)) || have.Channel == c.Channel && have.At.Equal(c.At)
	})
	if !c.At.Before(now.Add(-consentKeep)) {
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b domain.Consent) int { return a.At.Compare(b.At) })
	if len(out) > domain.MaxConsents {
		out = out[len(out)-domain.MaxConsents:]
	}
	return out
}
