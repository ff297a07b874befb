package failedjobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
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

// scaleHide is the scans' hide in this test: a receive whose answer is cut
// on its way (the SDK then retries it) hides its messages all the same, on
// a loaded machine now and then; they come back within this.
const scaleHide = 20 * time.Second

// settleWithin bounds the wait for messages hidden by a lost receive to
// come back (hubtest.Stack.Settle).
const settleWithin = scaleHide + 10*time.Second

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
	svc, err := failedjobs.New(failedjobs.Config{DLQ: dlq, Source: source, Records: s.Store, Hide: scaleHide, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// A receive whose answer was lost hides its messages all the same: the
	// listing cannot show them, and counts them.
	// Hidden long enough to outlast the listing on a loaded machine, short
	// enough for Settle to see them back.
	var lost []sqsqueue.Received
	for len(lost) < 10 {
		got, err := dlq.Scan(ctx, 10-len(lost), 0, 15*time.Second)
		if err != nil || len(got) == 0 {
			t.Fatalf("lost receive: %d so far, %v", len(lost), err)
		}
		lost = append(lost, got...)
	}
	l, err := svc.List(ctx, failedjobs.ListOptions{})
	if err != nil || len(l.Jobs)+int(l.Hidden) != n || l.Hidden < 10 || !strings.Contains(l.Note(svc.Budget(), svc.Hide()), "in flight") {
		t.Fatalf("listing with 10 messages hidden: %d listed, %d hidden, %v", len(l.Jobs), l.Hidden, err)
	}
	t.Logf("listing with a lost receive: %d listed, %d hidden", len(l.Jobs), l.Hidden)
	s.Settle(t, dlq.URL(), settleWithin)
	t.Logf("the lost receive's messages are back")
	timed(t, s, dlq, fmt.Sprintf("list of %d messages", n), func() error {
		if l, err = svc.List(ctx, failedjobs.ListOptions{}); err != nil {
			return err
		}
		return listed(l, n)
	})
	requireDepth(t, s, dlq, n, "after listing")

	last := l.Jobs[len(l.Jobs)-1]
	timed(t, s, dlq, "retry of the last message listed", func() error {
		out, err := svc.Retry(ctx, []string{last.MessageID}, nil)
		if err == nil && out[0].Result != "retried" {
			err = fmt.Errorf("outcome %+v", out[0])
		}
		return err
	})
	requireDepth(t, s, source, 1, "the source queue after retry")

	// Two more deliveries of one event were dead-lettered.
	twice := failedMessage(7)
	if _, err := dlq.SendBatch(ctx, []sqsqueue.Outgoing{twice, twice}); err != nil {
		t.Fatal(err)
	}
	forget := func(id string, copies int) func() error {
		return func() error {
			o, err := svc.Forget(ctx, id, nil)
			if err == nil && o.Deleted != copies {
				err = fmt.Errorf("forget %s deleted %d messages, want %d", id, o.Deleted, copies)
			}
			return err
		}
	}
	timed(t, s, dlq, "forget (reads the whole DLQ for copies)", forget(l.Jobs[0].MessageID, 1))
	var copyOf7 string
	for _, j := range l.Jobs {
		if j.EventKey == twice.Attributes[envelope.AttrEventKey] {
			copyOf7 = j.MessageID
		}
	}
	timed(t, s, dlq, "forget of an event with 3 copies", forget(copyOf7, 3))
	requireDepth(t, s, dlq, n-1-1-1, "after retry and forget")

	moved := 0
	timed(t, s, dlq, "retry --all, client-side", func() error {
		m, err := svc.MoveClientSide(ctx, nil)
		moved += m
		return err
	})
	if moved != n-3 {
		t.Fatalf("moved %d, want %d", moved, n-3)
	}
	requireDepth(t, s, dlq, 0, "after retry --all")
	requireDepth(t, s, source, n-2, "the source queue after retry --all")
}

// timed runs op and logs how long it took. An answer cut on its way hides
// the messages it held for scaleHide, on real SQS as here: when op fails
// while some are hidden, it waits for them and runs op once more.
func timed(t *testing.T, s *hubtest.Stack, dlq *sqsqueue.Queue, what string, op func() error) {
	t.Helper()
	// fauxqs loses about one receive answer in a few hundred (the SDK retries
	// it; the lost answer's messages stay hidden): an operation that fails
	// while messages are hidden is run again once they are back, a few
	// times; any other failure fails the test.
	const tries = 5
	for try := 1; ; try++ {
		began := time.Now()
		err := op()
		if err == nil {
			t.Logf("%s: %s", what, time.Since(began).Round(time.Millisecond))
			return
		}
		d, derr := dlq.Depth(context.Background())
		if derr != nil || d.InFlight == 0 || try == tries {
			t.Fatalf("%s (try %d): %v", what, try, err)
		}
		t.Logf("%s: %v, with %d messages hidden by a lost receive: again once they are back", what, err, d.InFlight)
		s.Settle(t, dlq.URL(), settleWithin)
	}
}

func listed(l failedjobs.Listing, n int) error {
	if l.Stopped != failedjobs.StopEmpty || len(l.Jobs) != n {
		return fmt.Errorf("listed %d of %d, stopped %q, %d hidden", len(l.Jobs), n, l.Stopped, l.Hidden)
	}
	seen := make(map[string]bool, n)
	for _, j := range l.Jobs {
		if seen[j.MessageID] {
			return fmt.Errorf("message %s listed twice", j.MessageID)
		}
		seen[j.MessageID] = true
		if j.Record != string(store.Failed) || j.Attempts == 0 || j.ErrorType != "transient" || j.TransactionID == "" {
			return fmt.Errorf("job not joined with its record: %+v", j)
		}
	}
	return nil
}

func requireDepth(t *testing.T, s *hubtest.Stack, q *sqsqueue.Queue, want int, what string) {
	t.Helper()
	d, err := q.Depth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.InFlight != 0 {
		s.Settle(t, q.URL(), settleWithin)
		if d, err = q.Depth(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d.Visible != int64(want) || d.InFlight != 0 {
		t.Fatalf("%s: %d visible, %d in flight; want %d visible, none in flight", what, d.Visible, d.InFlight, want)
	}
}
