package flowmetrics_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/payments-hub/hub/internal/flowmetrics"
	"github.com/payments-hub/hub/internal/logging"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 30, 0, time.UTC)

// clock is a settable clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// line logs one attempt's last line as the processor does: provider on the
// logger, the metrics on the line.
func line(log *slog.Logger, at time.Time, provider string, metrics ...logging.Metric) {
	log.With("provider", provider, "event_key", "k").LogAttrs(context.Background(), slog.LevelInfo, "processed", logging.Metrics(at, nil, [][]string{{"provider"}}, metrics...)...)
}

func TestTheSinkCountsTheMetricsOfTheLinesPerProviderAndMinute(t *testing.T) {
	t.Parallel()
	c := &clock{now: t0}
	sink := flowmetrics.NewSink(c.Now)
	var out bytes.Buffer
	// The log's own level drops info lines: the sink counts them anyway.
	log := sink.Logger(logging.New(&out, logging.FormatJSON, slog.LevelError))
	latency := func(ms float64) logging.Metric {
		return logging.Metric{Name: flowmetrics.Latency, Unit: "Milliseconds", Value: ms}
	}
	for i := range 100 {
		line(log, t0, "monetbil", logging.Count("EventsProcessed", 1), latency(float64(i+1)))
	}
	line(log, t0.Add(-3*time.Minute), "stripe", logging.Count("EventsDuplicate", 1))
	line(log, t0.Add(-20*time.Minute), "stripe", logging.Count("EventsProcessed", 1)) // outside the window
	line(log, t0, "stripe", logging.Count("EventsRetried", 1))
	log.Info("not a metric line", "provider", "stripe", "EventsProcessed", 5.0)
	log.Error("job failed", "provider", "monetbil", logging.Err(fmt.Errorf("x")), slog.GroupAttrs("", logging.Metrics(t0, nil, nil, logging.Count("EventsFailed", 1))...))
	if out.Len() == 0 || strings.Contains(out.String(), "processed") {
		t.Fatalf("the log's own level is not kept: %s", out.String())
	}

	s := sink.Snapshot()
	if !s.Start.Equal(time.Date(2026, 11, 27, 11, 46, 0, 0, time.UTC)) || s.Minutes != 15 || s.Source != "local" {
		t.Fatalf("window %s %d %s", s.Start, s.Minutes, s.Source)
	}
	mb, st := s.Providers["monetbil"], s.Providers["stripe"]
	if mb.Last("EventsProcessed") != 100 || mb.Total("EventsProcessed") != 100 || mb.Last("EventsFailed") != 1 {
		t.Errorf("monetbil %+v", mb.PerMinute)
	}
	if *mb.LatencyP50 != 50 || *mb.LatencyP99 != 99 {
		t.Errorf("latency p50 %v p99 %v", *mb.LatencyP50, *mb.LatencyP99)
	}
	if st.PerMinute["EventsDuplicate"][11] != 1 || st.Last("EventsRetried") != 1 || st.Total("EventsProcessed") != 0 || st.LatencyP50 != nil {
		t.Errorf("stripe %+v", st)
	}

	// Served as JSON, read back the same.
	srv := httptest.NewServer(sink)
	defer srv.Close()
	got, err := flowmetrics.Remote{URL: srv.URL}.Read(context.Background())
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("remote read %+v, %v\nwant %+v", got, err, s)
	}
	// A quarter of an hour later, the window has moved past them all.
	c.now = t0.Add(15 * time.Minute)
	if s := sink.Snapshot(); s.Providers["monetbil"].Total("EventsProcessed") != 0 || s.Providers["monetbil"].LatencyP50 != nil {
		t.Errorf("old minutes still counted: %+v", s.Providers["monetbil"])
	}
}

func TestRemoteSaysWhatItCouldNotRead(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(flowmetrics.NewSink(nil))
	srv.Close()
	if _, err := (flowmetrics.Remote{URL: srv.URL}).Read(context.Background()); err == nil || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("unreachable sink: %v", err)
	}
}

// fakeCloudWatch answers GetMetricData from canned values, in two pages.
type fakeCloudWatch struct {
	asked []*cloudwatch.GetMetricDataInput
}

func (f *fakeCloudWatch) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.asked = append(f.asked, in)
	out := &cloudwatch.GetMetricDataOutput{}
	for _, q := range in.MetricDataQueries {
		m, s := q.MetricStat.Metric, aws.ToString(q.MetricStat.Stat)
		provider := aws.ToString(m.Dimensions[0].Value)
		r := cwtypes.MetricDataResult{Id: q.Id}
		switch {
		case provider == "monetbil" && aws.ToString(m.MetricName) == "EventsProcessed" && s == "Sum":
			r.Timestamps = []time.Time{t0.Truncate(time.Minute), t0.Truncate(time.Minute).Add(-2 * time.Minute)}
			r.Values = []float64{7, 3}
		case provider == "monetbil" && s == "p99":
			r.Timestamps, r.Values = []time.Time{aws.ToTime(in.StartTime)}, []float64{420}
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}
	if in.NextToken == nil {
		out.MetricDataResults = out.MetricDataResults[:len(out.MetricDataResults)/2]
		out.NextToken = aws.String("page2")
	} else {
		out.MetricDataResults = out.MetricDataResults[len(out.MetricDataResults)/2:]
	}
	return out, nil
}

func TestCloudWatchReadsTheSameShape(t *testing.T) {
	t.Parallel()
	f := &fakeCloudWatch{}
	s, err := flowmetrics.CloudWatch{Client: f, Now: func() time.Time { return t0 }}.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	in := f.asked[0]
	if len(f.asked) != 2 || len(in.MetricDataQueries) != 2*(len(flowmetrics.Counts)+2) || !aws.ToTime(in.StartTime).Equal(s.Start) || aws.ToTime(in.EndTime).Sub(s.Start) != 15*time.Minute {
		t.Fatalf("%d calls, first %+v", len(f.asked), in)
	}
	q := in.MetricDataQueries[0].MetricStat
	if aws.ToString(q.Metric.Namespace) != "PaymentsHub" || aws.ToString(q.Metric.Dimensions[0].Name) != "provider" || aws.ToInt32(q.Period) != 60 {
		t.Fatalf("query %+v", q)
	}
	mb := s.Providers["monetbil"]
	if mb.Last("EventsProcessed") != 7 || mb.PerMinute["EventsProcessed"][12] != 3 || mb.Total("EventsProcessed") != 10 || s.Source != "cloudwatch" {
		t.Errorf("monetbil %+v", mb.PerMinute["EventsProcessed"])
	}
	if mb.LatencyP99 == nil || *mb.LatencyP99 != 420 || mb.LatencyP50 != nil || len(s.Providers["stripe"].PerMinute["EventsFailed"]) != 15 {
		t.Errorf("latency %v %v, stripe %+v", mb.LatencyP50, mb.LatencyP99, s.Providers["stripe"])
	}
}

func TestThrottledReadsItsSourceOncePerPeriod(t *testing.T) {
	t.Parallel()
	f := &fakeCloudWatch{}
	src := &flowmetrics.Throttled{Source: flowmetrics.CloudWatch{Client: f}, Every: time.Hour}
	for range 3 {
		if _, err := src.Read(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.asked) != 2 { // one read, in two pages
		t.Fatalf("%d GetMetricData calls, want the 2 pages of one read", len(f.asked))
	}
}
