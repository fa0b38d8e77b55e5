package support

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/ground/domain"
)

// Export formats.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// ErrExportTooLarge is an export of a borrower with more records than one
// export reads (audit.MaxExport).
var ErrExportTooLarge = errors.New("support: the borrower has more records than one export reads")

// Records reads a borrower's audit trail for an export (audit.Recorder):
// every read is a direct get by subject, a page at a time.
type Records interface {
	CountRecords(ctx context.Context, borrowerID string) (uint64, error)
	EachSuppressionChange(ctx context.Context, borrowerID string, fn func(domain.SuppressionChange) error) error
	EachDelivery(ctx context.Context, borrowerID string, fn func(domain.Delivery) error) error
}

// Export is one borrower's whole record, the JSON document of GET
// /v1/borrowers/{id}/export: the profile, the cases and agreements, the
// suppressions in force, every change of suppressions (who, when, what)
// and every delivery record (with the rendered text, reason and template
// version), both oldest first. BorrowerExport.WriteJSON writes it field by
// field, so the records stream rather than sit in memory.
type Export struct {
	ExportedAt         time.Time                  `json:"exported_at"`
	Borrower           domain.Borrower            `json:"borrower"`
	Cases              []domain.Case              `json:"cases"`
	Agreements         []domain.Agreement         `json:"agreements"`
	Suppressions       domain.Suppressions        `json:"suppressions"`
	SuppressionHistory []domain.SuppressionChange `json:"suppression_history"`
	Deliveries         []domain.Delivery          `json:"deliveries"`
	// Error, when present, says the export stopped early (NATS stopped
	// answering): records after the last one written are missing.
	Error string `json:"error,omitempty"`
}

// CSVHeader is the first row of the CSV export; every row has these
// columns. record is "suppression" (in force), "suppression_change" or
// "delivery"; each row fills the columns that apply to it.
var CSVHeader = []string{
	"record", "at",
	// delivery records
	"reminder_id", "loan_id", "channel", "status", "reason", "template", "template_version", "step", "category",
	"to", "provider_ref", "subject", "text",
	// suppressions and their changes
	"suppression", "suppression_id", "action", "by", "until",
	"instance",
}

// BorrowerExport is an export under way: the borrower's state, read when
// it was opened, and the records still to stream.
type BorrowerExport struct {
	head    Export
	records Records
}

// OpenExport reads what an export of borrower id starts with: the
// profile, cases, agreements and suppressions in force. An unknown borrower
// is store.ErrNotFound; one with more records than an export reads,
// ErrExportTooLarge (before anything is written).
func (s *Service) OpenExport(ctx context.Context, id string) (*BorrowerExport, error) {
	if s.o.Records == nil {
		return nil, errors.New("support: no audit trail to export")
	}
	st := s.o.State
	b, err := st.Borrower(ctx, id)
	if err != nil {
		return nil, err
	}
	n, err := s.o.Records.CountRecords(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	if n > audit.MaxExport {
		return nil, fmt.Errorf("%w: %d records", ErrExportTooLarge, n)
	}
	now := s.o.Clock.Now()
	head := Export{ExportedAt: now.UTC(), Borrower: b, Cases: []domain.Case{}, Agreements: []domain.Agreement{}}
	// An export is the borrower's record: one that would leave out a case
	// it could not read fails instead.
	cases, agreements, err := s.loansOf(ctx, b)
	if err != nil {
		return nil, err
	}
	head.Cases = append(head.Cases, cases...)
	head.Agreements = append(head.Agreements, agreements...)
	sup, err := st.Suppressions(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	head.Suppressions = sup.Listed(now)
	return &BorrowerExport{head: head, records: s.o.Records}, nil
}

// bufferSize is what an export holds before it writes: memory per export
// is this and one page of records.
const bufferSize = 32 << 10

// WriteJSON streams the export as one JSON document (see Export). An error
// while the records stream (the client went away, NATS stopped answering)
// ends the document with an "error" member, so what was written stays
// valid JSON that says it is incomplete, and is returned.
func (e *BorrowerExport) WriteJSON(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(w, bufferSize)
	enc := &jsonWriter{w: bw}
	h := e.head
	enc.raw(`{"exported_at":`)
	enc.value(h.ExportedAt)
	enc.raw(`,"borrower":`)
	enc.value(h.Borrower)
	enc.raw(`,"cases":`)
	enc.value(h.Cases)
	enc.raw(`,"agreements":`)
	enc.value(h.Agreements)
	enc.raw(`,"suppressions":`)
	enc.value(h.Suppressions)
	enc.raw(`,"suppression_history":[`)
	first := true
	err := e.records.EachSuppressionChange(ctx, h.Borrower.ID, func(c domain.SuppressionChange) error {
		enc.item(&first, c)
		return enc.err
	})
	enc.raw(`]`)
	if err == nil {
		enc.raw(`,"deliveries":[`)
		first = true
		err = e.records.EachDelivery(ctx, h.Borrower.ID, func(d domain.Delivery) error {
			enc.item(&first, d)
			return enc.err
		})
		enc.raw(`]`)
	}
	if err != nil {
		enc.raw(`,"error":`)
		enc.value("export stopped early: " + err.Error())
	}
	enc.raw("}\n")
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err == nil {
		err = enc.err
	}
	return err
}

// jsonWriter writes JSON pieces, keeping the first error.
type jsonWriter struct {
	w   *bufio.Writer
	err error
}

func (j *jsonWriter) raw(s string) {
	if j.err == nil {
		_, j.err = j.w.WriteString(s)
	}
}

func (j *jsonWriter) value(v any) {
	if j.err != nil {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		j.err = err
		return
	}
	_, j.err = j.w.Write(data)
}

// item writes v as the next element of an array.
func (j *jsonWriter) item(first *bool, v any) {
	if !*first {
		j.raw(",")
	}
	*first = false
	j.value(v)
}

// WriteCSV streams the export as CSV: CSVHeader, then a row per record:
// the suppressions in force, the suppression changes, the delivery
// records, each group oldest first. An error while the records stream ends
// the file with a row whose record is "error", and is returned.
func (e *BorrowerExport) WriteCSV(ctx context.Context, w io.Writer) error {
	cw := csv.NewWriter(bufio.NewWriterSize(w, bufferSize))
	row := func(values map[string]string) error {
		out := make([]string, len(CSVHeader))
		for i, name := range CSVHeader {
			out[i] = values[name]
		}
		return cw.Write(out)
	}
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	var err error
	for _, c := range inForce(e.head.Suppressions) {
		if err = row(changeRow("suppression", c)); err != nil {
			break
		}
	}
	if err == nil {
		err = e.records.EachSuppressionChange(ctx, e.head.Borrower.ID, func(c domain.SuppressionChange) error {
			return row(changeRow("suppression_change", c))
		})
	}
	if err == nil {
		err = e.records.EachDelivery(ctx, e.head.Borrower.ID, func(d domain.Delivery) error { return row(deliveryRow(d)) })
	}
	if err != nil {
		_ = row(map[string]string{"record": "error", "at": time.Now().UTC().Format(time.RFC3339Nano), "reason": "export stopped early: " + err.Error()})
	}
	cw.Flush()
	if ferr := cw.Error(); err == nil {
		err = ferr
	}
	return err
}

// inForce lists the suppressions in force as the changes that added them.
func inForce(s domain.Suppressions) []domain.SuppressionChange {
	return domain.SuppressionChanges(domain.Suppressions{BorrowerID: s.BorrowerID}, s, time.Time{}, "")
}

func changeRow(record string, c domain.SuppressionChange) map[string]string {
	action := c.Action
	if record == "suppression" {
		action = "in_force"
	}
	channels := make([]string, len(c.Channels))
	for i, ch := range c.Channels {
		channels[i] = string(ch)
	}
	r := map[string]string{
		"record": record, "at": timeText(c.At), "loan_id": strings.Join(c.LoanIDs, " "), "channel": strings.Join(channels, " "),
		"reason": c.Reason, "to": c.Address, "suppression": c.Kind, "suppression_id": c.ID, "action": action, "by": c.By,
		"instance": c.Instance,
	}
	if c.Until != nil {
		r["until"] = timeText(*c.Until)
	}
	return r
}

func deliveryRow(d domain.Delivery) map[string]string {
	version := ""
	if d.TemplateVersion > 0 {
		version = strconv.Itoa(d.TemplateVersion)
	}
	return map[string]string{
		"record": "delivery", "at": timeText(d.At), "reminder_id": d.ID, "loan_id": d.LoanID, "channel": string(d.Channel),
		"status": string(d.Status), "reason": d.Reason, "template": d.Template, "template_version": version, "step": d.Step,
		"category": string(d.Category), "to": d.To, "provider_ref": d.ProviderRef, "subject": d.Subject, "text": d.Text,
		"instance": d.Instance,
	}
}

// timeText is t in UTC, RFC 3339; empty for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
