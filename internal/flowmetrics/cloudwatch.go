package flowmetrics

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/payments-hub/hub/internal/logging"
)

// MetricDataAPI is the part of the CloudWatch client read (*cloudwatch.Client).
type MetricDataAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// CloudWatch reads the flow from the metrics the hub's log lines put in
// CloudWatch (namespace PaymentsHub, dimension provider), with one
// GetMetricData call: each count's per-minute Sum and the latency's p50 and
// p99 over the window.
type CloudWatch struct {
	Client MetricDataAPI
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// query is one metric asked for, and where its values go.
type query struct {
	provider, metric string
	stat             string // "Sum", "p50" or "p99"
}

// Read implements Source.
func (c CloudWatch) Read(ctx context.Context) (Snapshot, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	start := window(now())
	end := start.Add(Minutes * time.Minute)
	queries, asked := c.queries()
	snap := Snapshot{Start: start, Minutes: Minutes, Source: "cloudwatch", Providers: map[string]Flow{}}
	for _, p := range Providers {
		snap.Providers[p] = emptyFlow()
	}
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end), MetricDataQueries: queries}
	for {
		out, err := c.Client.GetMetricData(ctx, in)
		if err != nil {
			return Snapshot{}, fmt.Errorf("cloudwatch GetMetricData: %w", err)
		}
		for _, r := range out.MetricDataResults {
			place(snap, asked[aws.ToString(r.Id)], start, r)
		}
		if out.NextToken == nil {
			return snap, nil
		}
		in.NextToken = out.NextToken
	}
}

// queries are the window's metric queries, by id.
func (c CloudWatch) queries() ([]cwtypes.MetricDataQuery, map[string]query) {
	var out []cwtypes.MetricDataQuery
	asked := map[string]query{}
	add := func(q query, period int32) {
		id := fmt.Sprintf("q%d", len(out))
		asked[id] = q
		out = append(out, cwtypes.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(true), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(logging.Namespace), MetricName: aws.String(q.metric),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("provider"), Value: aws.String(q.provider)}}},
			Period: aws.Int32(period), Stat: aws.String(q.stat),
		}})
	}
	for _, p := range Providers {
		for _, m := range Counts {
			add(query{provider: p, metric: m, stat: "Sum"}, 60)
		}
		add(query{provider: p, metric: Latency, stat: "p50"}, Minutes*60)
		add(query{provider: p, metric: Latency, stat: "p99"}, Minutes*60)
	}
	return out, asked
}

// place puts one query's values in the snapshot.
func place(snap Snapshot, q query, start time.Time, r cwtypes.MetricDataResult) {
	f, ok := snap.Providers[q.provider]
	if !ok || len(r.Values) == 0 {
		return
	}
	switch q.stat {
	case "p50":
		v := r.Values[0]
		f.LatencyP50 = &v
	case "p99":
		v := r.Values[0]
		f.LatencyP99 = &v
	default:
		for i, ts := range r.Timestamps {
			if m := int(ts.Sub(start) / time.Minute); m >= 0 && m < Minutes && i < len(r.Values) {
				f.PerMinute[q.metric][m] += r.Values[i]
			}
		}
	}
	snap.Providers[q.provider] = f
}
