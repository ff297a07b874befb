package failedjobs_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/failedjobs"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// dlqSize is the DLQ of the scale test: 2,000 messages under `make test`,
// 10,000 (the size a checkPayment outage leaves) under HUB_SOAK=1.
func dlqSize() int {
	if os.Getenv("HUB_SOAK") == "1" {
		return 10_000
	}
	return 2_000
}

// failedMessage is the DLQ copy of Monetbil event i, as the processor's
// queue carries it.
func failedMessage(i int) sqsqueue.Outgoing {
	key := fmt.Sprintf("MB-scale-%05d:success", i)
	return sqsqueue.Outgoing{Body: fmt.Sprintf(`{"v":1,"provider":"monetbil","event_key":%q}`, key), Attributes: map[string]string{
		envelope.AttrProvider: "monetbil", envelope.AttrEventKey: key, envelope.AttrEventType: "payment.success", envelope.AttrTransactionID: fmt.Sprintf("tx-scale-%05d", i),
	}}
}

// fillDLQ puts n failed events in the DLQ and their failure records in the
// events table, 8 writers at a time.
func fillDLQ(t *testing.T, s *hubtest.Stack, dlq *sqsqueue.Queue, n int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 8 {
		wg.Go(func() {
			for start := w * 10; start < n; start += 80 {
				batch := make([]sqsqueue.Outgoing, 0, 10)
				for i := start; i < min(start+10, n); i++ {
					batch = append(batch, failedMessage(i))
					f := store.Failure{Provider: "monetbil", EventKey: batch[len(batch)-1].Attributes[envelope.AttrEventKey], Attempt: 3, Error: "monetbil checkPayment (transient): HTTP 500", ErrorType: "transient", DeadLettered: true, Now: time.Now()}
					if err := s.Store.Fail(ctx, f); err != nil {
						errs <- err
						return
					}
				}
				if ids, err := dlq.SendBatch(ctx, batch); err != nil || ids[len(ids)-1] == "" {
					errs <- fmt.Errorf("fill the DLQ: %v: %w", ids, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestADLQOfThousandsIsListedRetriedForgottenAndMoved is issue 12's scale
// case against the local servers: every operation completes, reads each
// message once, and leaves the DLQ as it should. The times are logged (run
// with -v); they are not asserted on a shared machine.
func TestADLQOfThousandsIsListedRetriedForgottenAndMoved(t *testing.T) {
	t.Parallel()
	n := dlqSize()
	s := hubtest.NewStack(t, hubtest.Options{})
	dlq, err := sqsqueue.NewQueue(s.SQS, s.Queues.DLQURL)
	if err != nil {
		t.Fatal(err)
	}
	source, err := sqsqueue.NewQueue(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	fillDLQ(t, s, dlq, n)
	t.Logf("filled a DLQ of %d messages with their failure records in %s", n, time.Since(began).Round(time.Millisecond))
	svc, err := failedjobs.New(failedjobs.Config{DLQ: dlq, Source: source, Records: s.Store})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	began = time.Now()
	l, err := svc.List(ctx, failedjobs.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("list: %d messages in %s (scan %s)", len(l.Jobs), time.Since(began).Round(time.Millisecond), l.Elapsed.Round(time.Millisecond))
	requireListed(t, l, n)
	requireDepth(t, dlq, n, "after listing")

	last := l.Jobs[len(l.Jobs)-1]
	began = time.Now()
	out, err := svc.Retry(ctx, []string{last.MessageID}, nil)
	if err != nil || out[0].Result != "retried" {
		t.Fatalf("retry %s: %+v %v", last.MessageID, out, err)
	}
	t.Logf("retry of the last message listed: %s", time.Since(began).Round(time.Millisecond))
	requireDepth(t, source, 1, "the source queue after retry")

	// Two more deliveries of one event were dead-lettered.
	twice := failedMessage(7)
	if _, err := dlq.SendBatch(ctx, []sqsqueue.Outgoing{twice, twice}); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	o, err := svc.Forget(ctx, l.Jobs[0].MessageID, nil)
	if err != nil || o.Deleted != 1 {
		t.Fatalf("forget %s: %+v %v", l.Jobs[0].MessageID, o, err)
	}
	var copyOf7 string
	for _, j := range l.Jobs {
		if j.EventKey == twice.Attributes[envelope.AttrEventKey] {
			copyOf7 = j.MessageID
		}
	}
	if o, err = svc.Forget(ctx, copyOf7, nil); err != nil || o.Deleted != 3 {
		t.Fatalf("forget %s: %+v %v, want its 3 copies deleted", copyOf7, o, err)
	}
	t.Logf("forget (reads the whole DLQ for copies): %s for two", time.Since(began).Round(time.Millisecond))
	requireDepth(t, dlq, n-1-1-1, "after retry and forget")

	began = time.Now()
	moved, err := svc.MoveClientSide(ctx, nil)
	if err != nil || moved != n-3 {
		t.Fatalf("moved %d, %v; want %d", moved, err, n-3)
	}
	t.Logf("retry --all, client-side: %d messages in %s", moved, time.Since(began).Round(time.Millisecond))
	requireDepth(t, dlq, 0, "after retry --all")
	requireDepth(t, source, n-2, "the source queue after retry --all")
}

func requireListed(t *testing.T, l failedjobs.Listing, n int) {
	t.Helper()
	if l.Stopped != failedjobs.StopEmpty || len(l.Jobs) != n {
		t.Fatalf("listed %d of %d, stopped %q", len(l.Jobs), n, l.Stopped)
	}
	seen := make(map[string]bool, n)
	for _, j := range l.Jobs {
		if seen[j.MessageID] {
			t.Fatalf("message %s listed twice", j.MessageID)
		}
		seen[j.MessageID] = true
		if j.Record != string(store.Failed) || j.Attempts == 0 || j.ErrorType != "transient" || j.TransactionID == "" {
			t.Fatalf("job not joined with its record: %+v", j)
		}
	}
}

func requireDepth(t *testing.T, q *sqsqueue.Queue, want int, what string) {
	t.Helper()
	d, err := q.Depth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Visible != int64(want) || d.InFlight != 0 {
		t.Fatalf("%s: %d visible, %d in flight; want %d visible, none in flight", what, d.Visible, d.InFlight, want)
	}
}
