package failedjobs

import (
	"context"
	"fmt"
	"time"

	"github.com/payments-hub/hub/internal/sqsqueue"
)

// Selection is the DLQ messages a filter selected, held hidden until they
// are moved or released.
type Selection struct {
	Jobs []FailedJob
	// Read counts the messages the scan read.
	Read    int
	Stopped StopReason
	msgs    []sqsqueue.Received
}

// Select reads the DLQ, joins each message with its failure record and
// keeps hidden the messages f selects; the others are made visible again at
// once. The caller must Move or Release the selection (within Hide).
func (s *Service) Select(ctx context.Context, f Filter, progress func(Progress)) (*Selection, error) {
	sc, err := s.scan(ctx, scanOptions{progress: progress})
	if err != nil {
		s.releaseOrWarn(ctx, sc.msgs)
		return nil, err
	}
	jobs := s.join(ctx, sc.msgs, nil)
	sel := &Selection{Read: len(sc.msgs), Stopped: sc.stopped, Jobs: []FailedJob{}}
	var rest []sqsqueue.Received
	for i, j := range jobs {
		if f.Match(j) {
			sel.Jobs = append(sel.Jobs, j)
			sel.msgs = append(sel.msgs, sc.msgs[i])
		} else {
			rest = append(rest, sc.msgs[i])
		}
	}
	if err := s.release(ctx, rest); err != nil {
		s.releaseOrWarn(ctx, sel.msgs)
		return nil, err
	}
	return sel, nil
}

// Release makes a selection's messages visible again: nothing moved.
func (s *Service) Release(ctx context.Context, sel *Selection) error {
	return s.release(ctx, sel.msgs)
}

// Move sends a copy of each selected message back to the source queue,
// marked as a manual redrive, and deletes those the queue took from the
// DLQ, 10 at a time. The error is non-nil when some could not be moved
// (they stay in the DLQ, visible again).
func (s *Service) Move(ctx context.Context, sel *Selection, progress func(Progress)) ([]Outcome, error) {
	start := time.Now()
	out := make([]Outcome, 0, len(sel.msgs))
	moved, failed := 0, 0
	for i := 0; i < len(sel.msgs); i += 10 {
		batch := sel.msgs[i:min(i+10, len(sel.msgs))]
		copied, unsent, err := s.moveBatch(ctx, batch)
		for _, m := range copied {
			out = append(out, s.outcome(m, "retried", ""))
		}
		for _, m := range unsent {
			out = append(out, s.outcome(m, "failed", fmt.Sprintf("send to the source queue: %v", orRefused(err))))
		}
		moved, failed = moved+len(copied), failed+len(unsent)
		if progress != nil {
			progress(Progress{Read: sel.Read, Moved: moved, Elapsed: time.Since(start)})
		}
	}
	s.cfg.Logger.Info("failed jobs retried by filter", "moved", moved, "failed", failed)
	if failed > 0 {
		return out, fmt.Errorf("%d of %d messages could not be moved and stay in the DLQ", failed, len(sel.msgs))
	}
	return out, nil
}

func (s *Service) outcome(m sqsqueue.Received, result, errText string) Outcome {
	j := describe(m)
	return Outcome{MessageID: m.ID, Provider: j.Provider, EventKey: j.EventKey, Result: result, Error: errText}
}

func orRefused(err error) error {
	if err == nil {
		return fmt.Errorf("SQS refused the entry")
	}
	return err
}
