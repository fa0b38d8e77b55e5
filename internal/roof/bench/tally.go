package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Storage is what the server stored and read during the end-to-end run,
// in total and per stream.
//
// A write is one message appended to a stream: a reminder, an audit
// record, an outbox entry, and every KV put, delete and marker (a bucket
// is a stream). It is counted from each stream's last sequence before and
// after the run, so it is exact.
//
// A read is one JetStream API request that reads stored messages: a direct
// get of one key, a batched direct get (counted once, however many keys it
// asks for; the keys are counted apart), a message get answered by the
// stream's leader (STREAM.MSG.GET, how buckets without direct get are
// read), or a consumer's pull request (CONSUMER.MSG.NEXT; one pull may
// bring many messages). Requests are counted by a subscription on
// $JS.API.> that sees every one the server receives. Messages that
// consumers hand out, to pulls or to watchers' push subscriptions, are
// counted apart (Delivered), as are acknowledgements (Acks), which change
// a consumer's state but append nothing.
type Storage struct {
	// Reminders is what the figures are divided by.
	Reminders         int     `json:"reminders"`
	Writes            int64   `json:"writes"`
	WritesPerReminder float64 `json:"writes_per_reminder"`
	Reads             int64   `json:"reads"`
	ReadsPerReminder  float64 `json:"reads_per_reminder"`
	// KeysRead is the keys asked for by batched direct gets.
	KeysRead int64 `json:"keys_read_in_batches"`
	// Delivered is the messages consumers handed out (durable and
	// ephemeral consumers alive at the end of the run; one deleted during
	// it is missed).
	Delivered int64 `json:"delivered"`
	// Acks is ack, nak, term and in-progress replies to consumers.
	Acks int64 `json:"acks"`
	// OtherRequests is every other JetStream API request: stream and
	// consumer info, consumer creation, and the like.
	OtherRequests int64 `json:"other_requests"`
	// Streams is the breakdown, streams with writes first, most first.
	Streams []StreamIO `json:"streams"`
}

// StreamIO is one stream's share of Storage.
type StreamIO struct {
	Stream            string  `json:"stream"`
	Writes            int64   `json:"writes"`
	WritesPerReminder float64 `json:"writes_per_reminder"`
	Reads             int64   `json:"reads"`
	ReadsPerReminder  float64 `json:"reads_per_reminder"`
	DirectGets        int64   `json:"direct_gets"`
	BatchGets         int64   `json:"batch_gets"`
	KeysRead          int64   `json:"keys_read_in_batches"`
	MsgGets           int64   `json:"msg_gets"`
	Pulls             int64   `json:"pulls"`
	Delivered         int64   `json:"delivered"`
	Acks              int64   `json:"acks"`
}

// request is what one message on $JS.API.> or $JS.ACK.> is.
type request int

const (
	otherRequest request = iota
	directGet            // one key (last by subject, or by sequence)
	batchGet             // several keys in one request (multi_last)
	msgGet               // STREAM.MSG.GET, answered by the leader
	pull                 // CONSUMER.MSG.NEXT
	ackReply             // ack, nak, term, in progress
)

// classify says what a message seen on $JS.API.> or $JS.ACK.> is, the
// stream it concerns ("" for other requests) and, for a batched get, how
// many keys it asks for.
func classify(subject string, data []byte) (kind request, stream string, keys int) {
	tok := strings.Split(subject, ".")
	switch {
	case len(tok) >= 3 && tok[0] == "$JS" && tok[1] == "ACK":
		// $JS.ACK.<stream>.<consumer>.<7 numbers>, or the form with a
		// domain and an account hash before the stream.
		switch {
		case len(tok) == 9:
			return ackReply, tok[2], 0
		case len(tok) >= 11:
			return ackReply, tok[4], 0
		}
		return otherRequest, "", 0
	case len(tok) < 4 || tok[0] != "$JS" || tok[1] != "API":
		return otherRequest, "", 0
	case len(tok) >= 5 && tok[2] == "DIRECT" && tok[3] == "GET":
		// $JS.API.DIRECT.GET.<stream>.<subject...> is a last-by-subject
		// get; without a subject the body says what to get.
		if len(tok) == 5 && bytes.Contains(data, []byte(`"multi_last"`)) {
			var req struct {
				MultiLast []string `json:"multi_last"`
			}
			if json.Unmarshal(data, &req) == nil {
				return batchGet, tok[4], len(req.MultiLast)
			}
		}
		return directGet, tok[4], 0
	case len(tok) == 6 && tok[2] == "STREAM" && tok[3] == "MSG" && tok[4] == "GET":
		return msgGet, tok[5], 0
	case len(tok) >= 7 && tok[2] == "CONSUMER" && tok[3] == "MSG" && tok[4] == "NEXT":
		return pull, tok[5], 0
	}
	return otherRequest, "", 0
}

// flushWait bounds a round trip to the server on the observer connection.
const flushWait = 10 * time.Second

// observerInbox starts the reply subjects of the bench's own requests, so
// that the tally leaves them out.
const observerInbox = "_BENCH_INBOX"

// connectObserver opens the bench's own connection to an instance's
// embedded server, apart from the instance's connection so that what the
// bench watches does not queue behind what the instance reads. A
// disconnection loses what the server sent meanwhile: it is kept, and
// lost reports it.
func connectObserver(url string) (*observer, error) {
	if url == "" {
		return nil, errors.New("the embedded server does not listen")
	}
	o := &observer{}
	nc, err := nats.Connect(url, nats.Name("forbear bench observer"), nats.CustomInboxPrefix(observerInbox),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { o.fail(fmt.Errorf("disconnected: %v", err)) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { o.fail(err) }))
	if err != nil {
		return nil, err
	}
	o.Conn = nc
	return o, nil
}

// observer is the bench's connection to the server.
type observer struct {
	*nats.Conn
	mu      sync.Mutex
	problem error
}

func (o *observer) fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.problem == nil {
		o.problem = err
	}
}

// lost returns the first disconnection or asynchronous error, nil if
// nothing was lost.
func (o *observer) lost() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.problem != nil {
		return fmt.Errorf("the bench's connection to the server lost messages: %w", o.problem)
	}
	return nil
}

// tally counts what the server does between start and finish.
type tally struct {
	nc     *observer
	js     jetstream.JetStream
	subs   []*nats.Subscription
	before map[string]streamState

	mu      sync.Mutex
	streams map[string]*StreamIO
	other   int64
}

// streamState is a stream's last sequence and its consumers' delivered
// counts.
type streamState struct {
	lastSeq   uint64
	delivered map[string]uint64
}

// startTally subscribes to the API and ack subjects on nc (an observer
// connection) and takes the streams' state.
func startTally(ctx context.Context, nc *observer) (*tally, error) {
	js, err := jetstream.New(nc.Conn)
	if err != nil {
		return nil, err
	}
	t := &tally{nc: nc, js: js, streams: map[string]*StreamIO{}}
	for _, subject := range []string{"$JS.API.>", "$JS.ACK.>"} {
		sub, err := nc.Subscribe(subject, t.count)
		if err != nil {
			t.unsubscribe()
			return nil, err
		}
		_ = sub.SetPendingLimits(-1, -1)
		t.subs = append(t.subs, sub)
	}
	// The subscriptions are in place before anything is counted from.
	if err := nc.FlushTimeout(flushWait); err != nil {
		t.unsubscribe()
		return nil, err
	}
	if t.before, err = streamStates(ctx, js); err != nil {
		t.unsubscribe()
		return nil, err
	}
	return t, nil
}

func (t *tally) count(m *nats.Msg) {
	if strings.HasPrefix(m.Reply, observerInbox) {
		return // the bench's own request
	}
	kind, stream, keys := classify(m.Subject, m.Data)
	t.mu.Lock()
	defer t.mu.Unlock()
	if kind == otherRequest {
		t.other++
		return
	}
	s := t.stream(stream)
	switch kind {
	case directGet:
		s.DirectGets++
	case batchGet:
		s.BatchGets++
		s.KeysRead += int64(keys)
	case msgGet:
		s.MsgGets++
	case pull:
		s.Pulls++
	case ackReply:
		s.Acks++
	}
}

// stream returns the counts of a stream; t.mu is held.
func (t *tally) stream(name string) *StreamIO {
	s, ok := t.streams[name]
	if !ok {
		s = &StreamIO{Stream: name}
		t.streams[name] = s
	}
	return s
}

func (t *tally) unsubscribe() {
	for _, s := range t.subs {
		_ = s.Unsubscribe()
	}
}

// finish takes the streams' state again, stops counting once every
// request already sent to the observer has been counted, and returns the
// figures divided by reminders.
func (t *tally) finish(ctx context.Context, reminders int) (Storage, error) {
	after, err := streamStates(ctx, t.js)
	if err != nil {
		t.unsubscribe()
		return Storage{}, err
	}
	// The server queues the copies of the requests it received before
	// this flush's PING ahead of its PONG; draining then lets the
	// handlers count every copy already received.
	if err := t.nc.FlushTimeout(flushWait); err != nil {
		t.unsubscribe()
		return Storage{}, err
	}
	for _, s := range t.subs {
		if err := s.Drain(); err != nil {
			return Storage{}, err
		}
	}
	if err := waitDrained(ctx, t.subs); err != nil {
		return Storage{}, err
	}
	if err := t.nc.lost(); err != nil {
		return Storage{}, err
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	for name, a := range after {
		s := t.stream(name)
		b, existed := t.before[name]
		s.Writes = int64(a.lastSeq - b.lastSeq)
		for consumer, n := range a.delivered {
			if !existed {
				s.Delivered += int64(n)
				continue
			}
			// A consumer made during the run counts from zero.
			s.Delivered += int64(n - min(n, b.delivered[consumer]))
		}
	}
	st := Storage{Reminders: reminders, OtherRequests: t.other}
	for _, s := range t.streams {
		s.Reads = s.DirectGets + s.BatchGets + s.MsgGets + s.Pulls
		if s.Writes == 0 && s.Reads == 0 && s.Delivered == 0 && s.Acks == 0 {
			continue
		}
		s.WritesPerReminder, s.ReadsPerReminder = perReminder(s.Writes, reminders), perReminder(s.Reads, reminders)
		st.Writes += s.Writes
		st.Reads += s.Reads
		st.KeysRead += s.KeysRead
		st.Delivered += s.Delivered
		st.Acks += s.Acks
		st.Streams = append(st.Streams, *s)
	}
	st.WritesPerReminder, st.ReadsPerReminder = perReminder(st.Writes, reminders), perReminder(st.Reads, reminders)
	slices.SortFunc(st.Streams, func(a, b StreamIO) int {
		return cmp.Or(cmp.Compare(b.Writes, a.Writes), cmp.Compare(b.Reads, a.Reads), strings.Compare(a.Stream, b.Stream))
	})
	return st, nil
}

func perReminder(n int64, reminders int) float64 {
	if reminders <= 0 {
		return 0
	}
	return float64(n) / float64(reminders)
}

// waitDrained waits until the draining subscriptions have handed every
// pending message to their handler.
func waitDrained(ctx context.Context, subs []*nats.Subscription) error {
	deadline := time.Now().Add(time.Minute)
	for {
		valid := false
		for _, s := range subs {
			valid = valid || s.IsValid()
		}
		if !valid {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the request counter did not drain within a minute")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// streamStates reads every stream's last sequence and its consumers'
// delivered counts.
func streamStates(ctx context.Context, js jetstream.JetStream) (map[string]streamState, error) {
	out := map[string]streamState{}
	streams := js.ListStreams(ctx)
	for info := range streams.Info() {
		st := streamState{lastSeq: info.State.LastSeq, delivered: map[string]uint64{}}
		s, err := js.Stream(ctx, info.Config.Name)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", info.Config.Name, err)
		}
		consumers := s.ListConsumers(ctx)
		for ci := range consumers.Info() {
			st.delivered[ci.Name] = ci.Delivered.Consumer
		}
		if err := consumers.Err(); err != nil {
			return nil, fmt.Errorf("consumers of %s: %w", info.Config.Name, err)
		}
		out[info.Config.Name] = st
	}
	if err := streams.Err(); err != nil {
		return nil, fmt.Errorf("streams: %w", err)
	}
	return out, nil
}

// settled waits until no consumer of stream has a message pending or
// unacknowledged: every reminder's handling, the last write included, is
// over.
func settled(ctx context.Context, js jetstream.JetStream, stream string) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		busy := false
		consumers := s.ListConsumers(ctx)
		for ci := range consumers.Info() {
			busy = busy || ci.NumPending > 0 || ci.NumAckPending > 0
		}
		if err := consumers.Err(); err != nil {
			return err
		}
		if !busy {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the consumers of %s still had reminders in hand after 2 minutes", stream)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
