package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/store"
)

func TestErrorAnswers(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{"bad field", &intake.FieldError{Code: "invalid_field", Field: "data.name", Message: "too long"}, 400, "invalid_field"},
		{"unknown loan", &intake.FieldError{Code: intake.CodeNotFound, Field: "data.loan_id", Message: "unknown"}, 404, "not_found"},
		{"full borrower", &intake.FieldError{Code: intake.CodeLimitReached, Field: "data.loan_id", Message: "500 loans"}, 409, "limit_reached"},
		{"record too large", fmt.Errorf("store: x: %w", store.ErrTooLarge), 409, "record_too_large"},
		{"contention", fmt.Errorf("store: x: %w", store.ErrContention), 503, "contention"},
		{"anything else", errors.New("boom"), 500, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.failEvents(w, httptest.NewRequest(http.MethodPost, "/v1/events", nil), &intake.BatchError{Index: 2, Applied: 2, Err: tt.err})
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			var body struct {
				Error struct {
					Code  string `json:"code"`
					Index *int   `json:"index"`
				} `json:"error"`
				Accepted *int `json:"accepted"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != tt.wantCode || body.Error.Index == nil || *body.Error.Index != 2 || body.Accepted == nil || *body.Accepted != 2 {
				t.Fatalf("body = %s, want code %s, index 2, accepted 2", w.Body, tt.wantCode)
			}
		})
	}
}
