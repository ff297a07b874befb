package hubstatus

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// CloudWatchAges reads SQS's ApproximateAgeOfOldestMessage metric.
type CloudWatchAges struct {
	Client interface {
		GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
	}
}

// OldestAge implements AgeSource with the latest 1-minute maximum.
func (c CloudWatchAges) OldestAge(ctx context.Context, queueName string) (time.Duration, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	end := time.Now()
	out, err := c.Client.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(end.Add(-15 * time.Minute)), EndTime: aws.Time(end), ScanBy: cwtypes.ScanByTimestampDescending,
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("age"),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/SQS"), MetricName: aws.String("ApproximateAgeOfOldestMessage"),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(queueName)}}},
				Period: aws.Int32(60), Stat: aws.String("Maximum"),
			},
		}},
	})
	if err != nil {
		return 0, false, err
	}
	for _, r := range out.MetricDataResults {
		if len(r.Values) > 0 {
			return time.Duration(r.Values[0] * float64(time.Second)), true, nil
		}
	}
	return 0, false, nil
}
