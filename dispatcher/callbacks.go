package dispatcher

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/metrics"
	"github.com/forbear/forbear/internal/store"
)

// CallbackQuery is the query string a reminder's status-callback URL
// carries, so that an outcome reported by the provider can be tied back to
// its reminder without a look-up table.
func CallbackQuery(r domain.Reminder) string {
	return url.Values{
		"r": {r.ID}, "b": {r.BorrowerID}, "l": {r.LoanID}, "ch": {string(r.Channel)},
		"s": {r.Step}, "t": {r.Template}, "c": {string(r.Category)},
	}.Encode()
}

// reminderFromQuery reverses CallbackQuery.
func reminderFromQuery(q url.Values) (domain.Reminder, bool) {
	r := domain.Reminder{ID: q.Get("r"), BorrowerID: q.Get("b"), LoanID: q.Get("l"), Channel: domain.Channel(q.Get("ch")),
		Step: q.Get("s"), Template: q.Get("t"), Category: domain.Category(q.Get("c"))}
	return r, r.ID != "" && r.BorrowerID != "" && r.Channel.Valid()
}

// Outcomes sees what providers report after a send.
type Outcomes struct {
	Intake  *Intake
	Ledger  *Ledger
	Audit   *audit.Recorder
	State   *store.State
	Metrics *metrics.Metrics
	// Keywords opt a number out when an inbound SMS is exactly one of them
	// (case-insensitive, trimmed).
	Keywords []string
	// Confirmation is the one reply to an opt-out, by locale ("" none).
	Confirmation map[string]string
}

// Status applies a Twilio status callback (call or message). query is the
// callback URL's query (see CallbackQuery); form is Twilio's POST form.
func (o *Outcomes) Status(ctx context.Context, query, form url.Values) error {
	r, ok := reminderFromQuery(query)
	if !ok {
		return nil // not one of ours: nothing to tie it to
	}
	now := o.Intake.clock.Now()
	d := domain.NewDelivery(r, "", now)
	if callStatus := form.Get("CallStatus"); callStatus != "" {
		d.ProviderRef = form.Get("CallSid")
		secs, _ := strconv.Atoi(form.Get("CallDuration"))
		outcome := callStatus
		switch callStatus {
		case "completed":
			// A connected call is a conversation (spec §7): the ledger
			// blocks more calls about the loan for after_conversation.
			if secs > 0 {
				outcome = "connected"
				d.Status, d.Reason = domain.Delivered, "call connected, "+strconv.Itoa(secs)+"s"
			} else {
				outcome = "rang"
				d.Status, d.Reason = domain.Delivered, "call completed without a conversation"
			}
		case "busy", "failed", "no-answer", "canceled":
			d.Status, d.Reason = domain.Failed, "call "+callStatus
		default:
			return nil // queued, ringing, in-progress: not an outcome
		}
		if o.Ledger != nil {
			if err := o.Ledger.Outcome(ctx, r.BorrowerID, r.ID, outcome); err != nil {
				return err
			}
		}
	} else {
		d.ProviderRef = form.Get("MessageSid")
		switch form.Get("MessageStatus") {
		case "delivered":
			d.Status = domain.Delivered
		case "undelivered", "failed":
			code := form.Get("ErrorCode")
			d.Status, d.Reason = domain.Failed, "message "+form.Get("MessageStatus")+" "+code
			if code == "21610" {
				to := form.Get("To")
				if err := o.Intake.AddOptOut(ctx, r.BorrowerID, domain.OptOut{Channel: domain.SMS, Address: to, Source: "provider 21610", At: now}); err != nil {
					return err
				}
			}
			if o.Ledger != nil {
				if err := o.Ledger.Outcome(ctx, r.BorrowerID, r.ID, OutcomeFailed); err != nil {
					return err
				}
			}
		default:
			return nil
		}
	}
	o.Metrics.Delivery(string(r.Channel), string(d.Status))
	return o.Audit.Record(ctx, d)
}

// Inbound applies an incoming SMS. An opt-out keyword opts the sending
// number out of SMS for every borrower who has it, at once; the reply (one
// confirmation, possibly empty) is returned for the TwiML answer.
func (o *Outcomes) Inbound(ctx context.Context, from, body string) (reply string, err error) {
	if !o.isOptOut(body) {
		return "", nil
	}
	ids, err := o.State.BorrowersByPhone(ctx, from)
	if err != nil {
		return "", err
	}
	now := o.Intake.clock.Now()
	locale := ""
	for _, id := range ids {
		if err := o.Intake.AddOptOut(ctx, id, domain.OptOut{Channel: domain.SMS, Address: from, Source: "inbound " + strings.TrimSpace(body), At: now}); err != nil {
			return "", err
		}
		if b, err := o.State.Borrower(ctx, id); err == nil && locale == "" {
			locale = b.Locale
		}
	}
	if len(ids) > 0 {
		// Opt-outs are suppressions: the answer waits for the fence.
		if err := o.Intake.fence.Hold(ctx); err != nil {
			return "", err
		}
	}
	if c, ok := o.Confirmation[locale]; ok {
		return c, nil
	}
	return o.Confirmation["en-US"], nil
}

func (o *Outcomes) isOptOut(body string) bool {
	b := strings.TrimSpace(body)
	for _, k := range o.Keywords {
		if strings.EqualFold(b, k) {
			return true
		}
	}
	return false
}
