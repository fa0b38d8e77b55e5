package retention

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
)

// scanKey holds how far the records stored before the index have been
// indexed.
const scanKey = "scan"

// scanState is the value of scanKey: the records of the DELIVERIES stream
// up to Through (its last sequence when the first run began) are indexed
// from Next on; the scan is over when Next passes Through. Later records
// were touched by the instances that wrote them.
type scanState struct {
	Next    uint64 `json:"next"`
	Through uint64 `json:"through"`
}

// backfill indexes, up to MaxScanPerRun of them, the records stored before
// the index existed (by a forbear without it): without it, a borrower idle
// since before the upgrade would never be purged. Each borrower found is
// indexed at the day of its newest record in the part scanned; an entry
// that this moves back in time is set right when its day comes up, since
// a purge reads the borrower's newest record first.
func (p *Purger) backfill(ctx context.Context, rep *Report) error {
	st, rev, err := p.scans.Get(ctx, scanKey)
	switch {
	case store.IsNotFound(err):
		info, err := p.deliveries.Info(ctx)
		if err != nil {
			return fmt.Errorf("retention: read stream %s: %w", store.DeliveriesStream, err)
		}
		st = scanState{Next: info.State.FirstSeq, Through: info.State.LastSeq}
	case err != nil:
		return fmt.Errorf("retention: read the scan: %w", err)
	}
	if rev != 0 && st.Next > st.Through {
		return nil // done long ago
	}
	// At most one entry per borrower scanned: bounded by MaxScanPerRun.
	days := map[string]string{}
	next, err := p.read.Scan(ctx, store.DeliveriesStream, store.DeliveriesPrefix+">", st.Next, st.Through, p.o.MaxScanPerRun,
		func(m *jetstream.RawStreamMsg) error {
			rep.Scanned++
			if tok, at, ok := recordOf(m); ok && day(at) > days[tok] {
				days[tok] = day(at)
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("retention: index older records: %w", err)
	}
	// The entries are stored before the scan moves past their records.
	if err := p.o.Index.set(ctx, days); err != nil {
		return err
	}
	st.Next = next
	if _, err := p.scans.PutAt(ctx, scanKey, st, rev); err != nil && !store.IsWrongSequence(err) { // another run went on: either is fine
		return fmt.Errorf("retention: save the scan: %w", err)
	}
	if st.Next <= st.Through {
		rep.More = true
	}
	return nil
}

// recordOf is the borrower (token) of a stored record and the record's
// time: its own "at", else the stream's.
func recordOf(m *jetstream.RawStreamMsg) (string, time.Time, bool) {
	rest, ok := strings.CutPrefix(m.Subject, store.DeliveriesPrefix)
	if !ok {
		return "", time.Time{}, false
	}
	tok, _, _ := strings.Cut(rest, ".")
	if tok == "" {
		return "", time.Time{}, false
	}
	at := m.Time
	var rec struct {
		At time.Time `json:"at"`
	}
	if json.Unmarshal(m.Data, &rec) == nil && !rec.At.IsZero() {
		at = rec.At
	}
	return tok, at, true
}
