package failedjobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// MoveTask is a DLQ redrive (StartMessageMoveTask), the operation behind the
// console's "Start DLQ redrive".
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
	// ClientSide is set when the server has no move tasks and hubctl moved
	// the messages itself.
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

// ErrMoveTasksUnsupported is returned by servers without message move tasks.
var ErrMoveTasksUnsupported = errors.New("this SQS server does not implement message move tasks")

// dlqARN reads the DLQ's ARN.
func (s *Service) dlqARN(ctx context.Context) (string, error) {
	out, err := s.cfg.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.cfg.DLQURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", fmt.Errorf("read the DLQ's ARN: %w", err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", errors.New("the DLQ has no QueueArn attribute")
	}
	return arn, nil
}

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
	if errors.As(err, &re) && (re.HTTPStatusCode() == 404 || re.HTTPStatusCode() == 501) {
		return true
	}
	return false
}

// StartRedrive starts a move task from the DLQ back to the queue each
// message came from: what the console's "Start DLQ redrive" does. rate (0:
// SQS's default) caps messages per second (1..500). When the server has no
// move tasks it returns ErrMoveTasksUnsupported.
func (s *Service) StartRedrive(ctx context.Context, rate int) (MoveTask, error) {
	arn, err := s.dlqARN(ctx)
	if err != nil {
		return MoveTask{}, err
	}
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(arn)}
	if rate > 0 {
		in.MaxNumberOfMessagesPerSecond = aws.Int32(int32(rate))
	}
	out, err := s.cfg.SQS.StartMessageMoveTask(ctx, in)
	if err != nil {
		if unsupported(err) {
			return MoveTask{}, fmt.Errorf("%w (%w)", ErrMoveTasksUnsupported, err)
		}
		return MoveTask{}, fmt.Errorf("start the DLQ redrive: %w", err)
	}
	s.cfg.Logger.Info("DLQ redrive started", "task_handle", aws.ToString(out.TaskHandle), "source_arn", arn)
	return MoveTask{Handle: aws.ToString(out.TaskHandle), Status: "RUNNING", SourceARN: arn}, nil
}

// Moves lists the DLQ's latest move tasks (SQS keeps the last 10).
func (s *Service) Moves(ctx context.Context) ([]MoveTask, error) {
	arn, err := s.dlqARN(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.cfg.SQS.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(arn), MaxResults: aws.Int32(10)})
	if err != nil {
		if unsupported(err) {
			return nil, fmt.Errorf("%w (%w)", ErrMoveTasksUnsupported, err)
		}
		return nil, fmt.Errorf("list move tasks: %w", err)
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

// Watch polls the task until it ends or ctx is done, calling progress on
// every poll.
func (s *Service) Watch(ctx context.Context, handle string, every time.Duration, progress func(MoveTask)) (MoveTask, error) {
	for {
		tasks, err := s.Moves(ctx)
		if err != nil {
			return MoveTask{}, err
		}
		var task MoveTask
		for _, t := range tasks {
			if t.Handle == handle || (handle == "" && t.Status == "RUNNING") {
				task = t
				break
			}
		}
		if task.Status == "" && len(tasks) > 0 && handle != "" {
			// Some servers list tasks without their handle once finished.
			task = tasks[0]
		}
		if progress != nil {
			progress(task)
		}
		if task.Done() || task.Status == "" {
			return task, nil
		}
		select {
		case <-ctx.Done():
			return task, ctx.Err()
		case <-time.After(every):
		}
	}
}

// CancelMove cancels a running move task; messages already moved stay moved.
func (s *Service) CancelMove(ctx context.Context, handle string) (int64, error) {
	out, err := s.cfg.SQS.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(handle)})
	if err != nil {
		if unsupported(err) {
			return 0, fmt.Errorf("%w (%w)", ErrMoveTasksUnsupported, err)
		}
		return 0, fmt.Errorf("cancel move task: %w", err)
	}
	return out.ApproximateNumberOfMessagesMoved, nil
}

// MoveClientSide moves every DLQ message back to the source queue itself
// (receive, send, delete, in batches of 10): the fallback for servers
// without move tasks. Each copy is a new message, as with a move task.
func (s *Service) MoveClientSide(ctx context.Context, progress func(moved int)) (int, error) {
	moved := 0
	for {
		msgs, err := s.scan(ctx, 10)
		if err != nil {
			_ = s.release(ctx, msgs)
			return moved, err
		}
		if len(msgs) == 0 {
			return moved, nil
		}
		entries := make([]types.SendMessageBatchRequestEntry, len(msgs))
		for i, m := range msgs {
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: m.msg.Body, MessageAttributes: redriven(m.msg.MessageAttributes)}
		}
		sent := map[int]bool{}
		out, err := s.cfg.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.cfg.QueueURL), Entries: entries})
		if err != nil {
			_ = s.release(ctx, msgs)
			return moved, fmt.Errorf("send to the source queue: %w", err)
		}
		for _, e := range out.Successful {
			i, _ := strconv.Atoi(aws.ToString(e.Id))
			sent[i] = true
		}
		var copied, unsent []scanned
		for i, m := range msgs {
			if sent[i] {
				copied = append(copied, m)
			} else {
				unsent = append(unsent, m)
			}
		}
		// Only what the source queue holds leaves the DLQ.
		if err := s.dlq.Delete(ctx, handles(copied)); err != nil {
			s.cfg.Logger.Warn("moved messages not deleted from the DLQ; their second copies will be deduplicated", "error", err.Error())
		}
		moved += len(copied)
		if progress != nil {
			progress(moved)
		}
		if len(unsent) > 0 {
			_ = s.release(ctx, unsent)
			return moved, fmt.Errorf("%d messages could not be sent to the source queue and stay in the DLQ", len(unsent))
		}
	}
}
