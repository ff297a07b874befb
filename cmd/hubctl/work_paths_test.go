package main_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/transaction"
)

// TestWorkReachesEveryStorePath runs `hubctl work` through the store's rarer
// paths too, so that the IAM recording (make test) holds the processor's
// role to all the calls it makes on AWS: a transaction that outgrows its
// remembered events (the write that trims them), and a refund that carries
// no transaction id (the read of the payment-intent index).
func TestWorkReachesEveryStorePath(t *testing.T) {
	t.Parallel()
	s := hubtest.NewStack(t, hubtest.Options{})
	m := hubtest.NewMonetbil(t)
	pub, err := sqsqueue.NewPublisher(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now().Add(-time.Hour).Unix()
	send := func(id, typ, object string) {
		t.Helper()
		payload := fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"created":%d,"livemode":false,"data":{"object":%s}}`, id, typ, created, object)
		if _, err := pub.Enqueue(context.Background(), envelope.Envelope{Version: 1, Provider: "stripe", EventKey: id, EventType: typ, ReceivedAt: time.Now().UTC(), Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	startWorker(t, workerEnv(s, m))
	status := func(want transaction.Status, events int) func() bool {
		return func() bool {
			tx, err := s.Store.Transaction(context.Background(), "tx_paths")
			return err == nil && tx.Status == want && len(tx.Events) >= events
		}
	}
	send("evt_paths_0", "payment_intent.succeeded", `{"id":"pi_paths","object":"payment_intent","amount":5000,"currency":"eur","metadata":{"transaction_id":"tx_paths"}}`)
	hubtest.WaitFor(t, "the payment", 30*time.Second, status(transaction.Succeeded, 1))
	// Partial refunds of one second: the history grows past its bound.
	for i := 1; i <= transaction.HistorySize+1; i++ {
		send(fmt.Sprintf("evt_paths_%d", i), "charge.refunded", fmt.Sprintf(`{"id":"ch_paths","object":"charge","amount":5000,"amount_refunded":%d,"refunded":false,"currency":"eur","payment_intent":"pi_paths","metadata":{"transaction_id":"tx_paths"}}`, i))
	}
	hubtest.WaitFor(t, "the partial refunds", 60*time.Second, status(transaction.PartiallyRefunded, transaction.HistorySize+2))
	// A full refund of the charge, as Checkout's charges come: no metadata.
	send("evt_paths_full", "charge.refunded", `{"id":"ch_paths","object":"charge","amount":5000,"amount_refunded":5000,"refunded":true,"currency":"eur","payment_intent":"pi_paths","metadata":{}}`)
	hubtest.WaitFor(t, "the refund matched through its payment intent", 60*time.Second, status(transaction.Refunded, 1))
}
