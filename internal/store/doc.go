// Package store names and creates forbear's JetStream streams and KV
// buckets, encodes ids into subject and key tokens, and gives typed access
// to the state that several packages read: borrowers, cases, agreements and
// suppressions.
package store
