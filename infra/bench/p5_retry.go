package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/retry"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store/memstore"
)

// failingJob fails every attempt, transiently, and notes when each ran.
type failingJob struct {
	mu       sync.Mutex
	attempts map[string][]time.Time
}

func (j *failingJob) Decide(_ context.Context, e envelope.Envelope) (processing.Decision, error) {
	j.mu.Lock()
	j.attempts[e.EventKey] = append(j.attempts[e.EventKey], time.Now())
	j.mu.Unlock()
	return processing.Decision{}, errors.New("checkPayment unavailable (simulated)")
}

// dlqArrivals polls the DLQ's visible count every 20 ms until n messages
// are there and returns when each was first seen.
func dlqArrivals(ctx context.Context, c *clients, dlqURL string, n int) ([]time.Time, error) {
	var arrivals []time.Time
	deadline := time.Now().Add(60 * time.Second)
	for len(arrivals) < n {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d events reached the DLQ in 60 s", len(arrivals), n)
		}
		visible, _, err := c.queueCount(ctx, dlqURL)
		if err != nil {
			return nil, err
		}
		for len(arrivals) < visible {
			arrivals = append(arrivals, time.Now())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return arrivals, nil
}

// p5 compares the observed gaps between attempts, and between the last
// attempt and the DLQ, with the configured (scaled) schedule.
func p5(ctx context.Context, c *clients, o options) (*section, error) {
	policy := retry.Policy{Backoff: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, MaxAttempts: 3}
	s := &section{title: "P5 retry timing: observed redelivery gaps vs the configured schedule (scaled 1, 2, 3 s)"}
	s.intro = fmt.Sprintf("%d events whose job always fails (transient) on a queue with maxReceiveCount 3 and a 30 s visibility timeout, consumed by internal/worker "+
		"(concurrency 10, long polling 1 s) with BACKOFF_SECONDS=1,2,3 (the default 10, 30, 60 scaled by 1/10, 1/15, 1/20). "+
		"Attempt times are taken in the job; the DLQ arrival by polling the DLQ's visible count every 20 ms, matched to events in order of their third attempt.", o.retryEvents)
	q, remove, err := c.hubQueues(ctx, "bench-p5", 30*time.Second)
	if err != nil {
		return s, err
	}
	defer remove()
	job := &failingJob{attempts: map[string][]time.Time{}}
	stop, err := startWorker(ctx, c, q.URL, processing.Config{Store: memstore.New(0), Jobs: map[string]processing.Job{envelope.ProviderStripe: job}, Policy: policy, JobTimeout: 10 * time.Second}, 10)
	if err != nil {
		return s, err
	}
	defer stop()

	pub, err := sqsqueue.NewPublisher(c.sqs, q.URL)
	if err != nil {
		return s, err
	}
	for i := range o.retryEvents {
		id := fmt.Sprintf("evt_p5_%d", i)
		if _, err := pub.Enqueue(ctx, envelope.Envelope{Version: 1, Provider: envelope.ProviderStripe, EventKey: id, EventType: "payment_intent.succeeded",
			TransactionID: "tx_" + id, ReceivedAt: time.Now().UTC(), Payload: stripeEvent(id, "tx_"+id)}); err != nil {
			return s, err
		}
	}
	arrivals, err := dlqArrivals(ctx, c, q.DLQURL, o.retryEvents)
	if err != nil {
		return s, err
	}
	job.mu.Lock()
	defer job.mu.Unlock()
	var thirds []time.Time
	gaps := [3][]float64{}
	for key, at := range job.attempts {
		if len(at) != 3 {
			return s, fmt.Errorf("%s: %d attempts, want 3", key, len(at))
		}
		gaps[0] = append(gaps[0], float64(at[1].Sub(at[0])))
		gaps[1] = append(gaps[1], float64(at[2].Sub(at[1])))
		thirds = append(thirds, at[2])
	}
	sort.Slice(thirds, func(i, j int) bool { return thirds[i].Before(thirds[j]) })
	for i := range thirds {
		gaps[2] = append(gaps[2], float64(arrivals[i].Sub(thirds[i])))
	}
	names := []string{"attempt 1 → attempt 2", "attempt 2 → attempt 3", "attempt 3 → in the DLQ"}
	for i, g := range gaps {
		want := policy.Delay(i + 1)
		d := durations(g)
		sort.Slice(d, func(a, b int) bool { return d[a] < d[b] })
		med := time.Duration(median(g))
		s.add(names[i], fmt.Sprintf("%s (configured %s, +%s)", ms(med), want, ms(med-want)),
			fmt.Sprintf("median of %d events; min %s, max %s", len(g), ms(d[0]), ms(d[len(d)-1])))
	}
	s.note("The gap is the backoff plus the time to notice: the worker is long polling (a message that becomes visible is returned at once), " +
		"and ChangeMessageVisibility is called after the failure is recorded, so each gap exceeds its backoff by the failed attempt's tail (recording the failure) and SQS's own timer resolution.")
	s.note("The DLQ move happens on the receive after the third attempt's backoff: SQS moves a message whose receive count would exceed maxReceiveCount instead of delivering it.")
	return s, nil
}
