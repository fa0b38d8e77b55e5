// Package bench is `forbear bench`: in one run it measures the raw
// JetStream ceiling of this machine (publish plus consume with ack), forbear
// end to end on the same machine (sweep, worker, fence, sandbox provider,
// audit record), their ratio, fence latency percentiles, peak RSS, and the
// cost of a sweep with a million open cases and nothing due.
package bench
