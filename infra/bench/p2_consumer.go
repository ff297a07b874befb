package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/retry"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store/memstore"
	"github.com/payments-hub/hub/internal/worker"
)

// ignoreJob decides nothing: what is left is the consumer's own cost.
type ignoreJob struct{}

func (ignoreJob) Decide(context.Context, envelope.Envelope) (processing.Decision, error) {
	return processing.Decision{Outcome: "ignored"}, nil
}

// fill sends n distinct envelopes to the queue with SendMessageBatch.
func fill(ctx context.Context, c *clients, url string, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	batches := make(chan int, n/10+1)
	for start := 0; start < n; start += 10 {
		batches <- start
	}
	close(batches)
	for range 8 {
		wg.Go(func() {
			for start := range batches {
				var entries []types.SendMessageBatchRequestEntry
				for i := start; i < min(start+10, n); i++ {
					e := envelope.Envelope{Version: 1, Provider: envelope.ProviderStripe, EventKey: fmt.Sprintf("evt_p2_%d", i), EventType: "payment_intent.succeeded",
						TransactionID: fmt.Sprintf("tx_p2_%d", i), ReceivedAt: time.Now().UTC(), Payload: stripeEvent(fmt.Sprintf("evt_p2_%d", i), fmt.Sprintf("tx_p2_%d", i))}
					body, err := envelope.Encode(e)
					if err != nil {
						errs <- err
						return
					}
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i - start)), MessageBody: aws.String(string(body)), MessageAttributes: sqsqueue.Attributes(e)})
				}
				out, err := c.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
				if err == nil && len(out.Failed) > 0 {
					err = fmt.Errorf("%d entries failed", len(out.Failed))
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// drained is the outcome of draining a queue.
type drained struct {
	rate float64 // messages/s
	got  int     // messages received and deleted
	// stranded are messages left in flight, not delivered to the consumer:
	// a receive whose answer was lost (and retried by the SDK) leaves its
	// messages hidden for the visibility timeout. Rates count only what
	// was delivered.
	stranded int
}

// drainBare receives (10 at a time, one poller) and deletes in batches until
// n messages are gone, and returns messages/s.
func drainBare(ctx context.Context, c *clients, url string, n int) (drained, error) {
	start := time.Now()
	last := start
	got := 0
	for got < n {
		out, err := c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
		if err != nil {
			return drained{}, err
		}
		if len(out.Messages) == 0 {
			visible, total, err := c.queueCount(ctx, url)
			if err != nil {
				return drained{}, err
			}
			if visible > 0 {
				continue
			}
			// Timed to the last delete, not to this empty receive.
			return drained{rate: float64(got) / last.Sub(start).Seconds(), got: got, stranded: total}, nil
		}
		entries := make([]types.DeleteMessageBatchRequestEntry, len(out.Messages))
		for i, m := range out.Messages {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
		}
		if _, err := c.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
			return drained{}, err
		}
		got += len(out.Messages)
		last = time.Now()
	}
	return drained{rate: float64(n) / last.Sub(start).Seconds(), got: n}, nil
}

// drainWorker runs the worker with the processing core (in-memory store, a
// job that does nothing) until n messages are acknowledged and deleted, and
// returns messages/s.
func drainWorker(ctx context.Context, c *clients, url string, n, concurrency int) (drained, error) {
	consumer, err := sqsqueue.NewConsumer(c.sqs, url)
	if err != nil {
		return drained{}, err
	}
	p, err := processing.New(processing.Config{Store: memstore.New(0), Visibility: consumer, Jobs: map[string]processing.Job{envelope.ProviderStripe: ignoreJob{}},
		Policy: retry.Default(), JobTimeout: 10 * time.Second})
	if err != nil {
		return drained{}, err
	}
	w, err := worker.New(worker.Config{Queue: consumer, Processor: p, Concurrency: concurrency, Wait: time.Second})
	if err != nil {
		return drained{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- w.Run(runCtx) }()
	last, lastChange := 0, time.Now()
	stranded := 0
	for {
		acked := w.Stats().Acked
		if acked >= n {
			break
		}
		if acked != last {
			last, lastChange = acked, time.Now()
		} else if time.Since(lastChange) > 1500*time.Millisecond {
			visible, total, err := c.queueCount(ctx, url)
			if err == nil && visible == 0 {
				stranded = total
				break
			}
			lastChange = time.Now()
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel() // Run returns once the last acknowledged messages are deleted
	if err := <-done; err != nil {
		return drained{}, err
	}
	acked := w.Stats().Acked
	elapsed := time.Since(start)
	if stranded > 0 {
		elapsed = lastChange.Sub(start)
	}
	return drained{rate: float64(acked) / elapsed.Seconds(), got: acked, stranded: stranded}, nil
}

// p2 compares messages/s through the worker with a bare receive and delete
// loop on the same server.
func p2(ctx context.Context, c *clients, o options) (*section, error) {
	s := &section{title: "P2 consumer: messages/s through the worker vs bare receive + DeleteMessageBatch (fauxqs)"}
	s.intro = fmt.Sprintf("Each run: a fresh queue filled with %d envelopes, then drained; time from start to the last delete. "+
		"The worker is internal/worker with the processing core, the in-memory store and a job that returns Decision{Outcome: \"ignored\"} "+
		"(decode, job, delete in batches of 10: an ignored event costs no write); the bare loop is one poller: ReceiveMessage (10) then DeleteMessageBatch. "+
		"Value: median of %d runs.", o.p2Messages, o.runs)
	modes := []struct {
		name        string
		concurrency int // 0: bare
	}{{"bare receive + DeleteMessageBatch", 0}}
	for _, conc := range o.p2Concurrency {
		modes = append(modes, struct {
			name        string
			concurrency int
		}{fmt.Sprintf("worker, concurrency %d", conc), conc})
	}
	results := make([][]float64, len(modes))
	for run := range o.runs {
		for i := range modes {
			m := modes[(i+run)%len(modes)]
			idx := (i + run) % len(modes)
			url, remove, err := c.plainQueue(ctx, "bench-p2")
			if err != nil {
				return s, err
			}
			if err := fill(ctx, c, url, o.p2Messages); err != nil {
				remove()
				return s, fmt.Errorf("fill: %w", err)
			}
			var d drained
			if m.concurrency == 0 {
				d, err = drainBare(ctx, c, url, o.p2Messages)
			} else {
				d, err = drainWorker(ctx, c, url, o.p2Messages, m.concurrency)
			}
			remove()
			if err != nil {
				return s, fmt.Errorf("%s: %w", m.name, err)
			}
			if d.stranded > 0 {
				s.note("run %d, %s: %d of %d messages were left in flight by receives whose answer never arrived (the SDK retried them); the rate counts the %d delivered", run+1, m.name, d.stranded, o.p2Messages, d.got)
			}
			results[idx] = append(results[idx], d.rate)
			logf("P2 run %d: %s %.0f messages/s (%d delivered, %d stranded)", run+1, m.name, d.rate, d.got, d.stranded)
		}
	}
	bare := median(results[0])
	s.add(modes[0].name, fmt.Sprintf("%.0f messages/s", bare), "one poller, WaitTimeSeconds 1; runs "+runsOf(results[0], "%.0f"))
	for i := 1; i < len(modes); i++ {
		w := median(results[i])
		s.add(modes[i].name, fmt.Sprintf("%.0f messages/s", w), "one receive loop asking for as many messages as it has free slots (at most 10); runs "+runsOf(results[i], "%.0f"))
		s.add(modes[i].name+" / bare", fmt.Sprintf("%.2f", w/bare), "median worker / median bare")
	}
	return s, nil
}
