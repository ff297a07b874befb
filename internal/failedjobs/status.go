package failedjobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/store"
)

// QueueStatus is one queue's depth.
type QueueStatus struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Visible  int64  `json:"visible"`
	InFlight int64  `json:"in_flight"`
	Delayed  int64  `json:"delayed"`
	// OldestAgeSeconds is CloudWatch's ApproximateAgeOfOldestMessage; nil
	// when unknown (no CloudWatch, as on local servers, or no data yet).
	OldestAgeSeconds *float64 `json:"oldest_age_seconds"`
	OldestAgeNote    string   `json:"oldest_age_note,omitempty"`
}

// Status is the state of the queue and of the failed jobs.
type Status struct {
	Queue        QueueStatus         `json:"queue"`
	DLQ          QueueStatus         `json:"dlq"`
	ActiveMoves  []MoveTask          `json:"active_moves"`
	MovesNote    string              `json:"moves_note,omitempty"`
	LastFailures []store.EventRecord `json:"last_failures"`
	FailuresNote string              `json:"failures_note,omitempty"`
	CollectedAt  time.Time           `json:"collected_at"`
}

// AgeSource reads the age of a queue's oldest message.
type AgeSource interface {
	OldestAge(ctx context.Context, queueName string) (age time.Duration, ok bool, err error)
}

// Status reads both queues' counts, the oldest message's age from ages (nil:
// unknown), the active move tasks and the last failures (0: none read).
func (s *Service) Status(ctx context.Context, ages AgeSource, failures int) (Status, error) {
	st := Status{CollectedAt: time.Now().UTC(), ActiveMoves: []MoveTask{}, LastFailures: []store.EventRecord{}}
	var err error
	if st.Queue, err = s.queueStatus(ctx, s.cfg.QueueURL, ages); err != nil {
		return st, err
	}
	if st.DLQ, err = s.queueStatus(ctx, s.cfg.DLQURL, ages); err != nil {
		return st, err
	}
	moves, err := s.Moves(ctx)
	switch {
	case errors.Is(err, ErrMoveTasksUnsupported):
		st.MovesNote = "this SQS server has no message move tasks"
	case err != nil:
		st.MovesNote = "move tasks unreadable: " + err.Error()
	default:
		for _, m := range moves {
			if !m.Done() {
				st.ActiveMoves = append(st.ActiveMoves, m)
			}
		}
	}
	if failures > 0 {
		recs, err := s.cfg.Store.Failures(ctx, failures)
		if err != nil {
			st.FailuresNote = "failure records unreadable: " + err.Error()
		} else {
			st.LastFailures = recs
		}
	}
	return st, nil
}

func (s *Service) queueStatus(ctx context.Context, url string, ages AgeSource) (QueueStatus, error) {
	q := QueueStatus{Name: provision.QueueNameFromURL(url), URL: url}
	out, err := s.cfg.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	}})
	if err != nil {
		return q, fmt.Errorf("read %s's attributes: %w", q.Name, err)
	}
	n := func(k types.QueueAttributeName) int64 {
		v, _ := strconv.ParseInt(out.Attributes[string(k)], 10, 64)
		return v
	}
	q.Visible = n(types.QueueAttributeNameApproximateNumberOfMessages)
	q.InFlight = n(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
	q.Delayed = n(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)
	if ages == nil {
		q.OldestAgeNote = "unknown (CloudWatch not available here)"
		return q, nil
	}
	age, ok, err := ages.OldestAge(ctx, q.Name)
	switch {
	case err != nil:
		q.OldestAgeNote = "unknown (CloudWatch: " + err.Error() + ")"
	case !ok:
		q.OldestAgeNote = "unknown (no CloudWatch data in the last 15 minutes)"
	default:
		secs := age.Seconds()
		q.OldestAgeSeconds = &secs
	}
	return q, nil
}

// CloudWatchAges reads ApproximateAgeOfOldestMessage from CloudWatch.
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
