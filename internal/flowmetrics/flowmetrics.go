// Package flowmetrics is the hub's flow over the last minutes, per
// provider, for the live view (`hubctl status --watch`): events processed,
// failed, retried, duplicates and mismatches per minute, webhooks accepted
// and rejected, and the time from receipt to applied (p50, p99).
//
// The processor and the intake already count these in their log lines
// (CloudWatch's Embedded Metric Format, internal/logging). On AWS the view
// reads them back from CloudWatch (CloudWatch). Locally there is no
// CloudWatch, so `hubctl work` and `hubctl dev` aggregate the same values
// from their own log lines as they are written (Sink) and serve them on a
// loopback address (Sink.ServeHTTP), which the view reads (Remote). Both
// give the same Snapshot.
package flowmetrics

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/processing"
)

// Minutes is the window a Snapshot covers.
const Minutes = 15

// Counts are the metrics counted per minute, by their CloudWatch names.
var Counts = []string{
	processing.MetricProcessed, processing.MetricFailed, processing.MetricRetried, processing.MetricDuplicate,
	processing.MetricMismatch, processing.MetricAmountMismatch, intake.MetricAccepted, intake.MetricRejected,
}

// Latency is the metric whose percentiles are shown.
const Latency = processing.MetricLatency

// Providers are the dimension values read.
var Providers = []string{envelope.ProviderStripe, envelope.ProviderMonetbil}

// Snapshot is the flow of the last Minutes minutes.
type Snapshot struct {
	// Start is the first minute of the window; the last one is the
	// current, partial minute.
	Start   time.Time `json:"start"`
	Minutes int       `json:"minutes"`
	// Source says where it was read: "cloudwatch" or "local".
	Source    string          `json:"source"`
	Providers map[string]Flow `json:"providers"`
}

// Flow is one provider's flow.
type Flow struct {
	// PerMinute holds, for each metric of Counts, one value per minute,
	// oldest first.
	PerMinute map[string][]float64 `json:"per_minute"`
	// LatencyP50 and LatencyP99 are ReceiptToAppliedMs over the window;
	// nil when nothing was applied.
	LatencyP50 *float64 `json:"latency_p50_ms"`
	LatencyP99 *float64 `json:"latency_p99_ms"`
}

// Source reads a Snapshot.
type Source interface {
	Read(ctx context.Context) (Snapshot, error)
}

// Total sums a metric over the window.
func (f Flow) Total(metric string) float64 {
	t := 0.0
	for _, v := range f.PerMinute[metric] {
		t += v
	}
	return t
}

// Last is a metric's value in the current minute.
func (f Flow) Last(metric string) float64 {
	if vs := f.PerMinute[metric]; len(vs) > 0 {
		return vs[len(vs)-1]
	}
	return 0
}

// window returns the start of the window ending with now's minute.
func window(now time.Time) time.Time {
	return now.UTC().Truncate(time.Minute).Add(-(Minutes - 1) * time.Minute)
}

// emptyFlow has a zero for every metric and minute.
func emptyFlow() Flow {
	f := Flow{PerMinute: make(map[string][]float64, len(Counts))}
	for _, m := range Counts {
		f.PerMinute[m] = make([]float64, Minutes)
	}
	return f
}

// percentile returns the p-th percentile (nearest rank) of samples, or nil.
func percentile(samples []float64, p float64) *float64 {
	if len(samples) == 0 {
		return nil
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	v := s[min(max(i, 0), len(s)-1)]
	return &v
}

// Throttled reads Source at most once per Every and answers with the last
// snapshot in between: CloudWatch bills GetMetricData per metric read, and
// its values are per minute anyway.
type Throttled struct {
	Source Source
	Every  time.Duration
	mu     sync.Mutex
	at     time.Time
	snap   Snapshot
}

// Read implements Source.
func (t *Throttled) Read(ctx context.Context) (Snapshot, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.at.IsZero() && time.Since(t.at) < t.Every {
		return t.snap, nil
	}
	snap, err := t.Source.Read(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	t.at, t.snap = time.Now(), snap
	return snap, nil
}
