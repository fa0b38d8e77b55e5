package httpapi

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/domain"
)

const unsubscribePurpose = "unsubscribe-email"

// UnsubscribeURL is the signed link an email carries (body and
// List-Unsubscribe header) for one borrower and address.
func UnsubscribeURL(s interface {
	Sign(purpose string, parts ...string) string
}, publicURL, borrowerID, address string) string {
	q := url.Values{"b": {borrowerID}, "a": {address}, "sig": {s.Sign(unsubscribePurpose, borrowerID, address)}}
	return publicURL + "/v1/unsubscribe?" + q.Encode()
}

func (s *Server) postRead(w http.ResponseWriter, r *http.Request) {
	if s.o.Inbox == nil {
		writeError(w, errNotFound)
		return
	}
	err := s.o.Inbox.MarkRead(r.Context(), r.PathValue("id"), r.PathValue("msg_id"))
	if err != nil {
		if errors.Is(err, intake.ErrNotFound) {
			writeError(w, errNotFound)
			return
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) postBorrowerToken(w http.ResponseWriter, r *http.Request) {
	b, ok := s.borrower(w, r)
	if !ok {
		return
	}
	if s.o.Signer == nil {
		writeError(w, errNotFound)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"borrower_id": b.ID, "token": s.o.Signer.BorrowerToken(b.ID)})
}

var unsubscribePage = template.Must(template.New("u").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Unsubscribe</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto">
{{if .Done}}<p>{{.Address}} will receive no more emails about this account. / 该邮箱将不再收到此账户的邮件。</p>
{{else}}<p>Stop emails to {{.Address}}? / 停止向 {{.Address}} 发送邮件？</p>
<form method="post"><input type="hidden" name="b" value="{{.Borrower}}"><input type="hidden" name="a" value="{{.Address}}">
<input type="hidden" name="sig" value="{{.Sig}}"><button type="submit">Unsubscribe / 退订</button></form>{{end}}
</body></html>`))

// getUnsubscribe shows a confirmation form: a link scanner that fetches the
// link must not unsubscribe anyone; the POST (a person's click, or a mail
// client's RFC 8058 one-click) does.
func (s *Server) getUnsubscribe(w http.ResponseWriter, r *http.Request) {
	b, a, sig, ok := s.unsubscribeParams(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = unsubscribePage.Execute(w, map[string]any{"Borrower": b, "Address": a, "Sig": sig})
}

func (s *Server) postUnsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	b, a, _, ok := s.unsubscribeParams(w, r)
	if !ok {
		return
	}
	o := domain.OptOut{Channel: domain.Email, Address: a, Source: "unsubscribe link", At: time.Now()}
	if err := s.o.Intake.OptOutNow(r.Context(), b, o); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = unsubscribePage.Execute(w, map[string]any{"Done": true, "Address": a})
}

func (s *Server) unsubscribeParams(w http.ResponseWriter, r *http.Request) (borrower, address, sig string, ok bool) {
	if err := r.ParseForm(); err != nil {
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "bad_body", Message: "could not read the form"})
		return "", "", "", false
	}
	borrower, address, sig = r.Form.Get("b"), r.Form.Get("a"), r.Form.Get("sig")
	if s.o.Signer == nil || borrower == "" || address == "" || s.o.Signer.Verify(sig, unsubscribePurpose, borrower, address) != nil {
		writeError(w, apiError{Status: http.StatusForbidden, Code: "bad_signature", Message: "this unsubscribe link is not valid"})
		return "", "", "", false
	}
	return borrower, address, sig, true
}
