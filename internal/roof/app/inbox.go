package app

import (
	"context"
	"errors"
	"net/http"

	"github.com/forbear/forbear/channels/inapp"
	"github.com/forbear/forbear/dispatcher/intake"
)

// inboxAPI adapts the in-app inbox to the HTTP API.
type inboxAPI struct{ inbox *inapp.Inbox }

func (i inboxAPI) ListJSON(ctx context.Context, borrowerID string) (any, error) {
	return i.inbox.List(ctx, borrowerID)
}

func (i inboxAPI) MarkRead(ctx context.Context, borrowerID, messageID string) error {
	err := i.inbox.MarkRead(ctx, borrowerID, messageID)
	if errors.Is(err, inapp.ErrNotFound) {
		return intake.ErrNotFound
	}
	return err
}

func (i inboxAPI) ServeStream(w http.ResponseWriter, r *http.Request, borrowerID string) {
	i.inbox.ServeStream(w, r, borrowerID)
}
