package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
)

// MoveTask is a message move task from this queue (a DLQ redrive, what the
// console's "Start DLQ redrive" starts).
type MoveTask struct {
	Handle      string    `json:"task_handle,omitempty"`
	Status      string    `json:"status"`
	SourceARN   string    `json:"source_arn"`
	Destination string    `json:"destination_arn,omitempty"`
	Moved       int64     `json:"moved"`
	ToMove      *int64    `json:"to_move,omitempty"`
	Rate        *int32    `json:"max_per_second,omitempty"`
	Started     time.Time `json:"started_at,omitzero"`
	Failure     string    `json:"failure_reason,omitempty"`
	// ClientSide is set when the server has no move tasks and the messages
	// were moved by receiving, sending and deleting them.
	ClientSide bool `json:"client_side,omitempty"`
}

// Done reports whether the task has ended.
func (t MoveTask) Done() bool {
	switch t.Status {
	case "COMPLETED", "FAILED", "CANCELLED":
		return true
	}
	return false
}

// ErrMoveTasksUnsupported is returned by servers without message move
// tasks (most local SQS servers).
var ErrMoveTasksUnsupported = errors.New("this SQS server does not implement message move tasks")

// unsupported reports whether err says the server lacks the operation.
func unsupported(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "UnsupportedOperation", "InvalidAction", "UnknownOperationException", "NotImplemented", "AWS.SimpleQueueService.UnsupportedOperation", "InvalidOperation":
			return true
		}
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && (re.HTTPStatusCode() == 404 || re.HTTPStatusCode() == 501)
}

func moveTaskError(op string, err error) error {
	if unsupported(err) {
		return fmt.Errorf("%w (%w)", ErrMoveTasksUnsupported, err)
	}
	return fmt.Errorf("sqs %s: %w", op, err)
}

// StartMoveTask moves this queue's messages back to the queue each came
// from. rate (0: SQS's default) caps messages per second (1..500).
func (q *Queue) StartMoveTask(ctx context.Context, rate int) (MoveTask, error) {
	arn, err := q.ARN(ctx)
	if err != nil {
		return MoveTask{}, err
	}
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(arn)}
	if rate > 0 {
		in.MaxNumberOfMessagesPerSecond = aws.Int32(int32(rate))
	}
	out, err := q.api.StartMessageMoveTask(ctx, in)
	if err != nil {
		return MoveTask{}, moveTaskError("StartMessageMoveTask", err)
	}
	return MoveTask{Handle: aws.ToString(out.TaskHandle), Status: "RUNNING", SourceARN: arn}, nil
}

// MoveTasks lists this queue's latest move tasks (SQS keeps the last 10).
func (q *Queue) MoveTasks(ctx context.Context) ([]MoveTask, error) {
	arn, err := q.ARN(ctx)
	if err != nil {
		return nil, err
	}
	out, err := q.api.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(arn), MaxResults: aws.Int32(10)})
	if err != nil {
		return nil, moveTaskError("ListMessageMoveTasks", err)
	}
	tasks := make([]MoveTask, 0, len(out.Results))
	for _, r := range out.Results {
		t := MoveTask{
			Handle: aws.ToString(r.TaskHandle), Status: aws.ToString(r.Status), SourceARN: aws.ToString(r.SourceArn),
			Destination: aws.ToString(r.DestinationArn), Moved: r.ApproximateNumberOfMessagesMoved, ToMove: r.ApproximateNumberOfMessagesToMove,
			Rate: r.MaxNumberOfMessagesPerSecond, Failure: aws.ToString(r.FailureReason),
		}
		if r.StartedTimestamp > 0 {
			t.Started = time.UnixMilli(r.StartedTimestamp).UTC()
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// CancelMoveTask cancels a running move task and returns how many messages
// it had moved; those stay moved.
func (q *Queue) CancelMoveTask(ctx context.Context, handle string) (int64, error) {
	out, err := q.api.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(handle)})
	if err != nil {
		return 0, moveTaskError("CancelMessageMoveTask", err)
	}
	return out.ApproximateNumberOfMessagesMoved, nil
}
