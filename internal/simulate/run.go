package simulate

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// Run limits.
const (
	// MaxDays bounds a run (ten years).
	MaxDays = 3660
	// DefaultKeep is how many borrowers' schedules a run keeps when none
	// are named.
	DefaultKeep = 5
	// MaxKeep bounds the schedules a run keeps.
	MaxKeep = 100
)

// Options shape a run.
type Options struct {
	// Start is when the run starts; it is moved back to 00:00 of its day
	// in the setup's zone.
	Start time.Time
	// Days is how many days the run covers (1 to MaxDays).
	Days int
	// Workers is how many borrowers are simulated at once; default
	// GOMAXPROCS.
	Workers int
	// Keep names the borrowers whose exact schedules the result keeps;
	// empty keeps the first KeepFirst of the population.
	Keep []string
	// KeepFirst is how many schedules to keep when Keep is empty (default
	// DefaultKeep, at most MaxKeep; negative keeps none).
	KeepFirst int
	// CallAnswered is the share (0 to 1) of placed calls that connect: a
	// connected call counts as a conversation (no more calls about the
	// loan for compliance.after_conversation, and toward
	// max_connected_per_day). The other calls ring unanswered, which
	// counts toward the call caps as it does live. Which calls connect
	// depends only on the reminder id, so two variants see the same
	// answers. Default 0: no call connects, which is also what the live
	// system records until a provider reports an answer.
	CallAnswered float64
}

func (o *Options) check() error {
	switch {
	case o.Days < 1 || o.Days > MaxDays:
		return fmt.Errorf("days: must be 1 to %d, got %d", MaxDays, o.Days)
	case o.CallAnswered < 0 || o.CallAnswered > 1:
		return fmt.Errorf("call_answered: must be 0 to 1, got %v", o.CallAnswered)
	case len(o.Keep) > MaxKeep:
		return fmt.Errorf("borrowers: at most %d schedules, got %d", MaxKeep, len(o.Keep))
	case o.Start.IsZero():
		return fmt.Errorf("start: required")
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.KeepFirst == 0 {
		o.KeepFirst = DefaultKeep
	}
	o.KeepFirst = min(o.KeepFirst, MaxKeep)
	return nil
}

// Run simulates every borrower of src over the span of o with setup s. It
// runs the scheduler's planning, the compliance rules and the templates
// on a virtual clock, borrower by borrower (they are independent), in a
// bounded pool of workers, and folds each borrower into per-day counts as
// it goes: memory grows with the workers and the days, not with the
// reminders. Nothing is published or stored.
func Run(ctx context.Context, s Setup, src Source, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	began := time.Now()
	y, m, d := o.Start.In(s.Zone).Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, s.Zone)
	cal := newCalendar(start, o.Days, s.Zone)
	keep := map[string]bool{}
	for _, id := range o.Keep {
		keep[id] = true
	}
	n := src.Len()
	var next atomic.Int64
	aggs := make([]*aggregate, o.Workers)
	var mu sync.Mutex
	var schedules []Schedule
	var wg sync.WaitGroup
	for w := range o.Workers {
		aggs[w] = newAggregate(o.Days)
		wg.Go(func() {
			sim := newSim(&s, &o, cal, aggs[w])
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				b := src.Borrower(i)
				kept := keep[b.BorrowerID] || len(o.Keep) == 0 && i < o.KeepFirst
				if sched := sim.run(b, kept); sched != nil {
					mu.Lock()
					schedules = append(schedules, *sched)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	total := aggs[0]
	for _, a := range aggs[1:] {
		total.add(a)
	}
	res := total.result(s, cal)
	res.Borrowers, res.CallAnswered = n, o.CallAnswered
	sort.Slice(schedules, func(i, j int) bool { return schedules[i].BorrowerID < schedules[j].BorrowerID })
	if schedules == nil {
		schedules = []Schedule{}
	}
	res.Schedules = schedules
	res.Elapsed = time.Since(began)
	return res, nil
}

// calendar maps instants to the run's days and hours in its zone.
type calendar struct {
	zone   *time.Location
	starts []time.Time // the start of every day, and the end of the run
	secs   []int64     // starts in Unix seconds (whole seconds: compared with an instant's Unix seconds, the same order)
}

func newCalendar(start time.Time, days int, zone *time.Location) *calendar {
	c := &calendar{zone: zone, starts: make([]time.Time, days+1), secs: make([]int64, days+1)}
	for i := range c.starts {
		c.starts[i] = time.Date(start.Year(), start.Month(), start.Day()+i, 0, 0, 0, 0, zone)
		c.secs[i] = c.starts[i].Unix()
	}
	return c
}

func (c *calendar) start() time.Time { return c.starts[0] }
func (c *calendar) end() time.Time   { return c.starts[len(c.starts)-1] }

// day is the index of t's day, or -1 outside the run.
func (c *calendar) day(t time.Time) int {
	s := t.Unix()
	i := sort.Search(len(c.secs), func(i int) bool { return c.secs[i] > s }) - 1
	if i < 0 || i >= len(c.starts)-1 {
		return -1
	}
	return i
}

// aggregate is one worker's counts; workers' aggregates are added at the
// end, so counting takes no lock. Sums do not depend on the order they
// are made in, so the result is the same on any number of workers.
type aggregate struct {
	days     [][len4]chanAgg
	segments int
}

const len4 = 4 // channels

// chanAgg is one day's counts of one channel. A day of a channel sees a
// handful of rules and of hours held until, so they are counted in short
// lists, found by a linear search (cheaper than hashing a key into a map
// for every decision).
type chanAgg struct {
	counts   [6]int // by Statuses
	segments int
	hours    [24]int // sends per hour
	rules    []ruleCount
	untils   []untilCount
}

// ruleCount counts the holds of one status by one rule.
type ruleCount struct {
	status int
	rule   string
	n      int
}

// untilCount counts the deferrals held until one hour.
type untilCount struct {
	hour int64 // the hour held until, in Unix seconds
	n    int
}

func (x *chanAgg) addRule(status int, rule string, n int) {
	for i := range x.rules {
		if r := &x.rules[i]; r.status == status && r.rule == rule {
			r.n += n
			return
		}
	}
	x.rules = append(x.rules, ruleCount{status: status, rule: rule, n: n})
}

func (x *chanAgg) addUntil(hour int64, n int) {
	for i := range x.untils {
		if u := &x.untils[i]; u.hour == hour {
			u.n += n
			return
		}
	}
	x.untils = append(x.untils, untilCount{hour: hour, n: n})
}

func newAggregate(days int) *aggregate {
	return &aggregate{days: make([][len4]chanAgg, days)}
}

func channelIndex(ch domain.Channel) int {
	for i, c := range domain.Channels {
		if c == ch {
			return i
		}
	}
	return 0
}

func (a *aggregate) add(b *aggregate) {
	for d := range a.days {
		for c := range a.days[d] {
			x, y := &a.days[d][c], &b.days[d][c]
			for i := range x.counts {
				x.counts[i] += y.counts[i]
			}
			for i := range x.hours {
				x.hours[i] += y.hours[i]
			}
			x.segments += y.segments
			for _, r := range y.rules {
				x.addRule(r.status, r.rule, r.n)
			}
			for _, u := range y.untils {
				x.addUntil(u.hour, u.n)
			}
		}
	}
	a.segments += b.segments
}

// result lays the counts out per day and channel, with the capacity of
// every day.
func (a *aggregate) result(s Setup, cal *calendar) *Result {
	res := &Result{Variant: s.Name, Start: cal.start(), Days: len(a.days), Zone: s.Zone.String(),
		Totals: map[string]int{}, Rules: map[string]int{}, Segments: a.segments}
	for _, st := range Statuses {
		res.Totals[st] = 0
	}
	res.PerDay = make([]Day, len(a.days))
	for d := range a.days {
		day := Day{Date: cal.starts[d].Format(time.DateOnly), Channels: map[domain.Channel]*ChannelDay{}}
		for c, ch := range domain.Channels {
			x := &a.days[d][c]
			cd := &ChannelDay{Segments: x.segments, SentByHour: x.hours}
			for i, st := range Statuses {
				*cd.count(st) = x.counts[i]
				res.Totals[st] += x.counts[i]
			}
			for _, r := range x.rules {
				if cd.Rules == nil {
					cd.Rules = map[string]int{}
				}
				key := Statuses[r.status] + "/" + r.rule
				cd.Rules[key] += r.n
				res.Rules[key] += r.n
			}
			for _, u := range x.untils {
				if cd.DeferredUntil == nil {
					cd.DeferredUntil = map[string]int{}
				}
				at := time.Unix(u.hour, 0).In(cal.zone)
				label := at.Format("15:04")
				if at.Format(time.DateOnly) != day.Date {
					label = at.Format("2006-01-02 15:04")
				}
				cd.DeferredUntil[label] += u.n
			}
			day.Channels[ch] = cd
		}
		res.PerDay[d] = day
	}
	planCapacity(res, s)
	return res
}

// sortedRuleKeys lists the keys of a rules map in order.
func sortedRuleKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
