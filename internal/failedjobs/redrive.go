package failedjobs

import (
	"context"
	"fmt"
	"time"

	"github.com/payments-hub/hub/internal/sqsqueue"
)

// StartRedrive starts a move task from the DLQ back to the queue each
// message came from: what the console's "Start DLQ redrive" does. rate (0:
// SQS's default) caps messages per second (1..500). When the server has no
// move tasks it returns ErrMoveTasksUnsupported.
func (s *Service) StartRedrive(ctx context.Context, rate int) (MoveTask, error) {
	t, err := s.cfg.DLQ.StartMoveTask(ctx, rate)
	if err != nil {
		return MoveTask{}, fmt.Errorf("start the DLQ redrive: %w", err)
	}
	s.cfg.Logger.Info("DLQ redrive started", "task_handle", t.Handle, "source_arn", t.SourceARN)
	return t, nil
}

// Moves lists the DLQ's latest move tasks (SQS keeps the last 10).
func (s *Service) Moves(ctx context.Context) ([]MoveTask, error) {
	tasks, err := s.cfg.DLQ.MoveTasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the DLQ's move tasks: %w", err)
	}
	return tasks, nil
}

// CancelMove cancels a running move task; messages already moved stay moved.
func (s *Service) CancelMove(ctx context.Context, handle string) (int64, error) {
	moved, err := s.cfg.DLQ.CancelMoveTask(ctx, handle)
	if err != nil {
		return 0, fmt.Errorf("cancel move task: %w", err)
	}
	return moved, nil
}

// Watch polls the task until it ends or ctx is done, calling progress on
// every poll.
func (s *Service) Watch(ctx context.Context, handle string, every time.Duration, progress func(MoveTask)) (MoveTask, error) {
	for {
		tasks, err := s.Moves(ctx)
		if err != nil {
			return MoveTask{}, err
		}
		task := pick(tasks, handle)
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

// pick finds the task with handle among tasks (the running one when handle
// is empty).
func pick(tasks []MoveTask, handle string) MoveTask {
	for _, t := range tasks {
		if t.Handle == handle || (handle == "" && t.Status == "RUNNING") {
			return t
		}
	}
	if len(tasks) > 0 && handle != "" {
		// Some servers list tasks without their handle once finished.
		return tasks[0]
	}
	return MoveTask{}
}

// MoveClientSide moves every DLQ message back to the source queue itself
// (receive, send, delete, 10 at a time): the fallback for servers without
// move tasks. Each copy is a new message, as with a move task. Only what the
// source queue accepted leaves the DLQ.
func (s *Service) MoveClientSide(ctx context.Context, progress func(Progress)) (int, error) {
	start, moved := time.Now(), 0
	for {
		got, err := s.cfg.DLQ.Scan(ctx, 10, s.cfg.Wait, s.cfg.Hide)
		if err != nil {
			return moved, fmt.Errorf("receive from the DLQ: %w", err)
		}
		if len(got) == 0 {
			return moved, nil
		}
		copied, unsent, err := s.sendCopies(ctx, got)
		if derr := s.cfg.DLQ.Delete(ctx, handles(copied)); derr != nil {
			s.cfg.Logger.Warn("moved messages not deleted from the DLQ; their second copies will be deduplicated", "messages", len(copied), "error", derr.Error())
		}
		moved += len(copied)
		if progress != nil {
			progress(Progress{Read: moved + len(unsent), Moved: moved, Elapsed: time.Since(start)})
		}
		if len(unsent) > 0 {
			s.releaseOrWarn(ctx, unsent)
			if err == nil {
				err = fmt.Errorf("SQS refused %d entries", len(unsent))
			}
			return moved, fmt.Errorf("%d messages could not be sent to the source queue and stay in the DLQ: %w", len(unsent), err)
		}
	}
}

// sendCopies sends a copy of each message to the source queue and splits
// them into those the queue took and the others.
func (s *Service) sendCopies(ctx context.Context, msgs []sqsqueue.Received) (copied, unsent []sqsqueue.Received, err error) {
	out := make([]sqsqueue.Outgoing, len(msgs))
	for i, m := range msgs {
		out[i] = redriven(m)
	}
	ids, err := s.cfg.Source.SendBatch(ctx, out)
	for i, m := range msgs {
		if i < len(ids) && ids[i] != "" {
			copied = append(copied, m)
		} else {
			unsent = append(unsent, m)
		}
	}
	return copied, unsent, err
}
