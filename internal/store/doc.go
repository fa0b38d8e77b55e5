// Package store names and creates forbear's JetStream streams and KV
// buckets, encodes ids into subject and key tokens, gives typed access to
// the state that several packages read (borrowers, cases, agreements and
// suppressions), and reads stored messages by subject without creating
// consumers (Reader).
package store
