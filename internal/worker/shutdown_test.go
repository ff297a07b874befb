package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/store/memstore"
	"github.com/payments-hub/hub/internal/worker"
)

// lateQueue models a long poll that SQS answers just after shutdown began:
// the messages are picked (hidden, receive count raised) whether or not the
// caller is still listening, so a cancelled receive loses them.
type lateQueue struct {
	shutdown chan struct{} // closed by the test when it stops the worker
	mu       sync.Mutex
	lost     int
	released []string
	receives int
}

func (q *lateQueue) Receive(ctx context.Context, _ int, _ time.Duration) ([]processing.Message, error) {
	q.mu.Lock()
	q.receives++
	first := q.receives == 1
	q.mu.Unlock()
	if !first {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	<-q.shutdown
	picked := []processing.Message{{ID: "m1", ReceiptHandle: "h1", Attempt: 1}, {ID: "m2", ReceiptHandle: "h2", Attempt: 1}}
	select {
	case <-ctx.Done():
		q.mu.Lock()
		q.lost += len(picked)
		q.mu.Unlock()
		return nil, ctx.Err()
	case <-time.After(200 * time.Millisecond): // SQS's answer in transit
		return picked, nil
	}
}

func (q *lateQueue) Delete(context.Context, []string) error { return nil }

func (q *lateQueue) Release(_ context.Context, handles []string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.released = append(q.released, handles...)
	return nil
}

func (q *lateQueue) ChangeVisibility(context.Context, string, time.Duration) error { return nil }

func TestShutdownDuringALongPollReleasesWhatTheReceiveReturns(t *testing.T) {
	t.Parallel()
	q := &lateQueue{shutdown: make(chan struct{})}
	proc, err := processing.New(processing.Config{Store: memstore.New(0), Visibility: q, Policy: scaled, Jobs: map[string]processing.Job{"stripe": jobs.Stripe{}}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(worker.Config{Queue: q, Processor: proc, Wait: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	time.Sleep(50 * time.Millisecond) // the worker is in its long poll
	cancel()
	close(q.shutdown)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not stop")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.lost != 0 || len(q.released) != 2 {
		t.Fatalf("%d messages lost to a cancelled receive, %v released; want none lost and both released", q.lost, q.released)
	}
	if st := w.Stats(); st.Received != 2 || st.Released != 2 || st.Acked != 0 {
		t.Fatalf("stats %+v: want 2 received and released, none started", st)
	}
}
