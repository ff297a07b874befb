package hubtest

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// DeadEvent is an event as it lies in the DLQ after its attempts failed.
type DeadEvent struct {
	Provider, EventKey, TransactionID string
	Permanent                         bool
	// ErrorType is the error class recorded (default
	// *monetbil.CheckError).
	ErrorType string
	FailedAt  time.Time
}

// Envelope is the event's queued envelope: a Monetbil notification whose
// transaction_id is the key's first part, or a minimal Stripe event.
func (e DeadEvent) Envelope() envelope.Envelope {
	id, status, _ := strings.Cut(e.EventKey, ":")
	payload := url.Values{"transaction_id": {id}, "status": {status}, "payment_ref": {e.TransactionID}}.Encode()
	if e.Provider == envelope.ProviderStripe {
		payload = `{"id":"` + e.EventKey + `","object":"event","type":"payment_intent.succeeded","data":{"object":{"metadata":{"transaction_id":"` + e.TransactionID + `"}}}}`
	}
	return envelope.Envelope{Version: 1, Provider: e.Provider, EventKey: e.EventKey, EventType: "payment.success", TransactionID: e.TransactionID, ReceivedAt: e.FailedAt.Add(-time.Minute), Payload: payload}
}

// DeadLetter records each event's failure (dead-lettered after 3
// attempts) and puts its message straight into the DLQ, as SQS's redrive
// would: the DLQ of a stack without running its processor.
func (s *Stack) DeadLetter(t testing.TB, events ...DeadEvent) {
	t.Helper()
	ctx := context.Background()
	var entries []types.SendMessageBatchRequestEntry
	for i, e := range events {
		if e.ErrorType == "" {
			e.ErrorType = "*monetbil.CheckError"
		}
		err := s.Store.Fail(ctx, store.Failure{Provider: e.Provider, EventKey: e.EventKey, TransactionID: e.TransactionID, Attempt: 3,
			Error: "monetbil checkPayment (transient): HTTP 500", ErrorType: e.ErrorType, Permanent: e.Permanent, DeadLettered: true, Now: e.FailedAt})
		if err != nil {
			t.Fatal(err)
		}
		body, err := envelope.Encode(e.Envelope())
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)),
			MessageBody: aws.String(string(body)), MessageAttributes: sqsqueue.Attributes(e.Envelope())})
		if len(entries) == 10 || i == len(events)-1 {
			out, err := s.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.Queues.DLQURL), Entries: entries})
			if err != nil || len(out.Failed) > 0 {
				t.Fatalf("send to the DLQ: %v %+v", err, out)
			}
			entries = nil
		}
	}
}

// Drain receives and deletes every message of the queue at url, until a
// receive finds none and the queue counts none, and returns them. A receive
// whose answer is lost hides its messages for 5 s; it fails the test when
// messages stay hidden for a minute.
func (s *Stack) Drain(t testing.TB, url string) []sqsqueue.Received {
	t.Helper()
	q, err := sqsqueue.NewQueue(s.SQS, url)
	if err != nil {
		t.Fatal(err)
	}
	var out []sqsqueue.Received
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := q.Scan(context.Background(), 10, time.Second, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			d, err := q.Depth(context.Background())
			switch {
			case err != nil:
				t.Fatal(err)
			case d.Visible+d.InFlight+d.Delayed == 0:
				return out
			case time.Now().After(deadline):
				t.Fatalf("draining %s: %+v messages stay", url, d)
			}
			continue
		}
		out = append(out, got...)
		hs := make([]string, len(got))
		for i, m := range got {
			hs[i] = m.ReceiptHandle
		}
		if err := q.Delete(context.Background(), hs); err != nil {
			t.Fatal(err)
		}
	}
}

// Settle waits, up to within, until no message of the queue at url is
// hidden (held by a command, or by a receive whose answer was lost). It
// receives one message now and then and releases it at once: some local
// servers make an expired hide visible only when a receive looks.
func (s *Stack) Settle(t testing.TB, url string, within time.Duration) {
	t.Helper()
	q, err := sqsqueue.NewQueue(s.SQS, url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	WaitFor(t, "no message in flight in "+url, within, func() bool {
		if got, err := q.Scan(ctx, 1, 0, time.Minute); err == nil && len(got) == 1 {
			if err := q.Release(ctx, []string{got[0].ReceiptHandle}); err != nil {
				return false
			}
		}
		d, err := q.Depth(ctx)
		return err == nil && d.InFlight == 0
	})
}
