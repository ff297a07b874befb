package reliability_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/failedjobs"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/localaws"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

// TestR5 stops DynamoDB while events are being processed (short: 20, soak:
// 100). Every event's job is waiting for checkPayment when a private
// DynamoDB Local stops; then checkPayment answers. Each attempt must fail
// (the binding and the transaction write cannot reach DynamoDB), be retried
// on the scaled schedule, and
// after the third the event must be in the DLQ. After DynamoDB is back (on
// another port, empty: the tables are recreated) and a redrive (the
// client-side move `hubctl failed retry --all` makes on fauxqs), each event
// must be applied exactly once.
//
// DynamoDB Local keeps its tables in memory, so whatever the stopped server
// held is gone after the restart. The test therefore stops it at a moment
// when nothing has been applied (every job is held in checkPayment) and
// checks the state after the restart only. The failure records the hub
// tries to write during the outage are lost with it (each is logged "could
// not record the failure"); the DLQ still holds every event.
//
// What it proves: a DynamoDB outage in the middle of processing loses no
// event and applies none twice; attempts stay bounded by the schedule; the
// DLQ and a redrive bring everything back. What it cannot prove: that
// DynamoDB's own writes survive an outage (the local server is in memory;
// DynamoDB is durable).
func TestR5(t *testing.T) {
	t.Parallel()
	hubtest.Require(t, hubtest.EnvSQS, hubtest.EnvDynamoDB)
	n := size(20, 100)
	ctx := context.Background()

	dbServer, err := localaws.StartDynamoDBLocal(ctx, localaws.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dbServer.Stop() })
	ep := &movingEndpoint{}
	ep.set(t, dbServer.Endpoint)
	ddb := dynamoAt(t, ep)
	tb := createTables(t, ddb, hubtest.Name("r5-events"), hubtest.Name("r5-tx"))

	sqsClient := hubtest.SQS(t)
	// The visibility timeout outlasts any attempt (the SDK retries each
	// DynamoDB call a few times): the backoff, not the timeout, decides
	// when a message comes back.
	q := newQueues(t, sqsClient, 30*time.Second)
	checkPayment := newGatedCheckPayment(t)
	logs := &hubtest.Logs{}
	consumer, err := sqsqueue.NewConsumer(sqsClient, q.URL)
	if err != nil {
		t.Fatal(err)
	}
	startWorker(t, consumer, newProcessor(t, tb.store, consumer, checkPayment.URL, logs, 30*time.Second), n, logs)

	hooks := make([]hook, n)
	for i := range hooks {
		hooks[i] = monetbilHook("r5", i)
	}
	pub, err := sqsqueue.NewPublisher(sqsClient, q.URL)
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, pub, hooks)
	hubtest.WaitFor(t, fmt.Sprintf("%d jobs waiting for checkPayment", n), 90*time.Second, func() bool { return checkPayment.waiting.Load() == int64(n) })

	// The outage, in the middle of every job.
	if err := dbServer.Stop(); err != nil {
		t.Fatal(err)
	}
	checkPayment.open()
	hubtest.WaitFor(t, fmt.Sprintf("%d events in the DLQ", n), bound(2*time.Minute, 4*time.Minute), func() bool { return visible(sqsClient, q.DLQURL) == n })
	waitDrained(t, sqsClient, q.URL, 30*time.Second)
	// Every attempt the processor saw failed, in order, and the third went
	// to the DLQ. An attempt can be missing only when a receive's answer was
	// lost (its message comes back with a receive count one higher; see
	// helpers_test.go): counted, not hidden.
	failures, lost := 0, 0
	attempts := map[string]int{}
	for _, h := range hooks {
		seen := map[float64]bool{}
		for _, msg := range []string{"job failed; will retry", "job failed; the event is going to the DLQ"} {
			for _, rec := range logLines(logs, msg, "event_key", h.eventKey) {
				a, _ := rec["attempt"].(float64)
				if seen[a] || a < 1 || a > 3 || (msg == "job failed; will retry") == (a == 3) {
					t.Errorf("%s: %q at attempt %v (attempts so far %v)", h.eventKey, msg, a, seen)
				}
				seen[a] = true
				failures++
			}
		}
		if len(seen) == 0 {
			t.Errorf("%s: no failed attempt logged", h.eventKey)
		}
		lost += 3 - len(seen)
		attempts[h.paymentID] = len(seen)
		// Each attempt runs the job (a read) and fails at the write.
		if got := checkPayment.calls(h.paymentID); got != len(seen) {
			t.Errorf("%s: checkPayment asked %d times during the outage, want one per attempt (%d)", h.eventKey, got, len(seen))
		}
	}
	if got := logs.Count(`"msg":"could not record the failure"`); got != failures {
		t.Errorf("%d failure records could not be written, want one per failed attempt (%d)", got, failures)
	}
	if got := logs.Count(`"msg":"processed"`); got != 0 {
		t.Errorf("%d events processed during the outage, want none", got)
	}
	t.Logf("%d failed attempts logged for %d events (%d receives lost to the SDK's retry)", failures, n, lost)
	if t.Failed() {
		t.FailNow()
	}

	// DynamoDB back, empty, on another port; the tables are recreated.
	dbServer, err = localaws.StartDynamoDBLocal(ctx, localaws.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dbServer.Stop() })
	ep.set(t, dbServer.Endpoint)
	tb = createTables(t, ddb, tb.events, tb.transactions)

	// The redrive: what `hubctl failed retry --all` does where SQS has no
	// move tasks.
	dlq, err := sqsqueue.NewQueue(sqsClient, q.DLQURL)
	if err != nil {
		t.Fatal(err)
	}
	source, err := sqsqueue.NewQueue(sqsClient, q.URL)
	if err != nil {
		t.Fatal(err)
	}
	fj, err := failedjobs.New(failedjobs.Config{DLQ: dlq, Source: source, Records: tb.store})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := fj.MoveClientSide(ctx, nil)
	if err != nil || moved != n {
		t.Fatalf("redrive moved %d of %d messages: %v", moved, n, err)
	}
	hubtest.WaitFor(t, "the redriven events to be processed", 90*time.Second, func() bool { return logs.Count(`"msg":"processed"`) == n })
	waitDrained(t, sqsClient, q.URL, 30*time.Second)
	requireEmpty(t, sqsClient, q.DLQURL, "the DLQ")
	requireAppliedOnce(t, ddb, tb, hooks)
	for _, h := range hooks {
		if got, want := checkPayment.calls(h.paymentID), attempts[h.paymentID]+1; got != want {
			t.Errorf("%s: checkPayment asked %d times in all, want %d (each failed attempt, and the one after the redrive)", h.eventKey, got, want)
		}
	}
}

// gatedCheckPayment is a Monetbil checkPayment stand-in that confirms every
// payment, but holds each answer until opened.
type gatedCheckPayment struct {
	*httptest.Server
	waiting atomic.Int64
	gate    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	asked   map[string]int
}

func newGatedCheckPayment(t testing.TB) *gatedCheckPayment {
	g := &gatedCheckPayment{gate: make(chan struct{}), asked: map[string]int{}}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(func() { g.open(); g.Close() })
	return g
}

func (g *gatedCheckPayment) open() { g.once.Do(func() { close(g.gate) }) }

func (g *gatedCheckPayment) calls(paymentID string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.asked[paymentID]
}

func (g *gatedCheckPayment) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.asked[r.PostForm.Get("paymentId")]++
	g.mu.Unlock()
	g.waiting.Add(1)
	select {
	case <-g.gate:
	case <-r.Context().Done():
	}
	g.waiting.Add(-1)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"transaction":{"status":1,"testmode":false}}`))
}
