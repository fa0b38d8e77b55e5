// Package inapp is the in-app inbox: one JetStream KV bucket
// (store.InboxBucket) holding a message per borrower and reminder under the
// key <Token(borrower)>.<Token(reminder id)>.
//
// Delivering is a KV Create, so a reminder that is sent again (after a
// worker crash, a redelivery) finds its key and never makes a second
// message. Borrower apps read the inbox over the HTTP API (List reads the
// bucket's stream by subject, with no watcher) or follow it live, as a
// channel (Stream) and as server-sent events (ServeStream); every live
// stream of an Inbox shares one KV watcher.
//
// Nothing here removes a message: the retention purge (internal/retention)
// removes a borrower's messages with the borrower's audit trail, by the
// borrower's keys (store.InboxBorrowerKeys).
package inapp
