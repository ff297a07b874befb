package processing_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/retry"
	"github.com/payments-hub/hub/internal/store/memstore"
)

// benchIgnore is a job that decides nothing: the core's own cost.
type benchIgnore struct{}

func (benchIgnore) Decide(context.Context, envelope.Envelope) (processing.Decision, error) {
	return processing.Decision{Outcome: "ignored"}, nil
}

// benchMessages returns n deliveries of distinct Stripe events, each for its
// own transaction.
func benchMessages(b *testing.B, n int) []processing.Message {
	b.Helper()
	created := time.Now()
	msgs := make([]processing.Message, n)
	for i := range msgs {
		msgs[i] = stripeMessage(fmt.Sprint(i), fmt.Sprintf("evt_bench_%d", i), "payment_intent.succeeded", fmt.Sprintf("tx_bench_%d", i), created)
	}
	return msgs
}

func benchProcessor(b *testing.B, job processing.Job, log *slog.Logger) *processing.Processor {
	b.Helper()
	p, err := processing.New(processing.Config{Store: memstore.New(0), Visibility: &noVisibility{}, Jobs: map[string]processing.Job{envelope.ProviderStripe: job},
		Policy: retry.Default(), JobTimeout: 10 * time.Second, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkProcess measures one record through the processing core with the
// in-memory store and visibility: decode the envelope, claim, run the job,
// apply the change, complete. What it leaves out is the I/O (SQS, DynamoDB),
// which infra/bench measures.
func BenchmarkProcess(b *testing.B) {
	run := func(b *testing.B, job processing.Job, log *slog.Logger, want string) {
		msgs := benchMessages(b, b.N)
		p := benchProcessor(b, job, log)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if r := p.Process(ctx, msgs[i], time.Time{}); r.Outcome != want {
				b.Fatalf("outcome %q (%v), want %q", r.Outcome, r.Err, want)
			}
		}
	}
	discard := slog.New(slog.DiscardHandler)
	// A new event for a new transaction, no logs.
	b.Run("stripe_applied", func(b *testing.B) { run(b, jobs.Stripe{Mode: jobs.StripeTest}, discard, "applied") })
	// The same with the JSON log line every processed event writes, as in
	// Lambda (written to io.Discard here).
	b.Run("stripe_applied_json_log", func(b *testing.B) {
		run(b, jobs.Stripe{Mode: jobs.StripeTest}, slog.New(slog.NewJSONHandler(io.Discard, nil)), "applied")
	})
	// A job that decides nothing: the core's own cost (claim, complete).
	b.Run("ignored_job", func(b *testing.B) { run(b, benchIgnore{}, discard, "ignored") })
	// A duplicate delivery of a processed event: decode and claim only.
	b.Run("duplicate", func(b *testing.B) {
		msgs := benchMessages(b, 1)
		p := benchProcessor(b, jobs.Stripe{Mode: jobs.StripeTest}, discard)
		ctx := context.Background()
		if r := p.Process(ctx, msgs[0], time.Time{}); r.Outcome != "applied" {
			b.Fatalf("first delivery: %+v", r)
		}
		b.ReportAllocs()
		for b.Loop() {
			if r := p.Process(ctx, msgs[0], time.Time{}); r.Outcome != "already_processed" {
				b.Fatalf("duplicate: %+v", r)
			}
		}
	})
}
