package retention

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
)

// The borrower's in-app inbox (store.InboxBucket, written by
// channels/inapp) holds each message's text, personal data like the
// trail's, and nothing else ever removes it: when handle purges a
// borrower's trail it purges the borrower's inbox keys too, in one purge
// of the inbox's stream.
//
// Like the trail, the inbox is purged up to a sequence, not whole: the
// stream's last sequence, taken before the borrower's newest record is
// read. An in-app send writes its message before its record, so:
//   - a message written after the bound stays. Its record is written later
//     still: if the read sees it, the borrower is active and nothing goes;
//     if not, it lands after the read, outlives the trail's purge (which
//     stops at the record read) and touches the index, so a later run
//     finds the borrower again, message and all.
//   - a message written before the bound whose record the read saw is as
//     old as the trail (the read found nothing newer than the cutoff) and
//     goes with it.
//   - what remains is a send that straddles both reads: its message lands
//     before the bound and its record after the read. The message goes and
//     its record stays. It takes a message sent to a borrower idle past the
//     age within the moment between the two reads.
//
// Taking the bound after the read instead would widen that window to every
// message written between the read and the bound, and taking none would
// remove any message written up to the purge itself.

// inboxLastSeq is the inbox stream's last sequence: how far a purge of a
// borrower's inbox reaches.
func (p *Purger) inboxLastSeq(ctx context.Context) (uint64, error) {
	info, err := p.inbox.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("retention: read stream %s: %w", store.KVStream(store.InboxBucket), err)
	}
	return info.State.LastSeq, nil
}

// purgeInbox removes the borrower's in-app messages up to and including
// sequence through, leaving no marker behind.
func (p *Purger) purgeInbox(ctx context.Context, borrower string, through uint64) error {
	filter := store.KVSubject(store.InboxBucket, store.InboxBorrowerKeys(borrower))
	if err := p.inbox.Purge(ctx, jetstream.WithPurgeSubject(filter), jetstream.WithPurgeSequence(through+1)); err != nil {
		return fmt.Errorf("retention: purge the inbox of %s: %w", borrower, err)
	}
	return nil
}
