package intake_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit"
)

// TestParseConsentAndPhoneFacts: borrower.consented and the phone fields
// of borrower.upserted are checked whole, each refusal naming its field.
func TestParseConsentAndPhoneFacts(t *testing.T) {
	t.Parallel()
	envelope := func(typ, data string) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":"e","source":"s","type":%q,"data":%s}`, typ, data)
	}
	consent := func(data map[string]any) string { return envelope("borrower.consented", mustJSON(data)) }
	borrower := func(data map[string]any) string {
		d := map[string]any{"borrower_id": "b", "name": "Ann", "locale": "en-US", "timezone": "America/New_York", "phone": "+12125550100"}
		for k, v := range data {
			d[k] = v
		}
		return envelope("borrower.upserted", mustJSON(d))
	}
	tests := []struct {
		name      string
		body      string
		wantField string // "" means valid
	}{
		{"consent to calls", consent(map[string]any{"borrower_id": "b", "channel": "voice"}), ""},
		{"consent to SMS at a time", consent(map[string]any{"borrower_id": "b", "channel": "sms", "at": "2026-05-01T09:30:00-04:00"}), ""},
		{"consent without borrower", consent(map[string]any{"channel": "voice"}), "data.borrower_id"},
		{"consent to email", consent(map[string]any{"borrower_id": "b", "channel": "email"}), "data.channel"},
		{"consent without channel", consent(map[string]any{"borrower_id": "b"}), "data.channel"},
		{"consent at a date only", consent(map[string]any{"borrower_id": "b", "channel": "voice", "at": "2026-05-01"}), "data.at"},
		{"consent at year 1", consent(map[string]any{"borrower_id": "b", "channel": "voice", "at": "0001-01-01T00:00:00Z"}), "data.at"},
		{"consent at a number", consent(map[string]any{"borrower_id": "b", "channel": "voice", "at": 1746000000}), "data.at"},
		{"phone kind", borrower(map[string]any{"phone_kind": "work"}), ""},
		{"unknown phone kind", borrower(map[string]any{"phone_kind": "pager"}), "data.phone_kind"},
		{"phone kind without phone", borrower(map[string]any{"phone": "", "phone_kind": "mobile"}), "data.phone_kind"},
		{"phone check", borrower(map[string]any{"phone_checked_at": "2026-05-01T00:00:00Z", "phone_check": "reassigned_number_check"}), ""},
		{"phone check by consent", borrower(map[string]any{"phone_checked_at": "2026-05-01T00:00:00Z", "phone_check": "consent"}), ""},
		{"phone check without how", borrower(map[string]any{"phone_checked_at": "2026-05-01T00:00:00Z"}), "data.phone_check"},
		{"phone check without when", borrower(map[string]any{"phone_check": "consent"}), "data.phone_checked_at"},
		{"phone check of another kind", borrower(map[string]any{"phone_checked_at": "2026-05-01T00:00:00Z", "phone_check": "hunch"}), "data.phone_check"},
		{"phone check that is no time", borrower(map[string]any{"phone_checked_at": "yesterday", "phone_check": "consent"}), "data.phone_checked_at"},
		{"phone check without phone", borrower(map[string]any{"phone": "", "phone_checked_at": "2026-05-01T00:00:00Z", "phone_check": "consent"}), "data.phone_checked_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := intake.ParseEvents([]byte(tt.body))
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe *intake.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField || fe.Code != "invalid_field" {
				t.Fatalf("err = %v, want an invalid_field error on %q", err, tt.wantField)
			}
		})
	}
}

// TestConsentIsKeptOnTheBorrower: a consent lands on the borrower's record
// at the time it says, else the event's time, else now; one from the
// future is refused; a consent before the borrower is known is kept; the
// list stays bounded.
func TestConsentIsKeptOnTheBorrower(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	now := b.clock.Now()
	evTime := now.Add(-2 * time.Hour)
	withTime := event("c2", intake.TypeBorrowerConsented, map[string]string{"borrower_id": "b1", "channel": "sms"})
	withTime.Time = &evTime
	events := []intake.Event{
		borrowerEvent("u1", "b1"),
		event("c1", intake.TypeBorrowerConsented, map[string]string{"borrower_id": "b1", "channel": "voice", "at": "2026-11-19T09:00:00+08:00"}),
		withTime,
		event("c3", intake.TypeBorrowerConsented, map[string]string{"borrower_id": "b1", "channel": "voice"}),
	}
	if err := b.intake.Apply(ctx, events); err != nil {
		t.Fatal(err)
	}
	got, err := b.state.Borrower(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Consent{
		{Channel: domain.Voice, At: time.Date(2026, 11, 19, 1, 0, 0, 0, time.UTC)},
		{Channel: domain.SMS, At: evTime},
		{Channel: domain.Voice, At: now},
	}
	if len(got.Consents) != len(want) {
		t.Fatalf("consents %+v, want %+v", got.Consents, want)
	}
	for i := range want {
		if got.Consents[i].Channel != want[i].Channel || !got.Consents[i].At.Equal(want[i].At) {
			t.Errorf("consent %d = %+v, want %+v", i, got.Consents[i], want[i])
		}
	}
	if got.Name != "Li Lei" || got.Phone == "" {
		t.Errorf("the consent changed the profile: %+v", got)
	}

	// From the future: refused, naming the field, nothing stored.
	future := event("c4", intake.TypeBorrowerConsented, map[string]string{"borrower_id": "b1", "channel": "voice", "at": now.Add(time.Hour).Format(time.RFC3339)})
	var fe *intake.FieldError
	if err := b.intake.Apply(ctx, []intake.Event{future}); !errors.As(err, &fe) || fe.Field != "data.at" {
		t.Fatalf("future consent: %v, want a field error on data.at", err)
	}
	futureEvent := event("c5", intake.TypeBorrowerConsented, map[string]string{"borrower_id": "b1", "channel": "voice"})
	later := now.Add(time.Hour)
	futureEvent.Time = &later
	if err := b.intake.Apply(ctx, []intake.Event{futureEvent}); !errors.As(err, &fe) || fe.Field != "time" {
		t.Fatalf("consent in an event from the future: %v, want a field error on time", err)
	}

	// Before the borrower: kept on a stub, the profile added later.
	if err := b.intake.Apply(ctx, []intake.Event{event("c6", intake.TypeBorrowerConsented, map[string]string{"borrower_id": "b2", "channel": "voice"}),
		borrowerEvent("u2", "b2")}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.state.Borrower(ctx, "b2"); err != nil || len(got.Consents) != 1 || got.Name != "Li Lei" {
		t.Fatalf("b2 = %+v, %v; want the consent and the profile", got, err)
	}

	// Bounded: many consents keep the newest domain.MaxConsents.
	var many []intake.Event
	for i := range domain.MaxConsents + 5 {
		many = append(many, event(fmt.Sprint("m", i), intake.TypeBorrowerConsented, map[string]string{
			"borrower_id": "b3", "channel": "voice", "at": now.Add(-time.Duration(40-i) * time.Hour).Format(time.RFC3339)}))
	}
	if err := b.intake.Apply(ctx, many); err != nil {
		t.Fatal(err)
	}
	got, err = b.state.Borrower(ctx, "b3")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Consents) != domain.MaxConsents || !got.Consents[len(got.Consents)-1].At.Equal(now.Add(-time.Duration(40-domain.MaxConsents-4)*time.Hour)) {
		t.Fatalf("%d consents, last %v; want the newest %d", len(got.Consents), got.Consents[len(got.Consents)-1].At, domain.MaxConsents)
	}
}

// TestPhoneCheckStaysWithTheNumber: a number check given is stored; an
// upsert without one keeps it while the number stays; a new number drops
// it and the consents to SMS (which confirmed the old number), not the
// consents to calls; a check from the future is refused.
func TestPhoneCheckStaysWithTheNumber(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	now := b.clock.Now()
	upsert := func(id, phone string, extra map[string]string) intake.Event {
		d := map[string]string{"borrower_id": "b1", "name": "Ann", "locale": "en-US", "timezone": "America/New_York", "phone": phone}
		for k, v := range extra {
			d[k] = v
		}
		return event(id, intake.TypeBorrowerUpserted, d)
	}
	checkedAt := now.Add(-24 * time.Hour).UTC()
	apply := func(evs ...intake.Event) domain.Borrower {
		t.Helper()
		if err := b.intake.Apply(ctx, evs); err != nil {
			t.Fatal(err)
		}
		got, err := b.state.Borrower(ctx, "b1")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := apply(upsert("u1", "+12125550100", map[string]string{"phone_kind": "mobile", "phone_checked_at": checkedAt.Format(time.RFC3339), "phone_check": "reassigned_number_check"}),
		event("c1", intake.TypeBorrowerConsented, map[string]string{"borrower_id": "b1", "channel": "sms"}),
		event("c2", intake.TypeBorrowerConsented, map[string]string{"borrower_id": "b1", "channel": "voice"}))
	if got.PhoneCheckedAt == nil || !got.PhoneCheckedAt.Equal(checkedAt) || got.PhoneCheck != domain.PhoneCheckReassigned || got.PhoneKind != domain.PhoneMobile {
		t.Fatalf("after the first upsert: %+v", got)
	}
	got = apply(upsert("u2", "+12125550100", nil))
	if got.PhoneCheckedAt == nil || got.PhoneKind != "" || len(got.Consents) != 2 {
		t.Fatalf("same number, no check given: %+v; want the check and both consents kept, the kind as given (none)", got)
	}
	got = apply(upsert("u3", "+12125550199", nil))
	if got.PhoneCheckedAt != nil || got.PhoneCheck != "" || len(got.Consents) != 1 || got.Consents[0].Channel != domain.Voice {
		t.Fatalf("new number: %+v; want no check and only the consent to calls", got)
	}
	var fe *intake.FieldError
	err := b.intake.Apply(ctx, []intake.Event{upsert("u4", "+12125550199", map[string]string{"phone_checked_at": now.Add(time.Hour).Format(time.RFC3339), "phone_check": "consent"})})
	if !errors.As(err, &fe) || fe.Field != "data.phone_checked_at" {
		t.Fatalf("check from the future: %v, want a field error on data.phone_checked_at", err)
	}
}
