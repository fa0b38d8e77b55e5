package bench

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/natsrv"
)

// payload is about the size of a reminder message.
var payload = bytes.Repeat([]byte("x"), 420)

// raw measures N messages published asynchronously to a file-store stream
// and consumed concurrently by a pull consumer with explicit acks: the
// time from the first publish to the last ack.
func raw(ctx context.Context, dir string, n int) (time.Duration, error) {
	srv, err := natsrv.Start(natsrv.Options{StoreDir: dir})
	if err != nil {
		return 0, err
	}
	defer srv.Shutdown()
	pubConn, err := srv.Connect("bench-pub")
	if err != nil {
		return 0, err
	}
	defer pubConn.Close()
	subConn, err := srv.Connect("bench-sub")
	if err != nil {
		return 0, err
	}
	defer subConn.Close()
	pjs, _ := jetstream.New(pubConn)
	sjs, _ := jetstream.New(subConn)
	if _, err := pjs.CreateStream(ctx, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"},
		Storage: jetstream.FileStorage, Retention: jetstream.WorkQueuePolicy}); err != nil {
		return 0, err
	}
	cons, err := sjs.CreateOrUpdateConsumer(ctx, "RAW", jetstream.ConsumerConfig{Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10000})
	if err != nil {
		return 0, err
	}
	var acked atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		if acked.Add(1) == int64(n) {
			close(done)
		}
	}, jetstream.PullMaxMessages(1000))
	if err != nil {
		return 0, err
	}
	defer cc.Stop()
	for i := range n {
		if _, err := pjs.PublishAsync("raw."+strconv.Itoa(i%64), payload); err != nil {
			return 0, err
		}
	}
	select {
	case <-pjs.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case <-done:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("only %d of %d acked", acked.Load(), n)
	}
	// Acks are asynchronous: flush so the last ones are on the server.
	_ = subConn.Flush()
	return time.Since(start), nil
}
