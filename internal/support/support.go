package support

import (
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/scheduler"
)

// Options are a Service's dependencies; all but Log are required.
type Options struct {
	State *store.State
	// Ledger is the contact ledger, and the compliance rules it decides
	// with.
	Ledger   *dispatcher.Ledger
	Policies scheduler.Policies
	// AgreementPolicy is the policy of agreements that name none
	// (agreements.policy).
	AgreementPolicy string
	// DefaultZone is the zone of borrowers without one
	// (scheduler.timezone).
	DefaultZone *time.Location
	// PhoneRegion reads numbers typed without a country code
	// (console.phone_region).
	PhoneRegion string
	// Clock is the instance's clock: the one reminders are scheduled and
	// decided on.
	Clock clock.Clock
	// Records is the audit trail exports read (OpenExport); optional.
	Records Records
	Log     *logrus.Entry
}

// Service answers support questions about borrowers.
type Service struct {
	o Options
}

// New returns a Service.
func New(o Options) *Service {
	if o.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		o.Log = logrus.NewEntry(l)
	}
	return &Service{o: o}
}
