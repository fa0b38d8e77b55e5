package store

// WithBatch returns b with each GetMany request answering at most n keys,
// as the server does when an answer reaches its byte limit.
func WithBatch[T any](b Bucket[T], n int) Bucket[T] {
	b.batch = n
	return b
}
