package logging

import (
	"fmt"
	"log/slog"
	"time"
)

// Namespace is the CloudWatch namespace of the hub's metrics.
const Namespace = "PaymentsHub"

// Metric is one value written in CloudWatch's Embedded Metric Format.
type Metric struct {
	Name  string
	Unit  string // Count, Milliseconds, ...
	Value float64
}

// Count is a Count metric of value n.
func Count(name string, n int) Metric { return Metric{Name: name, Unit: "Count", Value: float64(n)} }

// Metrics returns the attributes that turn the log line they are added to
// into CloudWatch metrics (Embedded Metric Format): CloudWatch Logs extracts
// the values from the line itself, so counting costs no API call and no
// extra line. The dimensions are the line's own fields (provider, reason):
// each of dimensionSets is one way to aggregate them (e.g. [["provider"],
// ["provider", "reason"]]); dims adds the values the line does not already
// carry. Metric names are CamelCase, where the hub's own fields are
// snake_case, so they never collide. A Count's unit is left out: it is
// CloudWatch's default, and every byte of a line is billed.
func Metrics(now time.Time, dims map[string]string, dimensionSets [][]string, metrics ...Metric) []slog.Attr {
	if len(metrics) == 0 {
		return nil
	}
	type def struct {
		Name string `json:"Name"`
		Unit string `json:"Unit,omitempty"`
	}
	defs := make([]def, len(metrics))
	attrs := make([]slog.Attr, 0, 1+len(dims)+len(metrics))
	for i, m := range metrics {
		defs[i] = def{Name: m.Name}
		if m.Unit != "Count" {
			defs[i].Unit = m.Unit
		}
	}
	attrs = append(attrs, slog.Any("_aws", map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  Namespace,
			"Dimensions": dimensionSets,
			"Metrics":    defs,
		}},
	}))
	for k, v := range dims {
		attrs = append(attrs, slog.String(k, v))
	}
	for _, m := range metrics {
		attrs = append(attrs, slog.Float64(m.Name, m.Value))
	}
	return attrs
}

// maxLogged bounds what a log line quotes of a string an outsider chose.
const maxLogged = 64

// Cut bounds a string that came from outside (a field name, a header value,
// an id in a payload) before it is logged: a 1 MB field name makes one short
// line, not a 1 MB one.
func Cut(s string) string {
	if len(s) <= maxLogged {
		return s
	}
	// Cut on a rune boundary.
	n := maxLogged
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:n], len(s))
}
