package reliability_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/localaws"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

// TestR4 stops SQS while webhooks arrive. The intake (intake.Service over
// HTTP, enqueueing with sqsqueue.Publisher into a private fauxqs) must
// answer 503 to every webhook while SQS is down, never 2xx. Once SQS is back
// the providers retry what was not acknowledged (simulated: every webhook
// that got a non-2xx is sent again), and each is applied exactly once. A
// worker runs throughout and must survive the outage.
//
// The private fauxqs keeps its queues in memory: a restarted one has none.
// So the test drains the queue before the stop (phase 1), and after the
// restart recreates the queues under the same names before the providers
// retry. fauxqs finds a queue by its name, so the URLs the publisher and
// the worker hold keep working, as an SQS queue URL would.
//
// What it proves: the intake acknowledges nothing SQS does not hold; the
// worker rides out the outage; the providers' retries after it are applied
// once, alongside what was applied before it. What it cannot prove: that
// messages held by SQS survive an outage (real SQS is durable; the local
// server is not).
func TestR4(t *testing.T) {
	t.Parallel()
	hubtest.Require(t, hubtest.EnvSQS, hubtest.EnvDynamoDB)
	before, during := size(40, 400), size(40, 400)
	ctx := context.Background()

	sqsServer, err := localaws.StartFauxqs(ctx, localaws.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqsServer.Stop() })
	ep := &movingEndpoint{}
	ep.set(t, sqsServer.Endpoint)
	// Separate clients, as the ingest and processor functions have.
	intakeSQS, workerSQS := sqsAt(t, ep), sqsAt(t, ep)
	q := createQueues(t, workerSQS, 10*time.Second, hubtest.Name("r4-q"), hubtest.Name("r4-dlq"))
	ddb := hubtest.DynamoDB(t)
	tb := newTables(t, ddb)

	m := hubtest.NewMonetbil(t)
	pub, err := sqsqueue.NewPublisher(intakeSQS, q.URL)
	if err != nil {
		t.Fatal(err)
	}
	srv := newIntake(t, pub)
	consumer, err := sqsqueue.NewConsumer(workerSQS, q.URL)
	if err != nil {
		t.Fatal(err)
	}
	logs := &hubtest.Logs{}
	startWorker(t, consumer, newProcessor(t, tb.store, consumer, m.URL, logs, 10*time.Second), 16, logs)
	client := httpClient()

	// Phase 1, SQS up: accepted and applied.
	early := mixedHooks("r4a", before, m)
	for i, code := range post(t, client, srv.URL, early, 16) {
		if code != http.StatusOK {
			t.Fatalf("SQS up: webhook %d answered %d, want 200", i, code)
		}
	}
	waitDrained(t, workerSQS, q.URL, 60*time.Second)

	// Phase 2, SQS down: nothing acknowledged.
	if err := sqsServer.Stop(); err != nil {
		t.Fatal(err)
	}
	late := mixedHooks("r4b", during, m)
	statuses := post(t, client, srv.URL, late, 64)
	var retry []hook
	for i, code := range statuses {
		if code >= 200 && code < 300 {
			t.Errorf("SQS down: webhook %d (%s %s) answered %d: acknowledged but not queued", i, late[i].provider, late[i].eventKey, code)
		}
		if code != http.StatusServiceUnavailable {
			t.Errorf("SQS down: webhook %d answered %d, want 503", i, code)
		}
		if code < 200 || code >= 300 {
			retry = append(retry, late[i])
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Phase 3, SQS back (on another port, empty): the queues are recreated
	// and the providers retry.
	sqsServer, err = localaws.StartFauxqs(ctx, localaws.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqsServer.Stop() })
	ep.set(t, sqsServer.Endpoint)
	createQueues(t, workerSQS, 10*time.Second, provision.QueueNameFromURL(q.URL), provision.QueueNameFromURL(q.DLQURL))
	for i, code := range post(t, client, srv.URL, retry, 16) {
		if code != http.StatusOK {
			t.Fatalf("SQS back: retried webhook %d answered %d, want 200", i, code)
		}
	}
	waitDrained(t, workerSQS, q.URL, 90*time.Second)
	requireEmpty(t, workerSQS, q.DLQURL, "the DLQ")
	requireAppliedOnce(t, ddb, tb, append(early, late...))
	if n := logs.Count(`"msg":"receive failed; retrying"`); n == 0 {
		t.Error("the worker never saw the outage: the test did not stop SQS under it")
	}
}
