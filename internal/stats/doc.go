// Package stats gathers the numbers of the ops dashboard, across every
// instance sharing one NATS:
//
//   - Counter counts the delivery records this instance writes (the audit
//     Recorder tells it about each one), by hour, channel and status, and
//     folds the counts every few seconds into the forbear_stats bucket,
//     one key per hour and instance, with compare-and-set. A fold that
//     fails keeps its counts and is tried again; one whose answer was lost
//     is recognised by its fold id and not added twice.
//   - Heartbeat keeps this instance's entry in the forbear_instances
//     bucket (name, host, version, start, HTTP address) fresh; the bucket's
//     short TTL drops an instance that died, and Stop deletes it at once.
//   - Reader.Read computes the whole dashboard in one place (the API's
//     GET /v1/stats and the console both call it): delivery counts for the
//     last 24 hours and 7 days, per hour for charts; deferred reminders
//     and when they come back; events refused to the dead-letter stream;
//     queue depth per channel; the instances that are up and which one
//     holds the sweep lease. Every read is a direct get or a single
//     request; none creates a consumer.
package stats
