package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Reading stored messages by subject.
//
// A consumer made for one read (an ordered consumer, a KV watcher) stays on
// the server until its inactivity threshold and counts against the
// stream's consumer limit: about 1,000 reads in a row made every later read
// fail. Reader asks the stream for its stored messages instead (the
// JetStream direct get API, in batches, or the leader's message get), so a
// read leaves nothing behind on the server.

// Read limits.
const (
	// ReadBatch is the most messages one direct get request asks for.
	ReadBatch = 256
	// forwardSlack is how many more matching messages than wanted Last
	// reads through rather than searching for where the newest begin.
	forwardSlack = 4 * ReadBatch
	// maxProbes bounds Last's search over stream sequences (64 doublings
	// and 64 halvings cover every uint64 sequence).
	maxProbes = 130
)

// ErrReadLimit is returned by AllFromLeader and Each when more messages
// match than they may read.
var ErrReadLimit = errors.New("store: more messages match than the read allows")

// ErrNoDirectGet is returned when nothing answers a direct get: the stream
// does not exist or does not allow direct gets.
var ErrNoDirectGet = errors.New("store: no direct get responder")

// Header names of direct get answers.
const (
	statusHeader      = "Status"
	descriptionHeader = "Description"
	numPendingHeader  = "Nats-Num-Pending"
)

// Reader reads a stream's messages by subject without creating consumers.
// It is safe for concurrent use.
type Reader struct {
	nc  *nats.Conn
	api string // JetStream API prefix, ending in '.'
	// timeout bounds one request when ctx has no deadline.
	timeout time.Duration
}

// NewReader returns a Reader on js's connection and API prefix.
func NewReader(js jetstream.JetStream) *Reader {
	timeout := js.Options().DefaultTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Reader{nc: js.Conn(), api: apiPrefix(js), timeout: timeout}
}

// Last returns the newest n messages of stream whose subject matches filter
// (wildcards allowed), oldest first. The stream must allow direct gets.
//
// It costs about n/ReadBatch requests however long the subject's history:
// when far more than n messages match, it first finds where the newest n
// begin by asking how many match from a sequence on (a few dozen one-message
// requests at most).
//
// Direct gets may be answered by any replica of the stream, so on a cluster
// a message acknowledged a moment ago can be missing. Callers say why that
// is acceptable, or use AllFromLeader.
func (r *Reader) Last(ctx context.Context, stream, filter string, n int) ([]*jetstream.RawStreamMsg, error) {
	if n <= 0 {
		return nil, nil
	}
	// A whole batch first: most subjects fit in it, which makes the read
	// one request.
	first, pending, err := r.page(ctx, stream, filter, 0, ReadBatch)
	if err != nil || len(first) == 0 {
		return nil, err
	}
	out, from := first, first[len(first)-1].Sequence+1
	if pending == 0 {
		return newest(out, n), nil
	}
	if uint64(len(first))+pending > uint64(n+forwardSlack) {
		start, err := r.seek(ctx, stream, filter, first[0].Sequence, n)
		if err != nil {
			return nil, err
		}
		out, from = nil, start
	}
	// Messages published while we read are welcome up to the slack; the
	// bound keeps a busy subject from holding the read open.
	err = r.forward(ctx, stream, filter, from, n+forwardSlack, func(m *jetstream.RawStreamMsg) {
		out = append(out, m)
		if len(out) >= 2*n {
			out = append(out[:0], out[len(out)-n:]...)
		}
	})
	if err != nil {
		return nil, err
	}
	return newest(out, n), nil
}

// AllFromLeader returns every message of stream whose subject matches
// filter, oldest first, read from the stream leader: read-your-writes on a
// cluster, where a direct get is not. It makes one request per message, so
// it is for subjects that hold a few messages; more than max of them is
// ErrReadLimit.
func (r *Reader) AllFromLeader(ctx context.Context, stream, filter string, max int) ([]*jetstream.RawStreamMsg, error) {
	var out []*jetstream.RawStreamMsg
	for from := uint64(0); ; {
		m, err := r.leaderGet(ctx, stream, filter, from)
		if err != nil {
			return nil, err
		}
		if m == nil {
			return out, nil
		}
		if len(out) == max {
			return nil, fmt.Errorf("%w: %s on %s, %d", ErrReadLimit, filter, stream, max)
		}
		out = append(out, m)
		from = m.Sequence + 1
	}
}

// Count returns how many messages of stream match filter (wildcards
// allowed), in one direct get request whatever the number. Like Last, it
// may be answered by any replica.
func (r *Reader) Count(ctx context.Context, stream, filter string) (uint64, error) {
	_, n, err := r.count(ctx, stream, filter, 0)
	return n, err
}

// Each calls fn with every message of stream whose subject matches filter
// (wildcards allowed), oldest first, reading a page of ReadBatch at a
// time: memory stays at one page however many match. It stops at fn's
// first error, and before the message after max with ErrReadLimit. Like
// Last, any replica may answer.
func (r *Reader) Each(ctx context.Context, stream, filter string, max int, fn func(*jetstream.RawStreamMsg) error) error {
	var from uint64
	for read := 0; ; {
		msgs, pending, err := r.page(ctx, stream, filter, from, ReadBatch)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if read == max {
				return fmt.Errorf("%w: %s on %s, %d", ErrReadLimit, filter, stream, max)
			}
			read++
			if err := fn(m); err != nil {
				return err
			}
		}
		if len(msgs) == 0 || pending == 0 {
			return nil
		}
		from = msgs[len(msgs)-1].Sequence + 1
	}
}

// Scan calls fn with the messages of stream matching filter (wildcards
// allowed) whose sequences are from from through through, oldest first, at
// most max of them, a page of ReadBatch at a time. It returns where a next
// scan starts: after the last message read, or through+1 when none is
// left. On fn's error it returns that message's sequence, so that a next
// scan reads it again. Like Last, any replica may answer.
func (r *Reader) Scan(ctx context.Context, stream, filter string, from, through uint64, max int, fn func(*jetstream.RawStreamMsg) error) (uint64, error) {
	next := from
	for read := 0; read < max && next <= through; {
		msgs, pending, err := r.page(ctx, stream, filter, next, min(ReadBatch, max-read))
		if err != nil {
			return next, err
		}
		for _, m := range msgs {
			if m.Sequence > through {
				return through + 1, nil
			}
			if err := fn(m); err != nil {
				return m.Sequence, err
			}
			next = m.Sequence + 1
			read++
		}
		if len(msgs) == 0 || pending == 0 {
			return through + 1, nil
		}
	}
	return next, nil
}

// forward calls fn with up to max messages matching filter from sequence
// from on, oldest first.
func (r *Reader) forward(ctx context.Context, stream, filter string, from uint64, max int, fn func(*jetstream.RawStreamMsg)) error {
	for read := 0; read < max; {
		msgs, pending, err := r.page(ctx, stream, filter, from, min(ReadBatch, max-read))
		if err != nil {
			return err
		}
		for _, m := range msgs {
			fn(m)
		}
		read += len(msgs)
		if len(msgs) == 0 || pending == 0 {
			return nil
		}
		from = msgs[len(msgs)-1].Sequence + 1
	}
	return nil
}

// seek returns the sequence of the n-th newest message matching filter,
// given lo, the sequence of a matching message with at least n matching
// messages from it on. It gallops forward, then halves, asking each time
// how many messages match from a sequence on.
func (r *Reader) seek(ctx context.Context, stream, filter string, lo uint64, n int) (uint64, error) {
	var hi uint64 // 0: no sequence with fewer than n from it on found yet
	step := uint64(1)
	for probes := 0; hi == 0 || hi-lo > 1; probes++ {
		if probes == maxProbes {
			return 0, fmt.Errorf("store: read %s on %s: no end after %d probes", filter, stream, maxProbes)
		}
		at := lo + (hi-lo)/2
		if hi == 0 {
			at = lo + step
			step *= 2
		}
		first, count, err := r.count(ctx, stream, filter, at)
		if err != nil {
			return 0, err
		}
		if count >= uint64(n) {
			lo = first // lo < first < hi: the first match from at on
		} else {
			hi = at
		}
	}
	return lo, nil
}

// count returns the first sequence matching filter from seq on, and how many
// messages match from there on.
func (r *Reader) count(ctx context.Context, stream, filter string, seq uint64) (first, count uint64, err error) {
	msgs, pending, err := r.page(ctx, stream, filter, seq, 1)
	if err != nil || len(msgs) == 0 {
		return 0, 0, err
	}
	return msgs[0].Sequence, 1 + pending, nil
}

// directGetRequest is the body of a JetStream direct get.
type directGetRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	NextFor string `json:"next_by_subj"`
	Batch   int    `json:"batch,omitempty"`
}

// page asks for up to batch messages matching filter from sequence from on,
// and returns them with the number of matching messages after them. The
// server answers a batch with the messages, then an end-of-batch status
// (204) carrying that number; 404 when nothing matches.
func (r *Reader) page(ctx context.Context, stream, filter string, from uint64, batch int) ([]*jetstream.RawStreamMsg, uint64, error) {
	fail := func(err error) ([]*jetstream.RawStreamMsg, uint64, error) {
		return nil, 0, fmt.Errorf("store: read %s on %s: %w", filter, stream, err)
	}
	req, err := json.Marshal(directGetRequest{Seq: from, NextFor: filter, Batch: batch})
	if err != nil {
		return fail(err)
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	// One reply subject per request: a batch has many answers, which the
	// connection's shared request inbox would not wait for. A channel
	// subscription (room for the batch and its end) wakes the reader far
	// sooner than a synchronous one.
	inbox := r.nc.NewInbox()
	answers := make(chan *nats.Msg, batch+2)
	sub, err := r.nc.ChanSubscribe(inbox, answers)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := r.nc.PublishRequest(r.api+"DIRECT.GET."+stream, inbox, req); err != nil {
		return fail(err)
	}
	var msgs []*jetstream.RawStreamMsg
	for {
		var m *nats.Msg
		select {
		case m = <-answers:
		case <-ctx.Done():
			return fail(ctx.Err())
		}
		if status := m.Header.Get(statusHeader); status != "" && len(m.Data) == 0 {
			switch status {
			case "204": // end of batch
				pending, err := strconv.ParseUint(m.Header.Get(numPendingHeader), 10, 64)
				if err != nil {
					return fail(fmt.Errorf("bad %s header: %w", numPendingHeader, err))
				}
				return msgs, pending, nil
			case "404": // nothing matches
				return msgs, 0, nil
			case "503": // no responders
				return fail(ErrNoDirectGet)
			default:
				return fail(fmt.Errorf("status %s %s", status, m.Header.Get(descriptionHeader)))
			}
		}
		if len(msgs) == batch {
			return fail(fmt.Errorf("more than the %d messages asked for", batch))
		}
		sm, err := directMsg(m)
		if err != nil {
			return fail(err)
		}
		msgs = append(msgs, sm)
	}
}

// directMsg rebuilds a stored message from a direct get answer, whose
// headers say where it is stored.
func directMsg(m *nats.Msg) (*jetstream.RawStreamMsg, error) {
	seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("bad %s header: %w", jetstream.SequenceHeader, err)
	}
	at, err := time.Parse(time.RFC3339Nano, m.Header.Get(jetstream.TimeStampHeaer))
	if err != nil {
		return nil, fmt.Errorf("bad %s header: %w", jetstream.TimeStampHeaer, err)
	}
	subject := m.Header.Get(jetstream.SubjectHeader)
	if subject == "" {
		return nil, fmt.Errorf("no %s header", jetstream.SubjectHeader)
	}
	return &jetstream.RawStreamMsg{Subject: subject, Sequence: seq, Header: m.Header, Data: m.Data, Time: at}, nil
}

// leaderGetResponse is the stream leader's answer to a message get.
type leaderGetResponse struct {
	Error   *jetstream.APIError `json:"error"`
	Message *struct {
		Subject  string    `json:"subject"`
		Sequence uint64    `json:"seq"`
		Header   []byte    `json:"hdrs"`
		Data     []byte    `json:"data"`
		Time     time.Time `json:"time"`
	} `json:"message"`
}

// leaderGet asks the stream leader for the first message matching filter
// from sequence from on; nil when there is none.
func (r *Reader) leaderGet(ctx context.Context, stream, filter string, from uint64) (*jetstream.RawStreamMsg, error) {
	fail := func(err error) (*jetstream.RawStreamMsg, error) {
		return nil, fmt.Errorf("store: read %s on %s from the leader: %w", filter, stream, err)
	}
	req, err := json.Marshal(directGetRequest{Seq: from, NextFor: filter})
	if err != nil {
		return fail(err)
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	reply, err := r.nc.RequestWithContext(ctx, r.api+"STREAM.MSG.GET."+stream, req)
	if err != nil {
		return fail(err)
	}
	var resp leaderGetResponse
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return fail(err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return nil, nil
		}
		return fail(resp.Error)
	}
	if resp.Message == nil {
		return fail(errors.New("answer without a message"))
	}
	m := resp.Message
	var hdr nats.Header
	if len(m.Header) > 0 {
		if hdr, err = nats.DecodeHeadersMsg(m.Header); err != nil {
			return fail(err)
		}
	}
	return &jetstream.RawStreamMsg{Subject: m.Subject, Sequence: m.Sequence, Header: hdr, Data: m.Data, Time: m.Time}, nil
}

// bound gives ctx the reader's timeout when it has no deadline.
func (r *Reader) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, r.timeout)
}

// newest returns the last n of msgs.
func newest(msgs []*jetstream.RawStreamMsg, n int) []*jetstream.RawStreamMsg {
	if len(msgs) > n {
		return msgs[len(msgs)-n:]
	}
	return msgs
}
