// Package hubstatus reads the hub's state at a glance for `hubctl status`:
// the queue's and the DLQ's depth, the age of their oldest message
// (CloudWatch), the DLQ redrives running and the last failures recorded.
// Reading it changes nothing.
package hubstatus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// Queue is a queue whose depth is read (*sqsqueue.Queue).
type Queue interface {
	URL() string
	Depth(ctx context.Context) (sqsqueue.Depth, error)
}

// Redrives lists a DLQ's move tasks (*sqsqueue.Queue).
type Redrives interface {
	MoveTasks(ctx context.Context) ([]sqsqueue.MoveTask, error)
}

// Failures reads the last failure records (store.Store).
type Failures interface {
	Failures(ctx context.Context, limit int) ([]store.EventRecord, error)
}

// AgeSource reads the age of a queue's oldest message.
type AgeSource interface {
	OldestAge(ctx context.Context, queueName string) (age time.Duration, ok bool, err error)
}

// Reader reads a Status. Ages may be nil where CloudWatch is not
// available (local servers).
type Reader struct {
	Queue, DLQ Queue
	Redrives   Redrives
	Failures   Failures
	Ages       AgeSource
}

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
	ActiveMoves  []sqsqueue.MoveTask `json:"active_moves"`
	MovesNote    string              `json:"moves_note,omitempty"`
	LastFailures []store.EventRecord `json:"last_failures"`
	FailuresNote string              `json:"failures_note,omitempty"`
	CollectedAt  time.Time           `json:"collected_at"`
}

// Read reads both queues' counts and ages, the running redrives and the
// last failures (failures 0: none read). Only the queue counts are
// required; what else cannot be read is said in a note.
func (r Reader) Read(ctx context.Context, failures int) (Status, error) {
	st := Status{CollectedAt: time.Now().UTC(), ActiveMoves: []sqsqueue.MoveTask{}, LastFailures: []store.EventRecord{}}
	var err error
	if st.Queue, err = r.queueStatus(ctx, r.Queue); err != nil {
		return st, err
	}
	if st.DLQ, err = r.queueStatus(ctx, r.DLQ); err != nil {
		return st, err
	}
	st.ActiveMoves, st.MovesNote = r.activeMoves(ctx)
	if failures > 0 {
		recs, err := r.Failures.Failures(ctx, failures)
		if err != nil {
			st.FailuresNote = "failure records unreadable: " + err.Error()
		} else {
			st.LastFailures = recs
		}
	}
	return st, nil
}

func (r Reader) activeMoves(ctx context.Context) ([]sqsqueue.MoveTask, string) {
	moves, err := r.Redrives.MoveTasks(ctx)
	switch {
	case errors.Is(err, sqsqueue.ErrMoveTasksUnsupported):
		return []sqsqueue.MoveTask{}, "this SQS server has no message move tasks"
	case err != nil:
		return []sqsqueue.MoveTask{}, "move tasks unreadable: " + err.Error()
	}
	active := []sqsqueue.MoveTask{}
	for _, m := range moves {
		if !m.Done() {
			active = append(active, m)
		}
	}
	return active, ""
}

func (r Reader) queueStatus(ctx context.Context, q Queue) (QueueStatus, error) {
	qs := QueueStatus{Name: provision.QueueNameFromURL(q.URL()), URL: q.URL()}
	d, err := q.Depth(ctx)
	if err != nil {
		return qs, fmt.Errorf("read %s's attributes: %w", qs.Name, err)
	}
	qs.Visible, qs.InFlight, qs.Delayed = d.Visible, d.InFlight, d.Delayed
	if r.Ages == nil {
		qs.OldestAgeNote = "unknown (CloudWatch not available here)"
		return qs, nil
	}
	age, ok, err := r.Ages.OldestAge(ctx, qs.Name)
	switch {
	case err != nil:
		qs.OldestAgeNote = "unknown (CloudWatch: " + err.Error() + ")"
	case !ok:
		qs.OldestAgeNote = "unknown (no CloudWatch data in the last 15 minutes)"
	default:
		secs := age.Seconds()
		qs.OldestAgeSeconds = &secs
	}
	return qs, nil
}
