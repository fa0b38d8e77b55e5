package intake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
)

// Consumer is the durable consumer of forbear.events.>.
const Consumer = "forbear-intake"

// DLQ headers on forbear.dlq.events.
const (
	HeaderDLQReason  = "Forbear-Dlq-Reason"
	HeaderDLQField   = "Forbear-Dlq-Field"
	HeaderDLQSubject = "Forbear-Dlq-Subject"
)

// ConsumeEvents applies events published on JetStream, in order (one in
// flight across every instance), until ctx ends. A bad event is terminated
// and kept on forbear.dlq.events with its reason; a failure to apply a good
// one is retried.
func (in *Intake) ConsumeEvents(ctx context.Context, js jetstream.JetStream) (stop func(), err error) {
	cons, err := js.CreateOrUpdateConsumer(ctx, store.EventsStream, jetstream.ConsumerConfig{
		Durable:       Consumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 1, // applied in order
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, fmt.Errorf("intake: consumer: %w", err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { in.handleNATS(ctx, js, m) })
	if err != nil {
		return nil, fmt.Errorf("intake: consume: %w", err)
	}
	return cc.Drain, nil
}

func (in *Intake) handleNATS(ctx context.Context, js jetstream.JetStream, m jetstream.Msg) {
	ev, typeField, verr := decodeNATSEvent(m.Headers(), m.Data())
	if want := strings.TrimPrefix(m.Subject(), store.EventsPrefix); verr == nil && want != ev.Type {
		verr = invalid(typeField, "event type %q published on subject for %q", ev.Type, want)
	}
	if verr == nil {
		hold, err := in.apply(ctx, ev)
		var fe *FieldError
		switch {
		case err == nil:
			// A suppression is acknowledged like one over HTTP: after its
			// hold. Cut short (shutdown), the event is redelivered, and the
			// repeat is held again.
			if hold {
				if err := in.fence.Hold(ctx); err != nil {
					_ = m.Nak()
					return
				}
			}
			_ = m.Ack()
			return
		case errors.As(err, &fe):
			verr = err
		default:
			in.log.WithError(err).WithField("event_id", ev.ID).Warn("event not applied; will retry")
			_ = m.NakWithDelay(2 * time.Second)
			return
		}
	}
	in.deadLetter(ctx, js, m, verr)
}

func (in *Intake) deadLetter(ctx context.Context, js jetstream.JetStream, m jetstream.Msg, reason error) {
	out := nats.NewMsg(store.DLQEventsSubject)
	out.Data = m.Data()
	// Keep the event's own headers (a binary-mode event's attributes are
	// its ce- headers), not JetStream's control headers, which could make
	// the dead-letter publish fail or be taken as a duplicate.
	for k, v := range m.Headers() {
		if !strings.HasPrefix(strings.ToLower(k), "nats-") {
			out.Header[k] = v
		}
	}
	out.Header.Set(HeaderDLQReason, reason.Error())
	out.Header.Set(HeaderDLQSubject, m.Subject())
	var fe *FieldError
	if errors.As(reason, &fe) {
		out.Header.Set(HeaderDLQField, fe.Field)
	}
	if _, err := js.PublishMsg(ctx, out); err != nil {
		// Keep the event rather than lose it: retry later.
		in.log.WithError(err).Error("dead-letter publish failed; will retry the event")
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	in.observe("invalid", "dlq")
	in.log.WithField("reason", reason.Error()).Warn("bad event moved to forbear.dlq.events")
	_ = m.Term()
}
