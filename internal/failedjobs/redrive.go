package failedjobs

import (
	"context"
	"fmt"
	"time"

	"github.com/payments-hub/hub/internal/logging"
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
// source queue accepted leaves the DLQ. Messages hidden when the DLQ looks
// empty (a receive whose answer was lost) are waited for, up to the hide of
// its receives.
func (s *Service) MoveClientSide(ctx context.Context, progress func(Progress)) (int, error) {
	m := mover{s: s, start: time.Now(), hide: min(s.cfg.Hide, 30*time.Second), progress: progress}
	for {
		got, err := s.cfg.DLQ.Scan(ctx, 10, s.cfg.Wait, m.hide)
		if err != nil {
			return m.moved, fmt.Errorf("receive from the DLQ: %w", err)
		}
		if len(got) == 0 {
			if done, err := m.drained(ctx); done || err != nil {
				return m.moved, err
			}
			continue
		}
		m.waitingSince = time.Time{}
		if err := m.move(ctx, got); err != nil {
			return m.moved, err
		}
	}
}

// mover is one client-side move.
type mover struct {
	s            *Service
	start        time.Time
	hide         time.Duration
	progress     func(Progress)
	moved        int
	waitingSince time.Time
}

// move sends a copy of each message, deletes those the queue took and
// releases the others.
func (m *mover) move(ctx context.Context, got []sqsqueue.Received) error {
	copied, unsent, err := m.s.moveBatch(ctx, got)
	m.moved += len(copied)
	if m.progress != nil {
		m.progress(Progress{Read: m.moved + len(unsent), Moved: m.moved, Elapsed: time.Since(m.start)})
	}
	if len(unsent) == 0 {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("SQS refused %d entries", len(unsent))
	}
	return fmt.Errorf("%d messages could not be sent to the source queue and stay in the DLQ: %w", len(unsent), err)
}

// drained says whether the move is over once a receive found nothing:
// yes when no message is hidden either (or the DLQ's depth cannot be read,
// which is logged); while some are, it waits a pause and asks for another
// receive, up to the hide of the move's receives.
func (m *mover) drained(ctx context.Context) (bool, error) {
	d, err := m.s.cfg.DLQ.Depth(ctx)
	if err != nil {
		// Messages hidden from the move, if any, stay in the DLQ.
		m.s.cfg.Logger.Warn("client-side move: could not read the DLQ's depth to wait for hidden messages; ending the move", "moved", m.moved, logging.Err(err))
		return true, nil
	}
	if d.InFlight == 0 {
		return true, nil
	}
	if m.waitingSince.IsZero() {
		m.waitingSince = time.Now()
	}
	if time.Since(m.waitingSince) > m.hide+2*m.s.cfg.Wait {
		return true, fmt.Errorf("%d messages stay hidden in the DLQ (read by another command, or by a receive whose answer was lost) and were not moved: run it again once they reappear", d.InFlight)
	}
	select {
	case <-ctx.Done():
		return true, ctx.Err()
	case <-time.After(m.s.cfg.Wait):
	}
	return false, nil
}

// moveBatch moves msgs back to the source queue: it sends a copy of each,
// deletes from the DLQ those the queue took (copied), and makes the others
// (unsent) visible again at once. err is the send's error; entries SQS
// refused one by one are unsent with no error. A delete that fails is only
// logged: the copies are queued, and the originals' second delivery is
// deduplicated.
func (s *Service) moveBatch(ctx context.Context, msgs []sqsqueue.Received) (copied, unsent []sqsqueue.Received, err error) {
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
	if derr := s.cfg.DLQ.Delete(ctx, handles(copied)); derr != nil {
		s.cfg.Logger.Warn("moved messages not deleted from the DLQ; their second copies will be deduplicated", "messages", len(copied), "error", derr.Error())
	}
	s.releaseOrWarn(ctx, unsent)
	return copied, unsent, err
}
