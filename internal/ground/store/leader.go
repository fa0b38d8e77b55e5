package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// OpenBucket binds a KV bucket (Setup must have run) for reads that feed
// writes: see LeaderBacked.
func OpenBucket(ctx context.Context, js jetstream.JetStream, name string) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("store: bucket %s: %w", name, err)
	}
	return LeaderBacked(kv, js), nil
}

// LeaderBacked returns kv with a second way to read a key: from the stream
// leader. KV buckets use direct get, which any replica may answer, so on a
// cluster a write acknowledged through one instance can be missing from the
// next read on another. UpdateJSON and the typed reads of State use the
// leader read where a stale answer would do harm: to confirm that a key is
// missing (a stub must never be written over a real record, and a 404 must
// not come from a replica that is behind) and to re-read after a lost
// compare-and-set (a lagging replica would lose it again and again).
// Everything else goes to kv unchanged.
func LeaderBacked(kv jetstream.KeyValue, js jetstream.JetStream) jetstream.KeyValue {
	if lb, ok := kv.(*leaderBacked); ok {
		kv = lb.KeyValue
	}
	bucket := kv.Bucket()
	return &leaderBacked{
		KeyValue: kv,
		js:       js,
		api:      apiPrefix(js) + "STREAM.MSG.GET.KV_" + bucket,
		subject:  "$KV." + bucket + ".",
	}
}

type leaderBacked struct {
	jetstream.KeyValue
	js      jetstream.JetStream
	api     string // $JS.API.STREAM.MSG.GET.KV_<bucket>: answered by the stream leader
	subject string // $KV.<bucket>.
}

// putExpiring writes data at key, only if the key's revision is rev (0:
// only if the key does not exist or was removed), with a per-message TTL:
// the server removes the value ttl after this write unless a later write
// replaces it. KeyValue.Update takes no TTL, so this sends what it sends
// (the stream's expected-last-subject-sequence check) with the TTL added.
func (b *leaderBacked) putExpiring(ctx context.Context, key string, data []byte, rev uint64, ttl time.Duration) (uint64, error) {
	if rev == 0 {
		return b.Create(ctx, key, data, jetstream.KeyTTL(ttl))
	}
	ack, err := b.js.PublishMsg(ctx, &nats.Msg{Subject: b.subject + key, Data: data},
		jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(ttl))
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// apiPrefix is the JetStream API prefix js sends its requests under.
func apiPrefix(js jetstream.JetStream) string {
	o := js.Options()
	switch {
	case o.Domain != "":
		return "$JS." + o.Domain + ".API."
	case o.APIPrefix != "":
		return strings.TrimSuffix(o.APIPrefix, ".") + "."
	}
	return jetstream.DefaultAPIPrefix
}

type msgGetRequest struct {
	LastBySubject string `json:"last_by_subj"`
}

type msgGetResponse struct {
	Message *storedMsg          `json:"message,omitempty"`
	Error   *jetstream.APIError `json:"error,omitempty"`
}

// getFromLeader returns the key's value and revision as the stream leader
// has them. A deleted or purged key is ErrNotFound with the revision of its
// marker (compare-and-set against it), a key never written ErrNotFound with
// revision 0.
func (b *leaderBacked) getFromLeader(ctx context.Context, key string) ([]byte, uint64, error) {
	m, err := b.lastFromLeader(ctx, b.subject+key)
	if err != nil {
		return nil, 0, err
	}
	if len(m.Header) > 0 {
		h, err := nats.DecodeHeadersMsg(m.Header)
		if err != nil {
			return nil, 0, fmt.Errorf("store: leader get %s: headers: %w", b.Bucket(), err)
		}
		// Delete and purge markers, and the server's markers for keys
		// removed by age, stand for a missing key.
		if h.Get(kvOperationHeader) != "" || h.Get(jetstream.MarkerReasonHeader) != "" {
			return nil, m.Sequence, ErrNotFound
		}
	}
	return m.Data, m.Sequence, nil
}

// storedMsg is a message as the stream leader answers it.
type storedMsg struct {
	Sequence uint64 `json:"seq"`
	Header   []byte `json:"hdrs,omitempty"`
	Data     []byte `json:"data,omitempty"`
}

// lastFromLeader asks the stream leader for the newest message on subject
// (ErrNotFound when there is none).
func (b *leaderBacked) lastFromLeader(ctx context.Context, subject string) (*storedMsg, error) {
	req, err := json.Marshal(msgGetRequest{LastBySubject: subject})
	if err != nil {
		return nil, err
	}
	msg, err := b.js.Conn().RequestWithContext(ctx, b.api, req)
	if err != nil {
		return nil, fmt.Errorf("store: leader get %s: %w", b.Bucket(), err)
	}
	var resp msgGetResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("store: leader get %s: undecodable answer: %w", b.Bucket(), err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("store: leader get %s: %w", b.Bucket(), resp.Error)
	}
	if resp.Message == nil {
		return nil, fmt.Errorf("store: leader get %s: empty answer", b.Bucket())
	}
	return resp.Message, nil
}

// LastRevision returns the revision of the newest entry in kv's bucket (a
// value or a marker, of any key) as the stream leader has it, so every
// write acknowledged before the call is at or below it. The leader alone
// answers (a replica that is behind never does, not even while the group
// has no leader), and it reads the message at the stream's last sequence,
// which costs the same however many keys the bucket holds. kv must come
// from OpenBucket or OpenState. ErrNotFound means the stream holds no
// message at its last sequence: the bucket is empty, or its newest entry
// was removed without a newer one taking its place.
func LastRevision(ctx context.Context, kv jetstream.KeyValue) (uint64, error) {
	lb, ok := kv.(*leaderBacked)
	if !ok {
		return 0, fmt.Errorf("store: bucket %s is not leader-backed (open it with OpenBucket)", kv.Bucket())
	}
	// ">" (every subject) is answered from the stream's last sequence;
	// the bucket's own wildcard would make the server walk its subjects.
	m, err := lb.lastFromLeader(ctx, ">")
	if err != nil {
		return 0, err
	}
	return m.Sequence, nil
}

// kvOperationHeader marks a KV delete or purge.
const kvOperationHeader = "KV-Operation"

// maxPayload is what the connected server accepts in one message, 0 when
// unknown.
func (b *leaderBacked) maxPayload() int64 { return b.js.Conn().MaxPayload() }
