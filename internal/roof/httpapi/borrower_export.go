package httpapi

import (
	"errors"
	"net/http"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/support"
)

// getExport streams one borrower's whole record (support.OpenExport) as
// JSON (the default) or CSV (?format=csv), as a download.
func (s *Server) getExport(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = support.FormatJSON
	}
	if format != support.FormatJSON && format != support.FormatCSV {
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: "format", Message: "format must be json or csv"})
		return
	}
	id := r.PathValue("id")
	exp, err := s.o.Support.OpenExport(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, apiError{Status: http.StatusNotFound, Code: "not_found", Message: "unknown borrower", Field: "id"})
		return
	case errors.Is(err, support.ErrExportTooLarge):
		writeError(w, apiError{Status: http.StatusConflict, Code: "export_too_large", Message: err.Error()})
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="borrower-`+store.Token(id)+`.`+format+`"`)
	if format == support.FormatCSV {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		err = exp.WriteCSV(r.Context(), w)
	} else {
		h.Set("Content-Type", "application/json")
		err = exp.WriteJSON(r.Context(), w)
	}
	if err != nil {
		// The answer has begun: its end says it is incomplete.
		s.log.WithError(err).WithFields(logrus.Fields{logging.FieldBorrower: id, "format": format}).Warn("borrower export stopped early")
	}
}
