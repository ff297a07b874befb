package autoredrive_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/sqsqueue/sqsqueuetest"
)

// fakeDLQ is sqsqueuetest's in-memory DLQ, for the unit tests of the
// pass's decisions; a pass must read it with short polls. SQS itself is
// tested against the local servers (integration_test.go).
type fakeDLQ struct{ sqsqueuetest.DLQ }

func newFakeDLQ() *fakeDLQ { return &fakeDLQ{sqsqueuetest.DLQ{ShortPollsOnly: true}} }

// add puts a message of the event provider/key in the DLQ.
func (d *fakeDLQ) add(id, provider, key, body string) {
	d.Add(id, body, map[string]string{envelope.AttrProvider: provider, envelope.AttrEventKey: key, envelope.AttrTransactionID: "tx-" + key})
}

// fakeQueue is the main queue; refuse makes it refuse every entry.
type fakeQueue struct {
	mu     sync.Mutex
	sent   []sqsqueue.Outgoing
	refuse bool
}

func (q *fakeQueue) SendBatch(_ context.Context, msgs []sqsqueue.Outgoing) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := make([]string, len(msgs))
	if q.refuse {
		return ids, errors.New("access denied")
	}
	for i, m := range msgs {
		q.sent = append(q.sent, m)
		ids[i] = fmt.Sprintf("new-%d", len(q.sent))
	}
	return ids, nil
}

// keys returns the event key and redrive attribute of each message sent.
func (q *fakeQueue) keys() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, m := range q.sent {
		out = append(out, m.Attributes[envelope.AttrEventKey]+" "+m.Attributes[envelope.AttrRedrive])
	}
	return out
}

// fakeBreaker fails its probes while err is set, and counts them.
type fakeBreaker struct {
	mu     sync.Mutex
	err    error
	probed []string
}

func (b *fakeBreaker) Probe(_ context.Context, e envelope.Envelope) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probed = append(b.probed, e.EventKey)
	return b.err
}
