package compliance

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/domain"
)

// benchSetup is a typical send-path call: a borrower with a stored zone
// and a phone in another zone, a work-hours blackout, and about ten recent
// attempts over two loans.
func benchSetup(b testing.TB) (Rules, time.Time, domain.Borrower, Ledger) {
	rules := compile(b, config.Compliance{Preset: config.Presets{PresetUSRegF}}, loc(b, "America/New_York"))
	now := utc(b, "2026-07-10T18:00:00Z") // 14:00 New York, 11:00 Los Angeles
	// Stored numbers are E.164 (intake refuses anything else), which the
	// zone look-up reads without copying.
	bw := borrower("America/Los_Angeles", "+12125550100", domain.Blackout{Start: "22:00", End: "07:00", Channels: []domain.Channel{domain.Voice}})
	var l Ledger
	for i := range 10 {
		ch := []domain.Channel{domain.SMS, domain.Voice}[i%2]
		outcome := []string{OutcomeSent, OutcomeRang, OutcomeBusy, OutcomeVoicemail, OutcomeNoAnswer}[i%5]
		l.Attempts = append(l.Attempts, attempt(ch, []string{"L1", "L2"}[i%2], now.Add(-time.Duration(10-i)*15*time.Hour), outcome))
	}
	return rules, now, bw, l
}

func BenchmarkCheck(b *testing.B) {
	rules, now, bw, l := benchSetup(b)
	b.Run("allowed", func(b *testing.B) {
		rem := reminder(domain.Voice, "L3")
		if d := rules.Check(now, rem, bw, l); !d.Allowed {
			b.Fatalf("setup: %+v", d)
		}
		b.ReportAllocs()
		for b.Loop() {
			rules.Check(now, rem, bw, l)
		}
	})
	b.Run("deferred", func(b *testing.B) {
		rem := reminder(domain.Voice, "L3")
		late := now.Add(9 * time.Hour) // 23:00 New York
		if d := rules.Check(late, rem, bw, l); d.Status != domain.Deferred {
			b.Fatalf("setup: %+v", d)
		}
		b.ReportAllocs()
		for b.Loop() {
			rules.Check(late, rem, bw, l)
		}
	})
	b.Run("capped", func(b *testing.B) {
		rem := reminder(domain.SMS, "L1")
		l := l
		l.Attempts = append(l.Attempts[:len(l.Attempts):len(l.Attempts)],
			attempt(domain.SMS, "L1", now.Add(-5*time.Hour), OutcomeSent), attempt(domain.SMS, "L1", now.Add(-time.Hour), OutcomeSent), attempt(domain.SMS, "L1", now.Add(-time.Minute), OutcomeSent))
		if d := rules.Check(now, rem, bw, l); d.Status != domain.Capped {
			b.Fatalf("setup: %+v", d)
		}
		b.ReportAllocs()
		for b.Loop() {
			rules.Check(now, rem, bw, l)
		}
	})
}

// TestCheckAllowedDoesNotAllocate keeps the send path allocation-free.
func TestCheckAllowedDoesNotAllocate(t *testing.T) {
	rules, now, bw, l := benchSetup(t)
	rem := reminder(domain.Voice, "L3")
	if d := rules.Check(now, rem, bw, l); !d.Allowed {
		t.Fatalf("setup: %+v", d)
	}
	if n := testing.AllocsPerRun(200, func() { rules.Check(now, rem, bw, l) }); n != 0 {
		t.Fatalf("Check allocates %.0f times on the allowed path, want 0", n)
	}
}
