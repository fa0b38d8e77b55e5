package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// TestCloudEventsSDKClient posts events with the official Go SDK's HTTP
// client, unchanged: in binary content mode (its default: ce-* headers,
// the data as the body) and in structured mode. Both are applied; an event
// forbear refuses comes back to the SDK as a 400.
func TestCloudEventsSDKClient(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	p, err := cehttp.New(cehttp.WithTarget(b.url+"/v1/events"), cehttp.WithHeader("Authorization", "Bearer "+tokPublisher))
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(p, cloudevents.WithTimeNow())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	borrower := func(id, borrowerID, phone string) cloudevents.Event {
		ev := cloudevents.NewEvent()
		ev.SetID(id)
		ev.SetSource("backend")
		ev.SetType("borrower.upserted")
		if err := ev.SetData(cloudevents.ApplicationJSON, map[string]string{"borrower_id": borrowerID, "name": "Li Lei", "phone": phone}); err != nil {
			t.Fatal(err)
		}
		return ev
	}

	for _, mode := range []struct {
		name string
		ctx  context.Context
	}{
		{"binary", ctx},
		{"structured", cloudevents.WithEncodingStructured(ctx)},
	} {
		id := "sdk-" + mode.name
		res := client.Send(mode.ctx, borrower("ev-"+id, id, "+8613800000001"))
		if !cloudevents.IsACK(res) {
			t.Fatalf("%s: SDK send = %v, want accepted", mode.name, res)
		}
		if r := b.get(t, "/v1/borrowers/"+id, tokSupport); r.status != http.StatusOK || !strings.Contains(string(r.body), `"phone":"+8613800000001"`) {
			t.Fatalf("%s: borrower after the SDK send: %d %s", mode.name, r.status, r.body)
		}

		res = client.Send(mode.ctx, borrower("ev-bad-"+id, id, "13800000000"))
		var hr *cehttp.Result
		if !cloudevents.IsNACK(res) || !errors.As(res, &hr) || hr.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: SDK send of a bad phone = %v, want a 400 NACK", mode.name, res)
		}
	}
}

// TestBinaryModeErrorsNameTheHeader: a binary-mode request is refused with
// the usual error shape, naming the header at fault.
func TestBinaryModeErrorsNameTheHeader(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	send := func(drop, contentType, data string) response {
		req, err := http.NewRequest(http.MethodPost, b.url+"/v1/events", strings.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "ev-1", "ce-source": "backend", "ce-type": "borrower.upserted"} {
			if k != drop {
				req.Header.Set(k, v)
			}
		}
		req.Header.Set("Content-Type", contentType)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return response{status: res.StatusCode, header: res.Header, body: body}
	}
	data := `{"borrower_id":"b-bin","name":"Li Lei"}`
	for _, tt := range []struct {
		drop, contentType, body, wantField string
	}{
		{drop: "ce-id", contentType: "application/json", body: data, wantField: "ce-id"},
		{drop: "ce-type", contentType: "application/json", body: data, wantField: "ce-type"},
		{contentType: "text/plain", body: data, wantField: "content-type"},
		{contentType: "application/json", body: `{"borrower_id":""}`, wantField: "data.borrower_id"},
	} {
		e := wantError(t, send(tt.drop, tt.contentType, tt.body), http.StatusBadRequest)
		if e.Error.Field != tt.wantField {
			t.Errorf("field = %q (%s), want %q", e.Error.Field, e.Error.Message, tt.wantField)
		}
	}
	if r := send("", "application/json", data); r.status != http.StatusOK {
		t.Fatalf("good binary-mode request: %d %s", r.status, r.body)
	}
}
