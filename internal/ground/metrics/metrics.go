// Package metrics defines forbear's Prometheus metrics on a registry of its
// own (no global state), served at /metrics.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every metric. A nil *Metrics is valid and records nothing,
// so tests and tools can leave it out.
type Metrics struct {
	Registry   *prometheus.Registry
	deliveries *prometheus.CounterVec
	events     *prometheus.CounterVec
	fence      prometheus.Histogram
	provider   *prometheus.HistogramVec
	queueDepth *prometheus.GaugeVec
	published  prometheus.Counter
	compliance *prometheus.CounterVec
	sweep      prometheus.Histogram
	overruns   prometheus.Counter
	skipped    prometheus.Counter
}

// New registers every metric on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forbear_deliveries_total", Help: "Delivery records written, by channel and status.",
		}, []string{"channel", "status"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forbear_events_total", Help: "Events received, by type and result (applied, duplicate, error, dlq).",
		}, []string{"type", "result"}),
		fence: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "forbear_fence_seconds", Help: "Duration of one suppression fence round.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}),
		provider: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "forbear_provider_seconds", Help: "Duration of provider calls, by channel.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"channel"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "forbear_queue_depth", Help: "Reminders waiting for a worker, by channel.",
		}, []string{"channel"}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "forbear_reminders_published_total", Help: "Reminders published by sweeps.",
		}),
		compliance: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forbear_compliance_decisions_total",
			Help: "Reminders held by a compliance rule, by rule, status (deferred, capped), and where the rule's value comes from: pack (a preset, config, forbear, borrower) and citation (the article, or the key).",
		}, []string{"rule", "status", "pack", "citation"}),
		sweep: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "forbear_sweep_seconds", Help: "Duration of scheduler sweeps.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 15),
		}),
		overruns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "forbear_sweep_overruns_total", Help: "Sweeps that ran past scheduler.sweep_budget (counted when they cross it).",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "forbear_sweep_skipped_total", Help: "Scheduled sweeps skipped because the previous one was still running.",
		}),
	}
	m.Registry.MustRegister(m.deliveries, m.events, m.fence, m.provider, m.queueDepth, m.published, m.compliance,
		m.sweep, m.overruns, m.skipped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Delivery counts a delivery record.
func (m *Metrics) Delivery(channel, status string) {
	if m != nil {
		m.deliveries.WithLabelValues(channel, status).Inc()
	}
}

// Event counts an event by type and result.
func (m *Metrics) Event(typ, result string) {
	if m != nil {
		m.events.WithLabelValues(typ, result).Inc()
	}
}

// Fence observes one fence round.
func (m *Metrics) Fence(d time.Duration) {
	if m != nil {
		m.fence.Observe(d.Seconds())
	}
}

// Provider observes one provider call.
func (m *Metrics) Provider(channel string, d time.Duration) {
	if m != nil {
		m.provider.WithLabelValues(channel).Observe(d.Seconds())
	}
}

// QueueDepth sets the number of reminders waiting on a channel.
func (m *Metrics) QueueDepth(channel string, n uint64) {
	if m != nil {
		m.queueDepth.WithLabelValues(channel).Set(float64(n))
	}
}

// Published counts reminders a sweep published.
func (m *Metrics) Published(n int) {
	if m != nil {
		m.published.Add(float64(n))
	}
}

// Compliance counts a reminder held by a rule, with the pack and citation
// its value comes from (compliance.Source). Their values are few: one per
// rule of each preset, and the configuration keys.
func (m *Metrics) Compliance(rule, status, pack, citation string) {
	if m != nil {
		m.compliance.WithLabelValues(rule, status, pack, citation).Inc()
	}
}

// Sweep observes the duration of one finished sweep.
func (m *Metrics) Sweep(d time.Duration) {
	if m != nil {
		m.sweep.Observe(d.Seconds())
	}
}

// SweepOverrun counts a sweep crossing its budget.
func (m *Metrics) SweepOverrun() {
	if m != nil {
		m.overruns.Inc()
	}
}

// SweepSkipped counts a scheduled sweep skipped because the previous one
// was still running.
func (m *Metrics) SweepSkipped() {
	if m != nil {
		m.skipped.Inc()
	}
}
