package reliability_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

// TestR2 kills `hubctl work` (the built binary, as a process) with SIGKILL
// in the middle of N events (short: 200, soak: 1,000), restarts it, and
// checks that every event was applied exactly once and that nothing is left
// in the queue or the DLQ.
//
// Every confirmation takes 50 ms (the checkPayment stand-in), so at the
// kill the worker holds jobs at every stage: received and not claimed,
// claimed and waiting for Monetbil, applied and not completed, completed and
// not yet deleted (deletes are batched). The queue's visibility timeout is
// 5 s and the job timeout 2 s: a killed job's claim (job timeout + 2 s)
// runs out before its message comes back, as the README asks of the
// settings.
//
// What it proves: no stage of a job lost to a crash loses the event or
// applies it twice; the write order (claim, transaction, completion) is safe
// to repeat.
func TestR2(t *testing.T) {
	t.Parallel()
	n := size(200, 1000)
	s := hubtest.NewStack(t, hubtest.Options{VisibilityTimeout: 5 * time.Second})
	m := hubtest.NewMonetbil(t)
	hooks := make([]hook, n)
	for i := range hooks {
		hooks[i] = monetbilHook("r2", i)
		m.Set(hooks[i].paymentID, 1, 0, 50*time.Millisecond)
	}
	pub, err := sqsqueue.NewPublisher(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, pub, hooks)

	env := append(s.Env(), "MONETBIL_API_URL="+m.URL, "BACKOFF_SECONDS=1,2,3", "JOB_TIMEOUT_SECONDS=2")
	args := []string{"work", "--concurrency", "8", "--wait", "1s"}
	first := hubtest.StartHubctl(t, env, args...)
	hubtest.WaitFor(t, "a third of the events to be processed", bound(60*time.Second, 5*time.Minute), func() bool {
		return first.Logs.Count(`"msg":"processed"`) >= n/3
	})
	if err := first.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !first.Exited(10 * time.Second) {
		t.Fatal("hubctl work survived SIGKILL")
	}
	before := first.Logs.Count(`"msg":"processed"`)
	asked := m.Requests()
	if before >= n {
		t.Fatalf("all %d events were processed before the kill: the test proves nothing; slow the confirmations down", n)
	}
	t.Logf("killed after %d of %d events were processed, with %d confirmations asked", before, n, asked)

	second := hubtest.StartHubctl(t, env, args...)
	waitDrained(t, s.SQS, s.Queues.URL, bound(90*time.Second, 5*time.Minute))
	requireEmpty(t, s.SQS, s.Queues.DLQURL, "the DLQ")
	requireAppliedOnce(t, s.DynamoDB, tables{events: s.EventsTable, transactions: s.TransactionsTable, store: s.Store}, hooks)

	// How much work the crash cost: jobs that ran again after the restart.
	t.Logf("after the restart: %d processed, %d already processed, %d checkPayment calls in all for %d events",
		second.Logs.Count(`"msg":"processed"`), second.Logs.Count(`"msg":"already processed"`), m.Requests(), n)
}
