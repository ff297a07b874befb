package reliability_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/worker"
)

// The consumer: the processing core and the worker, in this process.

// newProcessor builds the processing core as hubctl and the Lambda do, on
// the scaled schedule.
func newProcessor(t testing.TB, st store.Store, vis processing.Visibility, checkPaymentURL string, logs *hubtest.Logs, jobTimeout time.Duration) *processing.Processor {
	t.Helper()
	js := map[string]processing.Job{envelope.ProviderStripe: jobs.Stripe{Mode: jobs.StripeTest, Finder: st}}
	if checkPaymentURL != "" {
		// The job's deadline, not the client's, bounds a confirmation.
		checker, err := monetbil.NewClient(checkPaymentURL, &http.Client{Timeout: 2 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		js[envelope.ProviderMonetbil] = jobs.Monetbil{Checker: checker}
	}
	p, err := processing.New(processing.Config{Store: st, Visibility: vis, Jobs: js, Policy: scaled, JobTimeout: jobTimeout, Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// running is a worker consuming in a goroutine until stopped.
type running struct {
	w      *worker.Worker
	cancel context.CancelFunc
	done   chan error
}

// startWorker runs a worker until the test ends (or stop), logging to logs.
func startWorker(t testing.TB, q worker.Queue, p *processing.Processor, concurrency int, logs *hubtest.Logs) *running {
	t.Helper()
	w, err := worker.New(worker.Config{Queue: q, Processor: p, Concurrency: concurrency, Wait: time.Second, Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t testing.TB) {
	r.cancel()
	select {
	case <-r.done:
		r.done <- nil // a second stop returns at once
	case <-time.After(time.Minute):
		t.Error("worker did not stop within a minute")
	}
}
