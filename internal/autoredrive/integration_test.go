package autoredrive_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/autoredrive"
	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

func TestMain(m *testing.M) { os.Exit(hubtest.Main(m)) }

// newRedriver is a redriver on the stack, as app.Redriver builds it, with
// no breaker.
func newRedriver(t *testing.T, s *hubtest.Stack, schedule autoredrive.Schedule) *autoredrive.Redriver {
	t.Helper()
	dlq, err := sqsqueue.NewQueue(s.SQS, s.Queues.DLQURL)
	if err != nil {
		t.Fatal(err)
	}
	queue, err := sqsqueue.NewQueue(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}
	r, err := autoredrive.New(autoredrive.Config{DLQ: dlq, Queue: queue, Records: s.Store, Schedule: schedule, Budget: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Two passes at once against the local servers, over a DLQ holding two
// copies of each of 30 due events: each event goes back to the queue
// once, with round 1, and its record holds that one round.
func TestTwoConcurrentPassesMoveEachEventOnceOnTheLocalServers(t *testing.T) {
	t.Parallel()
	s := hubtest.NewStack(t, hubtest.Options{})
	at := time.Now().Add(-time.Hour).UTC()
	var events []hubtest.DeadEvent
	for i := range 30 {
		events = append(events, hubtest.DeadEvent{Provider: "monetbil", EventKey: fmt.Sprintf("MB-pass-%02d:success", i), TransactionID: fmt.Sprintf("tx-pass-%02d", i), FailedAt: at})
	}
	s.DeadLetter(t, events...)
	s.DeadLetter(t, events...) // the second copies
	// Round 2 is an hour away: a later pass leaves the second copies alone.
	schedule := autoredrive.Schedule{time.Second, time.Hour, time.Hour}
	a, b := newRedriver(t, s, schedule), newRedriver(t, s, schedule)

	var wg sync.WaitGroup
	sums := make([]autoredrive.Summary, 2)
	for i, r := range []*autoredrive.Redriver{a, b} {
		wg.Go(func() { sums[i], _ = r.Pass(context.Background()) })
	}
	wg.Wait()
	t.Logf("concurrent passes: %+v / %+v", sums[0], sums[1])
	moved := map[string]int{}
	collect := func() {
		for _, m := range s.Drain(t, s.Queues.URL) {
			if m.Attributes[envelope.AttrRedrive] != "auto:1" {
				t.Fatalf("moved with redrive %q", m.Attributes[envelope.AttrRedrive])
			}
			moved[m.Attributes[envelope.AttrEventKey]]++
		}
	}
	collect()
	// A receive whose answer the local server cut hides its messages for
	// the pass's hide: once back, later passes move what was missed.
	for try := 1; len(moved) < 30 && try <= 3; try++ {
		s.Settle(t, s.Queues.DLQURL, time.Minute)
		if _, err := a.Pass(context.Background()); err != nil {
			t.Fatal(err)
		}
		collect()
	}
	for key, n := range moved {
		if n != 1 {
			t.Errorf("%s moved %d times", key, n)
		}
	}
	if len(moved) != 30 {
		t.Fatalf("%d events moved, want 30", len(moved))
	}
	for _, e := range events {
		rec, err := s.Store.Event(context.Background(), e.Provider, e.EventKey)
		if err != nil || len(rec.Rounds) != 1 || rec.Rounds[0].Outcome != "redriven" {
			t.Fatalf("%s: %+v %v", e.EventKey, rec.Rounds, err)
		}
	}
	s.Settle(t, s.Queues.DLQURL, time.Minute)
	if left := s.Drain(t, s.Queues.DLQURL); len(left) != 30 {
		t.Fatalf("%d copies left in the DLQ, want the 30 second copies", len(left))
	}
}
