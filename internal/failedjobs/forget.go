package failedjobs

import (
	"context"
	"fmt"

	"github.com/payments-hub/hub/internal/sqsqueue"
)

// Forget drops a failed event: it deletes the DLQ message id and every
// other DLQ message of the same event (duplicates dead-lettered, or an
// original a retry could not delete), so that no later redrive applies a
// copy, and marks the failure record forgotten. It reads the whole DLQ to
// find the copies.
func (s *Service) Forget(ctx context.Context, id string, progress func(Progress)) (Outcome, error) {
	sc, err := s.scan(ctx, scanOptions{progress: progress})
	if err != nil {
		s.releaseOrWarn(ctx, sc.msgs)
		return Outcome{}, err
	}
	copies, rest, target := sameEvent(sc.msgs, id)
	s.releaseOrWarn(ctx, rest)
	if target == nil {
		o := notFound(id, sc, s.cfg.Budget)
		return o, fmt.Errorf("message %s is %s", id, o.Error)
	}
	o := Outcome{MessageID: id, Provider: target.Provider, EventKey: target.EventKey}
	if err := s.cfg.DLQ.Delete(ctx, handles(copies)); err != nil {
		s.releaseOrWarn(ctx, copies)
		return o, fmt.Errorf("delete %s and its copies from the DLQ: %w", id, err)
	}
	o.Result, o.Deleted = "forgotten", len(copies)
	if note := sc.stopped.Note(len(sc.msgs), s.cfg.Budget); note != "" {
		o.Error = "copies beyond what the scan read may remain: it " + note
	}
	if err := s.cfg.Records.Forget(ctx, o.Provider, o.EventKey, s.cfg.Now()); err != nil {
		o.Error = joinNotes(o.Error, "deleted from the DLQ; failure record not marked forgotten: "+err.Error())
	}
	s.cfg.Logger.Info("failed job forgotten", "message_id", id, "provider", o.Provider, "event_key", o.EventKey, "deleted", o.Deleted)
	return o, nil
}

// sameEvent splits msgs into the messages of the event message id belongs
// to and the others; target is nil when id is not among msgs.
func sameEvent(msgs []sqsqueue.Received, id string) (copies, rest []sqsqueue.Received, target *FailedJob) {
	for _, m := range msgs {
		if m.ID == id {
			j := describe(m)
			target = &j
		}
	}
	if target == nil {
		return nil, msgs, nil
	}
	for _, m := range msgs {
		if refOf(describe(m)) == refOf(*target) {
			copies = append(copies, m)
		} else {
			rest = append(rest, m)
		}
	}
	return copies, rest, target
}

func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Flush purges the DLQ. The failure records stay, for the record.
func (s *Service) Flush(ctx context.Context) error {
	if err := s.cfg.DLQ.Purge(ctx); err != nil {
		return fmt.Errorf("purge the DLQ: %w", err)
	}
	s.cfg.Logger.Info("failed jobs flushed", "dlq_url", s.cfg.DLQ.URL())
	return nil
}

// DLQURL is the dead-letter queue's URL.
func (s *Service) DLQURL() string { return s.cfg.DLQ.URL() }

var _ DLQ = (*sqsqueue.Queue)(nil)
var _ SourceQueue = (*sqsqueue.Queue)(nil)
