package hubstatus

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/payments-hub/hub/internal/flowmetrics"
)

// CloudWatchAges reads SQS's ApproximateAgeOfOldestMessage metric.
type CloudWatchAges struct {
	Client flowmetrics.MetricDataAPI
}

// OldestAges implements AgeSource with each queue's latest 1-minute
// maximum, every queue in one GetMetricData call.
func (c CloudWatchAges) OldestAges(ctx context.Context, queueNames ...string) (map[string]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	queries := make([]cwtypes.MetricDataQuery, len(queueNames))
	byID := make(map[string]string, len(queueNames))
	for i, name := range queueNames {
		id := fmt.Sprintf("age%d", i)
		byID[id] = name
		queries[i] = cwtypes.MetricDataQuery{
			Id: aws.String(id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/SQS"), MetricName: aws.String("ApproximateAgeOfOldestMessage"),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(name)}}},
				Period: aws.Int32(60), Stat: aws.String("Maximum"),
			},
		}
	}
	end := time.Now()
	out, err := c.Client.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(end.Add(-15 * time.Minute)), EndTime: aws.Time(end), ScanBy: cwtypes.ScanByTimestampDescending,
		MetricDataQueries: queries,
	})
	if err != nil {
		return nil, err
	}
	ages := map[string]time.Duration{}
	for _, r := range out.MetricDataResults {
		// Newest first (ScanBy): a queue's first value is its latest.
		if name, ok := byID[aws.ToString(r.Id)]; ok && len(r.Values) > 0 {
			ages[name] = time.Duration(r.Values[0] * float64(time.Second))
		}
	}
	return ages, nil
}
