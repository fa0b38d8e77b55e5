package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/forbear/forbear/internal/simulate"
)

// Simulator runs the dry runs of POST /v1/simulate.
type Simulator interface {
	Do(ctx context.Context, req simulate.Request) (simulate.Answer, error)
}

// postSimulate serves POST /v1/simulate: a dry run of the configuration
// (and a variant) for a population, with nothing sent or stored.
func (s *Server) postSimulate(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req simulate.Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		writeError(w, decodeError(err, "a dry run has days, start, population, generate, sample, variant, borrowers, call_answered and charts"))
		return
	}
	ans, err := s.o.Simulator.Do(r.Context(), req)
	var re *simulate.RequestError
	if errors.As(err, &re) {
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: re.Field, Message: re.Message})
		return
	}
	if errors.Is(err, simulate.ErrBusy) {
		writeError(w, apiError{Status: http.StatusTooManyRequests, Code: "dry_run_running", Message: err.Error()})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// decodeError is the 400 of a JSON body that does not decode: an unknown
// key or a value of the wrong type names its field.
func decodeError(err error, known string) apiError {
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		if len(name) > 64 {
			name = name[:64]
		}
		return apiError{Status: http.StatusBadRequest, Code: "unknown_field", Field: name, Message: "unknown key; " + known}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: te.Field, Message: "has the wrong type (" + te.Value + ")"}
	}
	return apiError{Status: http.StatusBadRequest, Code: "invalid_json", Message: "body is not a dry run: " + err.Error()}
}
