package failedjobs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/payments-hub/hub/internal/sqsqueue"
)

// found is a scan for some message ids: what it found, by id, and what it
// read besides.
type found struct {
	byID map[string]sqsqueue.Received
	rest []sqsqueue.Received
	scan scanned
}

// find scans the DLQ for ids, stopping once all are found, and releases
// everything else. The caller must release or delete what was found.
func (s *Service) find(ctx context.Context, ids []string, progress func(Progress)) (found, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	left := len(want)
	sc, err := s.scan(ctx, scanOptions{progress: progress, found: func(m sqsqueue.Received) bool {
		if want[m.ID] {
			left--
		}
		return left == 0
	}})
	f := found{byID: map[string]sqsqueue.Received{}, scan: sc}
	for _, m := range sc.msgs {
		if want[m.ID] {
			f.byID[m.ID] = m
		} else {
			f.rest = append(f.rest, m)
		}
	}
	s.releaseOrWarn(ctx, f.rest)
	if err != nil {
		s.releaseOrWarn(ctx, slices.Collect(maps.Values(f.byID)))
		return found{}, err
	}
	return f, nil
}

// notFound says a message was not found, and why the scan may have missed
// it.
func notFound(id string, sc scanned, budget time.Duration) Outcome {
	o := Outcome{MessageID: id, Result: "not_found", Error: ErrNotInDLQ.Error()}
	if note := sc.stopped.Note(len(sc.msgs), budget); note != "" {
		o.Error += " as far as the scan read (it " + note + ")"
	}
	return o
}

// Retry puts the given DLQ messages back on the source queue (send, then
// delete from the DLQ). Each copy is a new message with a receive count of
// zero; the processor recognises the event by its provider event key, so it
// is applied once whatever path brought it back. The error is non-nil when
// any id failed.
func (s *Service) Retry(ctx context.Context, ids []string, progress func(Progress)) ([]Outcome, error) {
	f, err := s.find(ctx, ids, progress)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	failed := 0
	for _, id := range ids {
		m, ok := f.byID[id]
		if !ok {
			out = append(out, notFound(id, f.scan, s.cfg.Budget))
			failed++
			continue
		}
		delete(f.byID, id)
		o := s.retryOne(ctx, m)
		if o.Result != "retried" {
			failed++
		}
		out = append(out, o)
	}
	if failed > 0 {
		return out, fmt.Errorf("%d of %d messages could not be retried", failed, len(ids))
	}
	return out, nil
}

// retryOne sends a copy of m to the source queue and deletes m.
func (s *Service) retryOne(ctx context.Context, m sqsqueue.Received) Outcome {
	j := describe(m)
	o := Outcome{MessageID: m.ID, Provider: j.Provider, EventKey: j.EventKey}
	newID, err := s.cfg.Source.Send(ctx, redriven(m))
	if err != nil {
		s.releaseOrWarn(ctx, []sqsqueue.Received{m})
		o.Result, o.Error = "failed", "send to the source queue: "+err.Error()
		return o
	}
	o.NewMessageID, o.Result = newID, "retried"
	if err := s.cfg.DLQ.Delete(ctx, []string{m.ReceiptHandle}); err != nil {
		// The copy is queued; the original reappears in the DLQ. A later
		// retry of it is deduplicated by its event key.
		o.Error = "retried, but the DLQ copy could not be deleted: " + err.Error()
	}
	s.cfg.Logger.Info("failed job retried", "message_id", m.ID, "new_message_id", newID, "provider", o.Provider, "event_key", o.EventKey)
	return o
}
