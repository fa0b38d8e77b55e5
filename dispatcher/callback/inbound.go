package callback

import (
	"context"
	"strings"

	"github.com/forbear/forbear/internal/ground/domain"
)

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
	// Opt-outs are suppressions: the answer waits for the fence.
	opt := domain.OptOut{Channel: domain.SMS, Address: from, Source: "inbound " + strings.TrimSpace(body), At: o.Clock.Now()}
	if err := o.Intake.OptOutAllNow(ctx, ids, opt); err != nil {
		return "", err
	}
	locale := ""
	for _, id := range ids {
		if b, err := o.State.Borrower(ctx, id); err == nil && locale == "" {
			locale = b.Locale
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
