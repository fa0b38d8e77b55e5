package callback

import (
	"net/url"

	"github.com/forbear/forbear/internal/ground/domain"
)

// Query is the query string a reminder's status-callback URL
// carries, so that an outcome reported by the provider can be tied back to
// its reminder without a look-up table.
func Query(r domain.Reminder) string {
	return url.Values{
		"r": {r.ID}, "b": {r.BorrowerID}, "l": {r.LoanID}, "ch": {string(r.Channel)},
		"s": {r.Step}, "t": {r.Template}, "c": {string(r.Category)},
	}.Encode()
}

// reminderFromQuery reverses Query.
func reminderFromQuery(q url.Values) (domain.Reminder, bool) {
	r := domain.Reminder{ID: q.Get("r"), BorrowerID: q.Get("b"), LoanID: q.Get("l"), Channel: domain.Channel(q.Get("ch")),
		Step: q.Get("s"), Template: q.Get("t"), Category: domain.Category(q.Get("c"))}
	return r, r.ID != "" && r.BorrowerID != "" && r.Channel.Valid()
}
