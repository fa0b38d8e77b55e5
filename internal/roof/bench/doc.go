// Package bench is `forbear bench`. In one run it measures, on this
// machine:
//
//   - the raw JetStream ceiling (publish plus consume with ack);
//   - a sweep with many open cases and nothing due, on the instance the
//     end-to-end run then uses, and what those cases keep live on the heap
//     right after loading and after an idle wait;
//   - forbear end to end on that instance, carrying the open cases (one
//     sweep, the SMS worker, the fence, the sandbox provider, the audit
//     records), its ratio to the ceiling and the fence's wait per send;
//   - what that run stored and read, counted on the server: messages
//     appended per stream (exact, from each stream's last sequence) and
//     JetStream API requests that read (seen by a subscription on
//     $JS.API.>), per reminder and per stream;
//   - event in to first provider call on an idle instance: loan.updated
//     events through POST /v1/events, one at a time, to the moment the
//     sandbox provider's Send begins;
//   - the peak resident set of each of these phases.
//
// [Run] prints the figures as text, or as one JSON document
// ([Result]) so that runs can be compared.
package bench
