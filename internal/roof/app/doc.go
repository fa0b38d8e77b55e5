// Package app assembles a forbear instance from its configuration: NATS
// (embedded or external), streams and buckets, the template store, the
// suppression fence, intake, the scheduler, one worker per channel, the
// support views and dashboard numbers (with this instance's heartbeat and
// delivery counts) and the HTTP API; and starts and stops them in order.
// cmd/forbear, the end-to-end tests and the benchmark all build instances
// through it.
package app
