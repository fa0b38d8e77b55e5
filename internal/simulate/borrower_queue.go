package simulate

import (
	"time"
)

// Event kinds, in the order they are handled at one instant: what intake
// applies first, then what the sweep publishes, then what the workers
// decide.
const (
	evChange = iota // a population event: a loan paid, an agreement started, a consent
	evDue           // a subject comes due in the due index
	evDecide        // a worker decides a published reminder
)

// event is one entry of a borrower's time-ordered queue.
type event struct {
	at   time.Time
	kind int
	seq  int
	sub  int      // evDue: the subject; evChange: the change
	p    *pending // evDecide
	gen  int      // evDue, evDecide: stale when it differs from the current one
}

func (e *event) before(f *event) bool {
	if !e.at.Equal(f.at) {
		return e.at.Before(f.at)
	}
	if e.kind != f.kind {
		return e.kind < f.kind
	}
	return e.seq < f.seq
}

// queue is a binary heap of events (no interface boxing, reused between
// borrowers).
type queue struct {
	es  []event
	seq int
}

func (q *queue) reset() { q.es, q.seq = q.es[:0], 0 }

func (q *queue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.es = append(q.es, e)
	i := len(q.es) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.es[i].before(&q.es[p]) {
			break
		}
		q.es[i], q.es[p] = q.es[p], q.es[i]
		i = p
	}
}

func (q *queue) pop() (event, bool) {
	if len(q.es) == 0 {
		return event{}, false
	}
	top := q.es[0]
	last := len(q.es) - 1
	q.es[0] = q.es[last]
	q.es = q.es[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && q.es[l].before(&q.es[m]) {
			m = l
		}
		if r < last && q.es[r].before(&q.es[m]) {
			m = r
		}
		if m == i {
			return top, true
		}
		q.es[i], q.es[m] = q.es[m], q.es[i]
		i = m
	}
}
