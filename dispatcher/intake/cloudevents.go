package intake

import (
	"encoding/json"
	"errors"
	"mime"
	"net/url"
	"strings"
	"time"
)

// CloudEvents content modes. In structured mode the whole event is the
// JSON body (or a JSON array of events in batch mode). In binary mode, what
// the official SDKs send by default, the attributes travel as ce-* headers
// (HTTP headers, NATS message headers) and the body is the event's data.
// Both modes give the same Event, validated the same way; in binary mode
// errors name the header (ce-id, ce-type, ...).

// ceSpecVersion is the header whose presence makes a message binary mode.
const ceSpecVersion = "ce-specversion"

// ParseHTTPEvents returns the events of a POST /v1/events request. A
// request whose Content-Type is application/cloudevents+json (or
// -batch+json) is structured, whatever its headers; otherwise a
// ce-specversion header makes it one binary-mode event, built from its ce-*
// headers with the body as data; anything else is parsed by ParseEvents
// (plain JSON is structured mode).
func ParseHTTPEvents(header map[string][]string, body []byte) ([]Event, error) {
	media := mediaType(headerValue(header, "content-type"))
	if strings.HasPrefix(media, "application/cloudevents") || headerValue(header, ceSpecVersion) == "" {
		return ParseEvents(body)
	}
	ev, err := binaryEvent(header, "content-type", body, percentDecode)
	if err != nil {
		return nil, err
	}
	return []Event{ev}, nil
}

// decodeNATSEvent returns the event of a message on forbear.events.<type>:
// binary mode when it has a ce-specversion header (as the SDKs' NATS
// bindings decide), a structured JSON event otherwise. typeField is how
// errors name the event's type (ce-type in binary mode).
func decodeNATSEvent(header map[string][]string, data []byte) (ev Event, typeField string, err error) {
	if headerValue(header, ceSpecVersion) != "" {
		// The NATS binding carries the content type as ce-datacontenttype
		// (what the Go SDK writes) or content-type.
		ctField := "ce-datacontenttype"
		if headerValue(header, ctField) == "" {
			ctField = "content-type"
		}
		ev, err = binaryEvent(header, ctField, data, asIs)
		return ev, "ce-type", err
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return ev, "type", &FieldError{Code: "invalid_json", Message: "event is not JSON: " + err.Error()}
	}
	return ev, "type", ev.Validate()
}

// binaryEvent builds and validates the event of a binary-mode message:
// attributes from the ce-* headers (other ce-* headers are extension
// attributes, which forbear does not use), data from the body, which must be
// JSON. ctField names the header that carries the data's content type.
func binaryEvent(header map[string][]string, ctField string, body []byte, decode func(string) string) (Event, error) {
	ev := Event{
		SpecVersion: decode(headerValue(header, ceSpecVersion)),
		ID:          decode(headerValue(header, "ce-id")),
		Source:      decode(headerValue(header, "ce-source")),
		Type:        decode(headerValue(header, "ce-type")),
		Data:        json.RawMessage(body),
	}
	if raw := headerValue(header, "ce-time"); raw != "" {
		t, err := time.Parse(time.RFC3339Nano, decode(raw))
		if err != nil {
			return Event{}, invalid("ce-time", "is not an RFC 3339 time: %q", raw)
		}
		ev.Time = &t
	}
	if ct := headerValue(header, ctField); ct != "" && !isJSONMedia(mediaType(ct)) {
		return Event{}, invalid(ctField, "data must be JSON (application/json), got %q", ct)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return Event{}, invalid("data", "is required: the body of a binary-mode event is its data")
	}
	if !json.Valid(body) {
		return Event{}, invalid("data", "the body of a binary-mode event must be JSON")
	}
	if err := ev.Validate(); err != nil {
		return Event{}, binaryField(err)
	}
	return ev, nil
}

// binaryField renames the envelope field of a validation error to the
// header that carried it (id -> ce-id); data fields keep their names.
func binaryField(err error) error {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return err
	}
	switch fe.Field {
	case "specversion", "id", "source", "type", "time":
		renamed := *fe
		renamed.Field = "ce-" + fe.Field
		return &renamed
	}
	return err
}

// headerValue is the first value of a header, whatever the case of its
// name: HTTP canonicalises names (Ce-Id), NATS keeps them as sent (ce-id).
func headerValue(header map[string][]string, name string) string {
	for k, v := range header {
		if len(v) > 0 && strings.EqualFold(k, name) {
			return strings.TrimSpace(v[0])
		}
	}
	return ""
}

func mediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(contentType))
	}
	return mt
}

func isJSONMedia(mt string) bool {
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// percentDecode undoes the HTTP binding's percent-encoding of header
// values (non-ASCII, space, '"' and '%' are sent as %XX). A value that is
// not valid percent-encoding is taken as it is: some SDKs send a literal
// '%' unencoded.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// asIs leaves a header value unchanged: the NATS binding does not encode.
func asIs(s string) string { return s }
