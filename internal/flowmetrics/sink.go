package flowmetrics

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// maxSamples bounds the latency samples kept per provider and minute.
const maxSamples = 5000

// Sink aggregates the metric values of the log lines written through its
// Handler, per provider and minute, for the last Minutes minutes. It is
// safe for concurrent use.
type Sink struct {
	now func() time.Time
	mu  sync.Mutex
	// minutes by start of minute, then by provider.
	minutes map[time.Time]map[string]*tally
}

type tally struct {
	counts  map[string]float64
	latency []float64
}

// NewSink returns an empty sink; now is its clock (nil: time.Now).
func NewSink(now func() time.Time) *Sink {
	if now == nil {
		now = time.Now
	}
	return &Sink{now: now, minutes: map[time.Time]map[string]*tally{}}
}

// add counts the metric values of one line of provider at t.
func (s *Sink) add(t time.Time, provider string, values map[string]float64) {
	minute := t.UTC().Truncate(time.Minute)
	s.mu.Lock()
	defer s.mu.Unlock()
	byProvider := s.minutes[minute]
	if byProvider == nil {
		byProvider = map[string]*tally{}
		s.minutes[minute] = byProvider
		s.prune(minute)
	}
	tl := byProvider[provider]
	if tl == nil {
		tl = &tally{counts: map[string]float64{}}
		byProvider[provider] = tl
	}
	for name, v := range values {
		if name == Latency {
			if len(tl.latency) < maxSamples {
				tl.latency = append(tl.latency, v)
			}
			continue
		}
		tl.counts[name] += v
	}
}

// prune drops the minutes before the window ending at minute.
func (s *Sink) prune(minute time.Time) {
	start := minute.Add(-(Minutes - 1) * time.Minute)
	for m := range s.minutes {
		if m.Before(start) {
			delete(s.minutes, m)
		}
	}
}

// Snapshot is the sink's window ending now.
func (s *Sink) Snapshot() Snapshot {
	start := window(s.now())
	snap := Snapshot{Start: start, Minutes: Minutes, Source: "local", Providers: map[string]Flow{}}
	latency := map[string][]float64{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range Providers {
		snap.Providers[p] = emptyFlow()
	}
	for minute, byProvider := range s.minutes {
		i := int(minute.Sub(start) / time.Minute)
		if i < 0 || i >= Minutes {
			continue
		}
		for p, tl := range byProvider {
			f, ok := snap.Providers[p]
			if !ok {
				f = emptyFlow()
				snap.Providers[p] = f
			}
			for name, v := range tl.counts {
				if vs, ok := f.PerMinute[name]; ok {
					vs[i] += v
				}
			}
			latency[p] = append(latency[p], tl.latency...)
		}
	}
	for p, f := range snap.Providers {
		f.LatencyP50, f.LatencyP99 = percentile(latency[p], 50), percentile(latency[p], 99)
		snap.Providers[p] = f
	}
	return snap
}

// ServeHTTP answers GET with the Snapshot as JSON.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.Snapshot())
}

// Logger returns log, which also counts into the sink (see Handler).
func (s *Sink) Logger(log *slog.Logger) *slog.Logger { return slog.New(s.Handler(log.Handler())) }

// Handler returns next, which also counts into the sink the metric values
// of every line that carries them (an "_aws" attribute, the Embedded Metric
// Format's), whatever next's level lets through.
func (s *Sink) Handler(next slog.Handler) slog.Handler { return &handler{next: next, sink: s} }

type handler struct {
	next  slog.Handler
	sink  *Sink
	attrs []slog.Attr // from WithAttrs, outside any group
	group bool        // attributes added from now on are in a group
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo && !h.group {
		h.collect(r)
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

// collect reads a line's provider and metric values.
func (h *handler) collect(r slog.Record) {
	var provider string
	var emf bool
	t := r.Time
	values := map[string]float64{}
	visit := func(a slog.Attr) {
		switch {
		case a.Key == "_aws":
			emf = true
			if at, ok := emfTime(a.Value); ok {
				t = at
			}
		case a.Key == "provider" && a.Value.Kind() == slog.KindString:
			provider = a.Value.String()
		case a.Value.Kind() == slog.KindFloat64 && (a.Key == Latency || slices.Contains(Counts, a.Key)):
			values[a.Key] = a.Value.Float64()
		}
	}
	for _, a := range h.attrs {
		visitInline(a, visit)
	}
	r.Attrs(func(a slog.Attr) bool { visitInline(a, visit); return true })
	if emf && provider != "" && len(values) > 0 {
		if t.IsZero() {
			t = h.sink.now()
		}
		h.sink.add(t, provider, values)
	}
}

// emfTime reads the time CloudWatch files a line's metrics under: the
// Embedded Metric Format's Timestamp (unix milliseconds).
func emfTime(v slog.Value) (time.Time, bool) {
	m, ok := v.Any().(map[string]any)
	if !ok {
		return time.Time{}, false
	}
	ms, ok := m["Timestamp"].(int64)
	return time.UnixMilli(ms), ok
}

// visitInline visits a, or the attributes of a group without a name.
func visitInline(a slog.Attr, visit func(slog.Attr)) {
	if a.Value.Kind() == slog.KindGroup && a.Key == "" {
		for _, g := range a.Value.Group() {
			visitInline(g, visit)
		}
		return
	}
	visit(a)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	if !h.group {
		c.attrs = append(slices.Clone(h.attrs), attrs...)
	}
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	c.group = c.group || name != ""
	return &c
}
