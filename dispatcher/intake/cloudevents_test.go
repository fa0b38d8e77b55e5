package intake_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

func TestParseHTTPEventsBinaryMode(t *testing.T) {
	t.Parallel()
	loan := `{"borrower_id":"b","loan_id":"l","due_date":"2026-11-23","amount_due":"1.00","currency":"CNY","status":"current"}`
	headers := func(kv ...string) http.Header {
		h := http.Header{}
		h.Set("Ce-Specversion", "1.0")
		h.Set("Ce-Id", "e1")
		h.Set("Ce-Source", "backend")
		h.Set("Ce-Type", "loan.updated")
		h.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				h.Del(kv[i])
			} else {
				h.Set(kv[i], kv[i+1])
			}
		}
		return h
	}
	tests := []struct {
		name      string
		header    http.Header
		body      string
		wantID    string
		wantField string
	}{
		{name: "binary", header: headers(), body: loan, wantID: "e1"},
		{name: "binary with time and charset", header: headers("Ce-Time", "2026-11-20T08:00:00Z", "Content-Type", "application/json; charset=utf-8"), body: loan, wantID: "e1"},
		{name: "binary without content type", header: headers("Content-Type", ""), body: loan, wantID: "e1"},
		{name: "extension attributes are ignored", header: headers("Ce-Traceparent", "00-abc-def-01"), body: loan, wantID: "e1"},
		{name: "lower-case header names", header: http.Header{"ce-specversion": {"1.0"}, "ce-id": {"e2"}, "ce-source": {"s"}, "ce-type": {"loan.updated"}}, body: loan, wantID: "e2"},
		{name: "percent-encoded id", header: headers("Ce-Id", "e%201"), body: loan, wantID: "e 1"},
		{name: "structured content type wins over headers", header: headers("Content-Type", "application/cloudevents+json"),
			body: `{"specversion":"1.0","id":"s1","source":"s","type":"loan.updated","data":` + loan + `}`, wantID: "s1"},
		{name: "no ce headers is structured", header: http.Header{"Content-Type": {"application/json"}},
			body: `{"specversion":"1.0","id":"s2","source":"s","type":"loan.updated","data":` + loan + `}`, wantID: "s2"},
		{name: "missing id", header: headers("Ce-Id", ""), body: loan, wantField: "ce-id"},
		{name: "spec version", header: headers("Ce-Specversion", "0.3"), body: loan, wantField: "ce-specversion"},
		{name: "missing source", header: headers("Ce-Source", ""), body: loan, wantField: "ce-source"},
		{name: "unknown type", header: headers("Ce-Type", "loan.exploded"), body: loan, wantField: "ce-type"},
		{name: "bad time", header: headers("Ce-Time", "yesterday"), body: loan, wantField: "ce-time"},
		{name: "data not json", header: headers(), body: `due_date=2026-11-23`, wantField: "data"},
		{name: "empty body", header: headers(), body: ``, wantField: "data"},
		{name: "not json content", header: headers("Content-Type", "text/plain"), body: loan, wantField: "content-type"},
		{name: "data field", header: headers(), body: `{"borrower_id":"b","loan_id":"l","due_date":"soon","amount_due":"1.00","currency":"CNY","status":"current"}`, wantField: "data.due_date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := intake.ParseHTTPEvents(tt.header, []byte(tt.body))
			if tt.wantField == "" {
				if err != nil || len(events) != 1 || events[0].ID != tt.wantID {
					t.Fatalf("= %+v, %v; want one event %q", events, err, tt.wantID)
				}
				if string(events[0].Data) != loan {
					t.Fatalf("data = %s, want the body", events[0].Data)
				}
				return
			}
			var fe *intake.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("err = %v, want a FieldError naming %q", err, tt.wantField)
			}
		})
	}
}

// TestNATSEventsFromTheCloudEventsSDK publishes events with the official
// Go SDK's JetStream sender, in binary mode (its default) and in
// structured mode, and a hand-made binary event without ce-id, which goes
// to the DLQ naming ce-id with its headers kept.
func TestNATSEventsFromTheCloudEventsSDK(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	stop, err := b.intake.ConsumeEvents(ctx, b.nats.JS)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// Watch what the SDK puts on the wire, to know each mode was used.
	wire, err := b.nats.Conn.SubscribeSync(store.EventsPrefix + ">")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.nats.Conn.Flush(); err != nil {
		t.Fatal(err)
	}

	sender, err := cejs.NewSenderFromConn(b.nats.Conn, store.EventsStream, store.EventsPrefix+intake.TypeBorrowerUpserted, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(sender)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []struct {
		name       string
		ctx        context.Context
		wantHeader bool
	}{
		{"binary", ctx, true},
		{"structured", cloudevents.WithEncodingStructured(ctx), false},
	} {
		borrower := "sdk-" + mode.name
		ev := cloudevents.NewEvent()
		ev.SetID("nats-" + mode.name)
		ev.SetSource("backend")
		ev.SetType(intake.TypeBorrowerUpserted)
		ev.SetTime(time.Now())
		if err := ev.SetData(cloudevents.ApplicationJSON, map[string]string{"borrower_id": borrower, "name": "Li Lei", "phone": "+8613800000001"}); err != nil {
			t.Fatal(err)
		}
		if res := client.Send(mode.ctx, ev); !cloudevents.IsACK(res) {
			t.Fatalf("%s: send: %v", mode.name, res)
		}
		m, err := wire.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Header.Get("ce-specversion") != ""; got != mode.wantHeader {
			t.Fatalf("%s: the SDK sent ce-specversion header = %v, want %v (headers %v)", mode.name, got, mode.wantHeader, m.Header)
		}
		testkit.Eventually(t, 10*time.Second, mode.name+" event applied", func() bool {
			got, err := b.state.Borrower(ctx, borrower)
			return err == nil && got.Phone == "+8613800000001"
		})
	}

	dlq, err := b.nats.JS.OrderedConsumer(ctx, store.DLQStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{store.DLQEventsSubject}})
	if err != nil {
		t.Fatal(err)
	}
	bad := nats.NewMsg(store.EventsPrefix + intake.TypeBorrowerUpserted)
	bad.Header.Set("ce-specversion", "1.0")
	bad.Header.Set("ce-source", "backend")
	bad.Header.Set("ce-type", intake.TypeBorrowerUpserted)
	bad.Data = []byte(`{"borrower_id":"nobody"}`)
	if _, err := b.nats.JS.PublishMsg(ctx, bad); err != nil {
		t.Fatal(err)
	}
	m, err := dlq.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("no DLQ message: %v", err)
	}
	if got := m.Headers().Get(intake.HeaderDLQField); got != "ce-id" {
		t.Fatalf("DLQ field header = %q, want ce-id (reason %q)", got, m.Headers().Get(intake.HeaderDLQReason))
	}
	if got := m.Headers().Get("ce-source"); got != "backend" {
		t.Fatalf("DLQ message lost the event's ce- headers: ce-source = %q", got)
	}
}
