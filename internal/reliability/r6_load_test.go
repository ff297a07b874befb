package reliability_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

// TestR6 sends N webhooks (short: 1,000, soak: 10,000; one in four from
// Monetbil) at concurrency 64 over HTTP through the whole pipeline: the
// intake (intake.Service over httptest), SQS, a worker running 20 jobs at
// once (as two processor Lambdas of 10 records would), DynamoDB. One in
// twenty is delivered a second time, as a provider's retry. Every webhook
// must be acknowledged, and in the end: N transactions applied, none lost,
// none applied twice, and every second delivery acknowledged as "already
// processed".
//
// What it proves: under load, with real servers and real concurrency at
// every stage, the pipeline keeps the exactly-once promise.
func TestR6(t *testing.T) {
	t.Parallel()
	n := size(1000, 10000)
	// A short visibility timeout: a receive whose answer is lost (see
	// helpers_test.go, lostReceives) hides its messages only that long.
	s := hubtest.NewStack(t, hubtest.Options{VisibilityTimeout: 10 * time.Second})
	m := hubtest.NewMonetbil(t)
	pub, err := sqsqueue.NewPublisher(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}
	srv := newIntake(t, pub)
	consumer, err := sqsqueue.NewConsumer(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}
	logs := &hubtest.Logs{}
	startWorker(t, consumer, newProcessor(t, s.Store, consumer, m.URL, logs, 10*time.Second), 20, logs)

	hooks := mixedHooks("r6", n, m)
	deliveries := append([]hook(nil), hooks...)
	dups := 0
	for i := 0; i < n; i += 20 {
		deliveries = append(deliveries, hooks[i])
		dups++
	}
	for i, code := range post(t, httpClient(), srv.URL, deliveries, 64) {
		if code != http.StatusOK {
			t.Fatalf("webhook %d (%s %s) answered %d, want 200", i, deliveries[i].provider, deliveries[i].eventKey, code)
		}
	}
	waitDrained(t, s.SQS, s.Queues.URL, bound(2*time.Minute, 10*time.Minute))
	requireEmpty(t, s.SQS, s.Queues.DLQURL, "the DLQ")
	requireAppliedOnce(t, s.DynamoDB, tables{events: s.EventsTable, transactions: s.TransactionsTable, store: s.Store}, hooks)
	if got := logs.Count(`"msg":"processed"`, `"outcome":"applied"`); got != n {
		t.Errorf("%d changes applied, want %d", got, n)
	}
	if got := logs.Count(`"msg":"already processed"`); got != dups {
		t.Errorf("%d deliveries acknowledged as already processed, want the %d second deliveries", got, dups)
	}
}
