// Package hubstatus reads the hub's state at a glance for `hubctl status`:
// the queue's and the DLQ's depth, the age of their oldest message
// (CloudWatch), the DLQ redrives running, the last failures recorded and
// the next automatic redrive round among them. Reading it changes nothing.
package hubstatus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/payments-hub/hub/internal/autoredrive"
	"github.com/payments-hub/hub/internal/config"
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

// AgeSource reads the age of the oldest message of queues, all at once
// (CloudWatchAges: one GetMetricData call). A queue without data is left
// out of ages.
type AgeSource interface {
	OldestAges(ctx context.Context, queueNames ...string) (ages map[string]time.Duration, err error)
}

// Reader reads a Status. Ages may be nil where CloudWatch is not
// available (local servers).
type Reader struct {
	Queue, DLQ Queue
	Redrives   Redrives
	Failures   Failures
	Ages       AgeSource
	// Rounds is the automatic redrive's schedule: the next round due is
	// found among the failure records read (empty: off).
	Rounds autoredrive.Schedule
}

// NextRedrive is the earliest automatic redrive round due among the
// failure records.
type NextRedrive struct {
	Provider string    `json:"provider"`
	EventKey string    `json:"event_key"`
	Round    int       `json:"round"`
	Rounds   int       `json:"rounds"`
	DueAt    time.Time `json:"due_at"`
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
	// NextRedrive is nil when no round is to come (or the failures were
	// not read); AutoRedrive shows the schedule ("off" when off).
	NextRedrive *NextRedrive `json:"next_redrive"`
	AutoRedrive string       `json:"auto_redrive"`
	CollectedAt time.Time    `json:"collected_at"`
}

// Read reads both queues' counts and ages, the running redrives, and the
// last failures with the next automatic redrive round among them (failures
// 0: none read). Only the queue counts are required; what else cannot be
// read is said in a note.
func (r Reader) Read(ctx context.Context, failures int) (Status, error) {
	st := Status{CollectedAt: time.Now().UTC(), ActiveMoves: []sqsqueue.MoveTask{}, LastFailures: []store.EventRecord{}, AutoRedrive: r.Rounds.String()}
	var err error
	if st.Queue, err = queueStatus(ctx, r.Queue); err != nil {
		return st, err
	}
	if st.DLQ, err = queueStatus(ctx, r.DLQ); err != nil {
		return st, err
	}
	r.oldestAges(ctx, &st.Queue, &st.DLQ)
	st.ActiveMoves, st.MovesNote = r.activeMoves(ctx)
	if failures > 0 {
		// The store reads every failure to sort them: asking for more
		// costs nothing more, and the next round may be an older one's.
		recs, err := r.Failures.Failures(ctx, max(failures, scanFailures))
		if err != nil {
			st.FailuresNote = "failure records unreadable: " + err.Error()
		} else {
			st.NextRedrive = r.nextRedrive(recs, st.CollectedAt)
			st.LastFailures = recs[:min(failures, len(recs))]
		}
	}
	return st, nil
}

// scanFailures is how many failure records are searched for the next
// automatic redrive round.
const scanFailures = 1000

// nextRedrive finds the earliest round due among recs.
func (r Reader) nextRedrive(recs []store.EventRecord, now time.Time) *NextRedrive {
	var next *NextRedrive
	for _, rec := range recs {
		p := r.Rounds.Plan(rec, true, now)
		if p.Verdict != autoredrive.Due && p.Verdict != autoredrive.NotDue {
			continue
		}
		if next == nil || p.DueAt.Before(next.DueAt) {
			next = &NextRedrive{Provider: rec.Provider, EventKey: rec.EventKey, Round: p.Round, Rounds: len(r.Rounds), DueAt: p.DueAt}
		}
	}
	return next
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

func queueStatus(ctx context.Context, q Queue) (QueueStatus, error) {
	qs := QueueStatus{Name: config.QueueNameFromURL(q.URL()), URL: q.URL()}
	d, err := q.Depth(ctx)
	if err != nil {
		return qs, fmt.Errorf("read %s's attributes: %w", qs.Name, err)
	}
	qs.Visible, qs.InFlight, qs.Delayed = d.Visible, d.InFlight, d.Delayed
	return qs, nil
}

// oldestAges sets each queue's oldest message age, or says why it is
// unknown.
func (r Reader) oldestAges(ctx context.Context, queues ...*QueueStatus) {
	if r.Ages == nil {
		for _, qs := range queues {
			qs.OldestAgeNote = "unknown (CloudWatch not available here)"
		}
		return
	}
	names := make([]string, len(queues))
	for i, qs := range queues {
		names[i] = qs.Name
	}
	ages, err := r.Ages.OldestAges(ctx, names...)
	for _, qs := range queues {
		age, ok := ages[qs.Name]
		switch {
		case err != nil:
			qs.OldestAgeNote = "unknown (CloudWatch: " + err.Error() + ")"
		case !ok:
			qs.OldestAgeNote = "unknown (no CloudWatch data in the last 15 minutes)"
		default:
			secs := age.Seconds()
			qs.OldestAgeSeconds = &secs
		}
	}
}
