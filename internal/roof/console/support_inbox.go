package console

import (
	"net/http"
	"time"

	"github.com/forbear/forbear/channels/inapp"
)

// maxInboxShown bounds the messages the inbox page shows: the newest.
const maxInboxShown = 200

// inboxView is the borrower's in-app inbox as their app shows it.
type inboxView struct {
	BorrowerID, BorrowerName, BorrowerHref string
	// Loc is the borrower's zone: the app shows times in it.
	Loc      *time.Location
	Messages []inapp.Message
	Unread   int
	// MoreThan > 0: the inbox holds more than the MoreThan shown.
	MoreThan int
}

// getInbox is the borrower's in-app inbox (inapp.Inbox.List, as GET
// /v1/borrowers/{id}/inbox), newest first, read and unread as the borrower
// left them.
func (c *Console) getInbox(w http.ResponseWriter, r *http.Request, rq *request) {
	ib := c.o.Support.Inbox
	if ib == nil {
		c.fail(w, rq, http.StatusNotFound)
		return
	}
	v, err := c.o.Support.Borrowers.Borrower(r.Context(), r.PathValue("id"))
	if err != nil {
		c.supportFailure(w, r, rq, err)
		return
	}
	msgs, err := ib.List(r.Context(), v.ID)
	if err != nil {
		c.supportFailure(w, r, rq, err)
		return
	}
	view := inboxView{BorrowerID: v.ID, BorrowerName: v.Name, BorrowerHref: borrowerPath(v.ID), Loc: zoneOf(v.Zone)}
	for _, m := range msgs {
		if !m.Read {
			view.Unread++
		}
	}
	if len(msgs) > maxInboxShown {
		msgs, view.MoreThan = msgs[:maxInboxShown], maxInboxShown
	}
	mask := maskerFor(v.Borrower, v.Suppressions, nil)
	for _, m := range msgs {
		m.Title, m.Body = mask.text(m.Title), mask.text(m.Body)
		view.Messages = append(view.Messages, m)
	}
	c.render(w, rq, http.StatusOK, "inbox", rq.Lang.T("inbox.title", v.Name), view)
}
