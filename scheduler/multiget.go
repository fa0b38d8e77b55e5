package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/store"
)

// maxMultiGet is the server's cap on the messages one multi-last direct
// get may return.
const maxMultiGet = 1024

// kvVal is one key's current value and revision.
type kvVal struct {
	data []byte
	rev  uint64
}

// getMany reads the current values of keys in a bucket. It uses one
// multi-last direct get per 1024 keys instead of a round trip per key,
// which is what lets a sweep read thousands of cases quickly; it falls
// back to one Get per key where direct gets are unavailable (a JetStream
// domain or API prefix, or a server that refuses the request). Missing
// and deleted keys are absent from the result.
func (s *Scheduler) getMany(ctx context.Context, kv jetstream.KeyValue, keys []string) (map[string]kvVal, error) {
	out := make(map[string]kvVal, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	if s.directAPI != "" {
		err := s.multiLast(ctx, kv.Bucket(), keys, out)
		if err == nil {
			return out, nil
		}
		s.log.WithError(err).Debug("scheduler: multi-get failed, reading keys one by one")
		clear(out)
	}
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		switch {
		case store.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("get %s/%s: %w", kv.Bucket(), k, err)
		default:
			out[k] = kvVal{data: e.Value(), rev: e.Revision()}
		}
	}
	return out, nil
}

// directAPIPrefix returns the prefix for direct-get requests, or "" when
// js talks to a domain or through a custom API prefix, where the plain
// $JS.API subjects would reach the wrong account or cluster.
func directAPIPrefix(js jetstream.JetStream) string {
	o := js.Options()
	if o.Domain != "" {
		return ""
	}
	switch strings.TrimSuffix(o.APIPrefix, ".") {
	case "", strings.TrimSuffix(jetstream.DefaultAPIPrefix, "."):
		return jetstream.DefaultAPIPrefix
	}
	return ""
}

type multiLastRequest struct {
	MultiLast []string `json:"multi_last"`
	Batch     int      `json:"batch"`
}

// multiLast fills out with the last message of each key's subject, via
// the stream's direct-get endpoint: one request, a stream of replies, an
// end-of-batch status.
func (s *Scheduler) multiLast(ctx context.Context, bucket string, keys []string, out map[string]kvVal) error {
	nc := s.js.Conn()
	prefix := "$KV." + bucket + "."
	api := s.directAPI + "DIRECT.GET.KV_" + bucket
	for len(keys) > 0 {
		n := min(len(keys), maxMultiGet)
		chunk := keys[:n]
		keys = keys[n:]
		subjects := make([]string, len(chunk))
		for i, k := range chunk {
			subjects[i] = prefix + k
		}
		body, err := json.Marshal(multiLastRequest{MultiLast: subjects, Batch: len(subjects)})
		if err != nil {
			return err
		}
		inbox := nc.NewInbox()
		// A channel sized for the whole reply (one message per key and the
		// end-of-batch status) rather than SubscribeSync, whose default
		// 64k-slot channel costs more to allocate and clear than the
		// request itself.
		replies := make(chan *nats.Msg, len(chunk)+2)
		sub, err := nc.ChanSubscribe(inbox, replies)
		if err != nil {
			return err
		}
		err = func() error {
			defer func() { _ = sub.Unsubscribe() }()
			if err := nc.PublishRequest(api, inbox, body); err != nil {
				return err
			}
			timeout := time.NewTimer(ackTimeout)
			defer timeout.Stop()
			for {
				var m *nats.Msg
				select {
				case m = <-replies:
				case <-timeout.C:
					return fmt.Errorf("direct get %s: no reply after %s: %w", bucket, ackTimeout, context.DeadlineExceeded)
				case <-ctx.Done():
					return ctx.Err()
				}
				switch status := m.Header.Get("Status"); status {
				case "":
				case "204": // end of batch
					return nil
				case "404": // none of the keys exist
					return nil
				default:
					return fmt.Errorf("direct get %s: status %s %s", bucket, status, m.Header.Get("Description"))
				}
				if op := m.Header.Get(kvOpHeader); op == kvOpDelete || op == "PURGE" {
					continue
				}
				if m.Header.Get(jetstream.MarkerReasonHeader) != "" {
					continue // the server's marker of a key that expired or was removed
				}
				subj := m.Header.Get(jetstream.SubjectHeader)
				seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
				if err != nil || !strings.HasPrefix(subj, prefix) {
					return errors.New("direct get: malformed reply")
				}
				out[subj[len(prefix):]] = kvVal{data: m.Data, rev: seq}
			}
		}()
		if err != nil {
			return err
		}
	}
	return nil
}
