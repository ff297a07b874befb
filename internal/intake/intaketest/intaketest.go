// Package intaketest provides an in-memory intake.Queue for unit tests of
// the intake and its transports. Tests of SQS behaviour use a real server.
package intaketest

import (
	"context"
	"fmt"
	"sync"

	"github.com/payments-hub/hub/internal/envelope"
)

// Queue records enqueued envelopes; Err, when set, is returned instead.
type Queue struct {
	mu   sync.Mutex
	Err  error
	sent []envelope.Envelope
}

// Enqueue implements intake.Queue.
func (q *Queue) Enqueue(_ context.Context, e envelope.Envelope) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.Err != nil {
		return "", q.Err
	}
	q.sent = append(q.sent, e)
	return fmt.Sprintf("mem-%d", len(q.sent)), nil
}

// Sent returns what was enqueued so far.
func (q *Queue) Sent() []envelope.Envelope {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]envelope.Envelope(nil), q.sent...)
}
