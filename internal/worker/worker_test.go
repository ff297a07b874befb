package worker_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/retry"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
	"github.com/payments-hub/hub/internal/worker"
)

// The production schedule (10, 30, 60 s) scaled down to 1 s, 2 s, 3 s.
var scaled = retry.Policy{Backoff: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, MaxAttempts: 3}

type rig struct {
	stack    *hubtest.Stack
	monetbil *hubtest.Monetbil
	logs     *hubtest.Logs
	consumer *sqsqueue.Consumer
	proc     *processing.Processor
	pub      *sqsqueue.Publisher
}

func newRig(t *testing.T, o hubtest.Options, jobTimeout time.Duration) *rig {
	t.Helper()
	r := &rig{stack: hubtest.NewStack(t, o), monetbil: hubtest.NewMonetbil(t), logs: &hubtest.Logs{}}
	var err error
	if r.consumer, err = sqsqueue.NewConsumer(r.stack.SQS, r.stack.Queues.URL); err != nil {
		t.Fatal(err)
	}
	if r.pub, err = sqsqueue.NewPublisher(r.stack.SQS, r.stack.Queues.URL); err != nil {
		t.Fatal(err)
	}
	checker, err := monetbil.NewClient(r.monetbil.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.proc, err = processing.New(processing.Config{
		Store: r.stack.Store, Visibility: r.consumer, Policy: scaled, JobTimeout: jobTimeout, Logger: r.logs.Logger(),
		Jobs: map[string]processing.Job{"stripe": jobs.Stripe{Mode: jobs.StripeTest}, "monetbil": jobs.Monetbil{Checker: checker}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("processor logs:\n%s", r.logs.String())
		}
	})
	return r
}

// run starts a worker until the test ends.
func (r *rig) run(t *testing.T, concurrency int) {
	t.Helper()
	w, err := worker.New(worker.Config{Queue: r.consumer, Processor: r.proc, Concurrency: concurrency, Wait: time.Second, Logger: r.logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

func monetbilEnvelope(txID, paymentID string) envelope.Envelope {
	form := url.Values{"transaction_id": {paymentID}, "status": {"success"}, "payment_ref": {txID}, "amount": {"500"}, "currency": {"XAF"}}
	form.Set("sign", monetbil.Sign("unused-here", form))
	n, _ := monetbil.ParseNotification(form)
	return envelope.Envelope{Version: 1, Provider: "monetbil", EventKey: n.EventKey(), EventType: n.EventType(), TransactionID: txID, ReceivedAt: time.Now().UTC(), Payload: form.Encode()}
}

func stripeEnvelope(eventID, typ, txID string, created time.Time) envelope.Envelope {
	payload := fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"created":%d,"data":{"object":{"id":"pi_x","amount":1000,"currency":"eur","metadata":{"transaction_id":%q}}}}`, eventID, typ, created.Unix(), txID)
	return envelope.Envelope{Version: 1, Provider: "stripe", EventKey: eventID, EventType: typ, TransactionID: txID, ReceivedAt: time.Now().UTC(), Payload: payload}
}

func (r *rig) send(t *testing.T, e envelope.Envelope) {
	t.Helper()
	if _, err := r.pub.Enqueue(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) status(txID string) transaction.Status {
	tx, err := r.stack.Store.Transaction(context.Background(), txID)
	if err != nil {
		return ""
	}
	return tx.Status
}

// dlq receives what the DLQ holds (with a long visibility so a test reads
// each message once).
func (r *rig) dlq(t *testing.T, want int, timeout time.Duration) []types.Message {
	t.Helper()
	var got []types.Message
	deadline := time.Now().Add(timeout)
	for len(got) < want && time.Now().Before(deadline) {
		out, err := r.stack.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(r.stack.Queues.DLQURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.Messages...)
	}
	return got
}

func TestFailsTwiceThenSucceedsOnTheThirdAttemptOnSchedule(t *testing.T) {
	t.Parallel()
	r := newRig(t, hubtest.Options{}, 10*time.Second)
	r.monetbil.Set("MB-retry", 1, 2, 0)
	r.run(t, 2)
	r.send(t, monetbilEnvelope("tx-retry", "MB-retry"))

	hubtest.WaitFor(t, "the event to be processed", 30*time.Second, func() bool {
		rec, err := r.stack.Store.Event(context.Background(), "monetbil", "MB-retry:success")
		return err == nil && rec.Status == store.Processed
	})
	if got := r.status("tx-retry"); got != transaction.Succeeded {
		t.Fatalf("transaction status %q, want succeeded", got)
	}
	calls := r.monetbil.Calls("MB-retry")
	if len(calls) != 3 {
		t.Fatalf("checkPayment called %d times, want 3", len(calls))
	}
	// The gaps follow the schedule: backoff[0] after attempt 1, backoff[1]
	// after attempt 2. Never early; late by at most what a loaded machine
	// and a 1 s long poll add.
	for i, want := range []time.Duration{time.Second, 2 * time.Second} {
		gap := calls[i+1].Sub(calls[i])
		if gap < want-150*time.Millisecond || gap > want+2*time.Second {
			t.Errorf("gap after attempt %d = %s, want %s", i+1, gap, want)
		}
	}
	rec, err := r.stack.Store.Event(context.Background(), "monetbil", "MB-retry:success")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != store.Processed || rec.Attempts != 3 || rec.Outcome != "applied" {
		t.Fatalf("event record = %+v", rec)
	}
	if r.logs.Count(`"msg":"processed"`, `"attempt":3`, `"event_key":"MB-retry:success"`, `"transaction_id":"tx-retry"`, `"status":"succeeded"`) != 1 {
		t.Errorf("no success line with event_key, transaction_id, status and attempt 3")
	}
	if r.logs.Count(`"level":"ERROR"`, `"msg":"job failed; will retry"`, `"error_type"`) != 2 {
		t.Errorf("want 2 error lines with error_type for the failed attempts")
	}
}

func TestAlwaysFailingEventIsTriedThreeTimesThenSitsInTheDLQIntact(t *testing.T) {
	t.Parallel()
	r := newRig(t, hubtest.Options{}, 10*time.Second)
	r.monetbil.Set("MB-dead", 1, -1, 0)
	r.run(t, 2)
	e := monetbilEnvelope("tx-dead", "MB-dead")
	r.send(t, e)

	msgs := r.dlq(t, 1, 30*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("DLQ holds %d messages, want 1", len(msgs))
	}
	if n := len(r.monetbil.Calls("MB-dead")); n != 3 {
		t.Fatalf("received %d times, want exactly 3", n)
	}
	body, _ := envelope.Encode(e)
	if got := aws.ToString(msgs[0].Body); got != string(body) {
		t.Errorf("DLQ body changed:\n got %s\nwant %s", got, body)
	}
	for k, v := range map[string]string{"provider": "monetbil", "event_key": "MB-dead:success", "transaction_id": "tx-dead", "event_type": "payment.success"} {
		if got := aws.ToString(msgs[0].MessageAttributes[k].StringValue); got != v {
			t.Errorf("DLQ attribute %s = %q, want %q", k, got, v)
		}
	}
	rec, err := r.stack.Store.Event(context.Background(), "monetbil", "MB-dead:success")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != store.Failed || !rec.DeadLettered || rec.Attempts != 3 || !strings.Contains(rec.LastError, "500") || rec.ErrorType == "" || rec.FirstFailedAt.IsZero() || !rec.LastFailedAt.After(rec.FirstFailedAt) {
		t.Fatalf("failure record = %+v", rec)
	}
	if r.status("tx-dead") != "" {
		t.Fatalf("a failed event changed the transaction")
	}
	if r.logs.Count(`"level":"ERROR"`, `going to the DLQ`, `"attempt":3`) != 1 {
		t.Errorf("no error line saying the event is going to the DLQ")
	}
}

func TestPermanentFailuresReachTheDLQWithoutWaitingForTheBackoff(t *testing.T) {
	t.Parallel()
	r := newRig(t, hubtest.Options{}, 10*time.Second)
	// checkPayment answers 404 for an unknown payment: permanent.
	r.run(t, 2)
	start := time.Now()
	r.send(t, monetbilEnvelope("tx-perm", "MB-unknown"))
	if _, err := r.stack.SQS.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(r.stack.Queues.URL), MessageBody: aws.String("this is not an envelope"),
		MessageAttributes: map[string]types.MessageAttributeValue{"provider": {DataType: aws.String("String"), StringValue: aws.String("stripe")}, "event_key": {DataType: aws.String("String"), StringValue: aws.String("evt_garbled")}},
	}); err != nil {
		t.Fatal(err)
	}
	msgs := r.dlq(t, 2, 20*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("DLQ holds %d messages, want 2", len(msgs))
	}
	// The backoff would take 1+2+3 = 6 s; a permanent failure does not wait.
	if took := time.Since(start); took >= 5*time.Second {
		t.Errorf("permanent failures took %s to reach the DLQ; the backoff alone is 6 s", took)
	}
	if n := len(r.monetbil.Calls("MB-unknown")); n != 1 {
		t.Errorf("a permanent failure was retried: checkPayment called %d times", n)
	}
	for _, key := range [][2]string{{"monetbil", "MB-unknown:success"}, {"stripe", "evt_garbled"}} {
		rec, err := r.stack.Store.Event(context.Background(), key[0], key[1])
		if err != nil {
			t.Fatalf("%v: %v", key, err)
		}
		if !rec.Permanent || !rec.DeadLettered || rec.Status != store.Failed {
			t.Errorf("%v: record = %+v, want permanent and dead-lettered", key, rec)
		}
	}
}

func TestFiftyConcurrentDeliveriesOfOneEventApplyItOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, hubtest.Options{}, 10*time.Second)
	e := stripeEnvelope("evt_fifty", "payment_intent.succeeded", "tx-fifty", time.Now())
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); r.send(t, e) }()
	}
	wg.Wait()
	r.run(t, 16)
	hubtest.WaitFor(t, "49 duplicates", 30*time.Second, func() bool { return r.logs.Count(`"msg":"already processed"`, `evt_fifty`) == 49 })
	tx, err := r.stack.Store.Transaction(context.Background(), "tx-fifty")
	if err != nil {
		t.Fatal(err)
	}
	if tx.Status != transaction.Succeeded || tx.Version != 1 {
		t.Fatalf("transaction = %+v, want succeeded once (version 1)", tx)
	}
	if n := r.logs.Count(`"msg":"processed"`, `evt_fifty`); n != 1 {
		t.Fatalf("%d deliveries processed the event, want 1", n)
	}
}

func TestOutOfOrderEventsNeverRegressState(t *testing.T) {
	t.Parallel()
	r := newRig(t, hubtest.Options{}, 10*time.Second)
	r.run(t, 1)
	t0 := time.Now().Add(-time.Hour)
	steps := []struct {
		e    envelope.Envelope
		want transaction.Status
	}{
		{stripeEnvelope("evt_ooo_1", "payment_intent.succeeded", "tx-ooo", t0.Add(2*time.Minute)), transaction.Succeeded},
		{stripeEnvelope("evt_ooo_2", "payment_intent.payment_failed", "tx-ooo", t0.Add(time.Minute)), transaction.Succeeded},
		{stripeEnvelope("evt_ooo_3", "charge.refunded", "tx-ooo", t0.Add(3*time.Minute)), transaction.PartiallyRefunded},
		{stripeEnvelope("evt_ooo_4", "payment_intent.succeeded", "tx-ooo", t0.Add(4*time.Minute)), transaction.PartiallyRefunded},
	}
	for _, s := range steps {
		r.send(t, s.e)
		hubtest.WaitFor(t, s.e.EventKey, 15*time.Second, func() bool {
			rec, err := store.Lookup(context.Background(), r.stack.Store, "stripe", s.e.EventKey, "tx-ooo")
			return err == nil && rec.Status == store.Processed
		})
		if got := r.status("tx-ooo"); got != s.want {
			t.Fatalf("after %s (%s): status %s, want %s", s.e.EventKey, s.e.EventType, got, s.want)
		}
	}
	for key, outcome := range map[string]string{"evt_ooo_2": "stale", "evt_ooo_4": "refused"} {
		rec, _ := r.stack.Store.Event(context.Background(), "stripe", key)
		if rec.Outcome != outcome {
			t.Errorf("%s outcome %q, want %q (recorded, not applied)", key, rec.Outcome, outcome)
		}
	}
}

func TestASlowConfirmationTimesOutAndIsRetried(t *testing.T) {
	t.Parallel()
	r := newRig(t, hubtest.Options{}, time.Second)
	r.monetbil.Set("MB-slow", 1, 0, 10*time.Second)
	r.run(t, 2)
	r.send(t, monetbilEnvelope("tx-slow", "MB-slow"))
	hubtest.WaitFor(t, "the first, slow call", 15*time.Second, func() bool { return len(r.monetbil.Calls("MB-slow")) == 1 })
	r.monetbil.Set("MB-slow", 1, 0, 0)
	hubtest.WaitFor(t, "the event to be processed", 20*time.Second, func() bool {
		rec, err := r.stack.Store.Event(context.Background(), "monetbil", "MB-slow:success")
		return err == nil && rec.Status == store.Processed
	})
	rec, _ := r.stack.Store.Event(context.Background(), "monetbil", "MB-slow:success")
	if rec.Attempts != 2 || !strings.Contains(rec.LastError, "deadline") {
		t.Fatalf("record %+v: want applied on attempt 2 after a timeout", rec)
	}
}
