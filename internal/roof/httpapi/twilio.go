package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/twilio/twilio-go/client"

	"github.com/forbear/forbear/dispatcher/callback"
	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/twilioapi"
)

// TwilioCallbacks configures the provider callback routes (spec §7).
type TwilioCallbacks struct {
	Outcomes *callback.Outcomes
	// AuthTokens are the Twilio auth tokens a signature may be made with
	// (sms and voice may use different accounts).
	AuthTokens []string
	// PublicURL is how Twilio reaches forbear; signatures cover it.
	PublicURL string
}

// twilioRoutes are the provider callback routes; handle puts each behind
// twilioSigned.
func (s *Server) twilioRoutes(tc TwilioCallbacks) []Route {
	status := func(w http.ResponseWriter, r *http.Request) {
		if err := tc.Outcomes.Status(r.Context(), r.URL.Query(), r.PostForm); err != nil {
			var fe *intake.FieldError
			if errors.As(err, &fe) {
				// A signed callback we cannot read is worth a look: Twilio
				// changed a format, or something signs with our token.
				s.log.WithFields(logrus.Fields{"field": fe.Field, "value": logValue(r.PostForm.Get(fe.Field)),
					logging.FieldMsg: r.URL.Query().Get("r")}).Warn("twilio status callback refused: " + fe.Message)
			}
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
	inbound := func(w http.ResponseWriter, r *http.Request) {
		reply, err := tc.Outcomes.Inbound(r.Context(), r.PostForm.Get("From"), r.PostForm.Get("Body"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(twilioapi.MessageTwiML(reply)))
	}
	answer := func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("r")
		if id == "" {
			writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "r", Message: "the call's URL names its reminder (?r=)"})
			return
		}
		twiml, err := tc.Outcomes.Answer(r.Context(), id, r.PostForm.Get("AnsweredBy"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(twiml))
	}
	return []Route{
		{"POST", "/v1/providers/twilio/status", AccessTwilio, status},
		{"POST", "/v1/providers/twilio/inbound", AccessTwilio, inbound},
		{"POST", "/v1/providers/twilio/voice", AccessTwilio, answer},
	}
}

// twilioSigned lets through only requests whose X-Twilio-Signature matches
// the public URL and the form, under one of the configured auth tokens.
func (s *Server) twilioSigned(tc TwilioCallbacks, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			writeError(w, apiError{Status: http.StatusBadRequest, Code: "bad_body", Message: "could not read the form"})
			return
		}
		sig := r.Header.Get("X-Twilio-Signature")
		url := strings.TrimSuffix(tc.PublicURL, "/") + r.URL.RequestURI()
		params := make(map[string]string, len(r.PostForm))
		for k, v := range r.PostForm {
			if len(v) > 0 {
				params[k] = v[0]
			}
		}
		for _, tok := range tc.AuthTokens {
			v := client.NewRequestValidator(tok)
			if sig != "" && v.Validate(url, params, sig) {
				h(w, r)
				return
			}
		}
		writeError(w, apiError{Status: http.StatusForbidden, Code: "bad_signature", Message: "missing or invalid X-Twilio-Signature"})
	}
}

// logValue is a form value fit for a log line: masked (logging.Scrub) and
// cut to 32 bytes.
func logValue(v string) string {
	if len(v) > 32 {
		v = v[:32] + "..."
	}
	return logging.Scrub(v)
}
