package reliability_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// TestR1 delivers one event many times at once (short: 100, soak: 1,000) to
// workers with high concurrency (short: one worker running 100 jobs at once;
// soak: two, as two hosts would) and checks that the event changed its
// transaction exactly once and every other delivery was acknowledged as
// "already processed". Every delivery runs the job (a read); only one write
// can apply the event.
//
// What it proves: the transaction's conditional write (keyed by the
// provider's event id, not the SQS message id, and remembering it in the
// same write) applies exactly one delivery, under real concurrency against a
// real server.
func TestR1(t *testing.T) {
	t.Parallel()
	deliveries, workers := size(100, 1000), size(1, 2)
	// A short visibility timeout: a receive whose answer is lost (see
	// helpers_test.go, lostReceives) hides its messages only that long.
	s := hubtest.NewStack(t, hubtest.Options{VisibilityTimeout: 10 * time.Second})
	logs := &hubtest.Logs{}
	consumer, err := sqsqueue.NewConsumer(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sqsqueue.NewPublisher(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}

	// The same envelope, byte for byte, in every message.
	h := stripeHook("r1", 1)
	env := h.envelope()
	var wg sync.WaitGroup
	errs := make(chan error, deliveries)
	sem := make(chan struct{}, 16)
	for range deliveries {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := pub.Enqueue(context.Background(), env); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	for range workers {
		startWorker(t, consumer, newProcessor(t, s.Store, consumer, "", logs, 10*time.Second), 100, logs)
	}
	hubtest.WaitFor(t, "every delivery to be settled", bound(60*time.Second, 5*time.Minute), func() bool {
		return logs.Count(`"msg":"already processed"`) >= deliveries-1
	})
	waitDrained(t, s.SQS, s.Queues.URL, 30*time.Second)
	requireEmpty(t, s.SQS, s.Queues.DLQURL, "the DLQ")

	if n := logs.Count(`"msg":"processed"`); n != 1 {
		t.Errorf("%d deliveries processed the event, want 1", n)
	}
	if n := logs.Count(`"msg":"processed"`, `"outcome":"applied"`); n != 1 {
		t.Errorf("%d deliveries applied the change, want 1", n)
	}
	if n := logs.Count(`"msg":"already processed"`); n != deliveries-1 {
		t.Errorf("%d deliveries were acknowledged as already processed, want %d", n, deliveries-1)
	}
	if n := logs.Count(`"level":"ERROR"`); n != 0 {
		t.Errorf("%d errors logged, want none", n)
	}
	tx, err := s.Store.Transaction(context.Background(), h.txID)
	if err != nil || tx.Version != 1 || tx.Status != "succeeded" || !tx.HasEvent(h.eventKey) {
		t.Fatalf("transaction %+v (%v), want succeeded at version 1, remembering %s", tx, err, h.eventKey)
	}
	// Applied at its first attempt: the transaction's one write is the
	// whole record; the events table holds nothing for it.
	if rec, err := s.Store.Event(context.Background(), h.provider, h.eventKey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("event record %+v (%v), want none", rec, err)
	}
	// Not asserted (it depends on scheduling), but it says how much the
	// deliveries overlapped: each of these found the event held by another.

}
