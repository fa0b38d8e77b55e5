package simulate

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/domain"
)

// Source gives a population's borrowers by index, so that a run holds only
// the borrowers its workers are simulating: a generated population is
// never built whole.
type Source interface {
	Len() int
	Borrower(i int) Borrower
}

// Len implements Source.
func (p Population) Len() int { return len(p.Borrowers) }

// Borrower implements Source.
func (p Population) Borrower(i int) Borrower { return p.Borrowers[i] }

// Generated is a population made up from a seed: N borrowers whose
// borrower i is always the same for the same seed and start. See
// Generated.Borrower for its make-up.
type Generated struct {
	N     int
	Seed  uint64
	Start time.Time // the run's start: due dates lie around it
}

// Len implements Source.
func (g Generated) Len() int { return g.N }

// country is where a generated borrower's phone number is from.
type country struct {
	code, zone, locale, currency string
	share                        int // in percent
	areas                        []string
	areaZones                    []string
}

// countries of generated borrowers, by share.
var countries = []country{
	{code: "86", zone: "Asia/Shanghai", locale: "zh-CN", currency: "CNY", share: 40},
	{code: "1", locale: "en-US", currency: "USD", share: 25,
		areas:     []string{"212", "312", "303", "415", "602", "808"},
		areaZones: []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix", "Pacific/Honolulu"}},
	{code: "44", zone: "Europe/London", locale: "en-US", currency: "GBP", share: 10},
	{code: "91", zone: "Asia/Kolkata", locale: "en-US", currency: "INR", share: 10},
	{code: "49", zone: "Europe/Berlin", locale: "en-US", currency: "EUR", share: 10},
	{code: "65", zone: "Asia/Singapore", locale: "en-US", currency: "SGD", share: 5},
}

// Borrower implements Source. A generated borrower has a phone number of
// one of six countries (China 40%, the US 25% over six area codes and
// zones, the UK, India and Germany 10% each, Singapore 5%); the zone of
// that number stored (80%), none stored (10%: the default zone applies),
// or another country's (10%: a borrower abroad, held to both windows); an
// email address (80%); a voice blackout 12:00-14:00 (5%); one loan (80%)
// or two, due between 30 days before the start and 60 after, overdue when
// already due. Of the loans, 55% are paid between 2 days before and 25
// days after their due date, 20% between 26 and 150 days after it, 10% get
// an instalment agreement (three monthly instalments) 5 to 20 days after
// it, and 15% stay unpaid.
//
// What the lender knows of the number (drawn last, so that the rest of a
// borrower is the same as before these were drawn): its kind is given as
// mobile (70%), home (5%) or work (5%), or not given (20%: the rules read
// the number's type); it was checked (a reassigned-number check, 70%, or
// the borrower's confirmation, 30%) within the 60 days before the start
// (55%), 60 days to a year before it (20%), or never (25%). No check is
// renewed during the run, so under us-regf an SMS to a number whose check
// is over 60 days old is held (number_check), as it would be live.
func (g Generated) Borrower(i int) Borrower {
	r := rand.New(rand.NewPCG(g.Seed, uint64(i)))
	pick := r.IntN(100)
	c := countries[len(countries)-1]
	for _, cc := range countries {
		if pick < cc.share {
			c = cc
			break
		}
		pick -= cc.share
	}
	zone, phone := c.zone, "+"+c.code
	if c.areas != nil {
		a := r.IntN(len(c.areas))
		zone, phone = c.areaZones[a], phone+c.areas[a]+fmt.Sprintf("555%04d", r.IntN(10000))
	} else {
		phone += fmt.Sprintf("%09d", r.IntN(1_000_000_000))
		if c.code == "86" {
			phone = fmt.Sprintf("+861%d%09d", 3+r.IntN(6), r.IntN(1_000_000_000))
		}
	}
	id := fmt.Sprintf("b%07d", i)
	b := Borrower{BorrowerData: intake.BorrowerData{BorrowerID: id, Name: fmt.Sprintf("Borrower %d", i), Locale: c.locale, Phone: phone}}
	switch z := r.IntN(10); {
	case z == 0:
		// no zone stored: scheduler.timezone applies
	case z == 1:
		b.Timezone = countries[r.IntN(len(countries))].zoneOr("Europe/Paris")
	default:
		b.Timezone = zone
	}
	if r.IntN(10) < 8 {
		b.Email = id + "@example.com"
	}
	if r.IntN(20) == 0 {
		b.Blackouts = []domain.Blackout{{Start: "12:00", End: "14:00", Channels: []domain.Channel{domain.Voice}}}
	}
	loans := 1
	if r.IntN(5) == 0 {
		loans = 2
	}
	startDay := time.Date(g.Start.Year(), g.Start.Month(), g.Start.Day(), 0, 0, 0, 0, time.UTC)
	for j := range loans {
		due := startDay.AddDate(0, 0, r.IntN(91)-30)
		status := domain.LoanCurrent
		if due.Before(startDay) {
			status = domain.LoanOverdue
		}
		l := Loan{LoanData: intake.LoanData{BorrowerID: id, LoanID: fmt.Sprintf("%s-L%d", id, j+1), DueDate: due.Format(time.DateOnly),
			AmountDue: fmt.Sprintf("%d.%02d", 100+r.IntN(5000), r.IntN(100)), Currency: c.currency, Status: status}}
		switch fate := r.IntN(100); {
		case fate < 55:
			l.PaidOn = due.AddDate(0, 0, r.IntN(28)-2).Format(time.DateOnly)
		case fate < 75:
			l.PaidOn = due.AddDate(0, 0, 26+r.IntN(125)).Format(time.DateOnly)
		case fate < 85:
			on := due.AddDate(0, 0, 5+r.IntN(16))
			a := Agreement{AgreementData: intake.AgreementData{BorrowerID: id, AgreementID: l.LoanID + "-A", Kind: "installment",
				LoanIDs: []string{l.LoanID}}, ActivatedOn: on.Format(time.DateOnly)}
			for k := 1; k <= 3; k++ {
				a.Installments = append(a.Installments, domain.Installment{DueDate: on.AddDate(0, k, 0).Format(time.DateOnly), Amount: "100.00"})
			}
			b.Agreements = append(b.Agreements, a)
		}
		b.Loans = append(b.Loans, l)
	}
	switch k := r.IntN(100); {
	case k < 70:
		b.PhoneKind = domain.PhoneMobile
	case k < 75:
		b.PhoneKind = domain.PhoneHome
	case k < 80:
		b.PhoneKind = domain.PhoneWork
	}
	var ago time.Duration
	switch checked := r.IntN(100); {
	case checked < 55:
		ago = time.Duration(1+r.IntN(60*24-1)) * time.Hour
	case checked < 75:
		ago = time.Duration(60*24+r.IntN(305*24)) * time.Hour
	}
	how := domain.PhoneCheckReassigned
	if r.IntN(10) < 3 {
		how = domain.PhoneCheckConsent
	}
	if ago > 0 {
		b.PhoneCheckedAt, b.PhoneCheck = startDay.Add(-ago).Format(time.RFC3339), how
	}
	return b
}

// zoneOr is the country's zone, or def for a country of several zones.
func (c country) zoneOr(def string) string {
	if c.zone == "" {
		return def
	}
	return c.zone
}
