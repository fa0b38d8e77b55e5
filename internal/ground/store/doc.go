// Package store names and creates forbear's JetStream streams and KV
// buckets, encodes ids into subject and key tokens, gives typed access to
// a bucket (Bucket: get, put, compare-and-set update, batch get) and to
// the state that several packages read (borrowers, cases, agreements and
// suppressions), and reads stored messages by subject without creating
// consumers (Reader). Packages read and write their buckets through
// Bucket, so none decodes KV values or the KV wire format by hand.
//
// Every change of stored state that depends on what is stored goes through
// Bucket.Update (or UpdateJSON, or a typed wrapper such as
// State.UpdateBorrower): a compare-and-set on the revision read, re-read
// from the stream leader when it loses, and refused before the write when
// the value would outgrow what NATS accepts (MaxValueBytes).
package store
