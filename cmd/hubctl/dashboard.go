package main

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payments-hub/hub/internal/flowmetrics"
	"github.com/payments-hub/hub/internal/hubstatus"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/processing"
)

// width is the dashboard's width: it fits an 80-column terminal.
const width = 80

// frame is one screen of `status --watch`.
type frame struct {
	st hubstatus.Status
	// flow is nil when the metrics could not be read (flowNote says why).
	flow     *flowmetrics.Snapshot
	flowNote string
	// source names where the metrics come from.
	source   string
	interval time.Duration
	// refreshNote says why the last refresh failed (the frame is older).
	refreshNote string
}

// rows of the flow table: the label and the metric.
var flowRows = []struct{ label, metric string }{
	{"processed", processing.MetricProcessed},
	{"failed", processing.MetricFailed},
	{"retried", processing.MetricRetried},
	{"duplicates", processing.MetricDuplicate},
}

// lines renders the frame, each line at most width columns.
func (f frame) lines() []string {
	now := f.st.CollectedAt
	out := []string{
		spread("Payments Hub - live", now.Format("2006-01-02 15:04:05 UTC")),
		fmt.Sprintf("q or Ctrl-C quits. Every %s. Metrics: %s", f.interval, f.source),
		"",
	}
	if f.refreshNote != "" {
		out[2] = "Refresh failed, showing the last one: " + f.refreshNote
	}
	out = append(out, f.flowLines()...)
	out = append(out, "")
	out = append(out, queueLines(f.st)...)
	out = append(out, "", nextRedriveLine(f.st, now))
	out = append(out, failureLines(f.st)...)
	for i, l := range out {
		out[i] = cut(l, width)
	}
	return out
}

// flowLines are the per-provider flow of the last 15 minutes.
func (f frame) flowLines() []string {
	if f.flow == nil {
		return []string{"Flow: unavailable (" + f.flowNote + ")"}
	}
	out := []string{fmt.Sprintf("%-21s %-15s %8s %9s", "", "per minute, 15 min", "15 min", "last min")}
	for _, p := range flowmetrics.Providers {
		fl, ok := f.flow.Providers[p]
		if !ok {
			continue
		}
		for i, r := range flowRows {
			name := ""
			if i == 0 {
				name = p
			}
			out = append(out, fmt.Sprintf("%-9s %-11s %-15s %8.0f %9.0f", name, r.label, sparkline(fl.PerMinute[r.metric]), fl.Total(r.metric), fl.Last(r.metric)))
		}
		out = append(out, fmt.Sprintf("%-9s %-11s accepted %.0f, rejected %.0f in 15 min", "", "webhooks", fl.Total(intake.MetricAccepted), fl.Total(intake.MetricRejected)))
		out = append(out, fmt.Sprintf("%-9s %-11s p50 %s, p99 %s (receipt to applied)", "", "latency", millis(fl.LatencyP50), millis(fl.LatencyP99)))
	}
	return out
}

// sparkline draws one character per minute, scaled to the largest value:
// "_" is none, "@" the most.
func sparkline(vs []float64) string {
	const levels = ".:-=+*#%@"
	top := 0.0
	for _, v := range vs {
		top = max(top, v)
	}
	var b strings.Builder
	for _, v := range vs {
		if v <= 0 || top == 0 {
			b.WriteByte('_')
			continue
		}
		b.WriteByte(levels[min(int(v/top*float64(len(levels)-1)+0.5), len(levels)-1)])
	}
	return b.String()
}

func millis(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f ms", *v)
}

// queueLines are both queues' depth and oldest message.
func queueLines(st hubstatus.Status) []string {
	name := max(len("QUEUE"), min(30, max(len(st.Queue.Name), len(st.DLQ.Name))))
	out := []string{fmt.Sprintf("%-*s %8s %9s %7s  %s", name, "QUEUE", "VISIBLE", "IN FLIGHT", "DELAYED", "OLDEST")}
	for _, q := range []hubstatus.QueueStatus{st.Queue, st.DLQ} {
		age := "unknown"
		if q.OldestAgeSeconds != nil {
			age = (time.Duration(*q.OldestAgeSeconds) * time.Second).String()
		}
		out = append(out, fmt.Sprintf("%-*s %8d %9d %7d  %s", name, cut(q.Name, name), q.Visible, q.InFlight, q.Delayed, age))
	}
	return out
}

// nextRedriveLine says when the next automatic redrive round is due.
func nextRedriveLine(st hubstatus.Status, now time.Time) string {
	n := st.NextRedrive
	switch {
	case st.AutoRedrive == "off":
		return "Automatic redrive: off"
	case st.FailuresNote != "":
		return "Next automatic redrive: unknown (" + st.FailuresNote + ")"
	case n == nil:
		return "Next automatic redrive: none to come"
	}
	when := "due now"
	if n.DueAt.After(now) {
		when = "in " + n.DueAt.Sub(now).Round(time.Second).String()
	}
	return fmt.Sprintf("Next automatic redrive: %s, round %d/%d of %s %s", when, n.Round, n.Rounds, n.Provider, n.EventKey)
}

// failureLines are the last failures recorded.
func failureLines(st hubstatus.Status) []string {
	if len(st.LastFailures) == 0 {
		return []string{"Last failures: none"}
	}
	out := []string{"Last failures:"}
	for _, r := range st.LastFailures {
		out = append(out, fmt.Sprintf("  %s %-8s %s  %s", r.LastFailedAt.UTC().Format("15:04:05"), r.Provider, r.EventKey, oneLine(r.LastError, width)))
	}
	return out
}

// spread puts left and right on one line of width columns.
func spread(left, right string) string {
	gap := width - utf8.RuneCountInString(left) - utf8.RuneCountInString(right)
	return left + strings.Repeat(" ", max(gap, 1)) + right
}

// cut keeps the first n columns of s.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "~"
}
