package lambdasqs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/lambdasqs"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/retry"
	"github.com/payments-hub/hub/internal/store/memstore"
)

// visibility records the visibility the core asked for, per receipt handle.
type visibility struct {
	mu  sync.Mutex
	set map[string]time.Duration
}

func (v *visibility) ChangeVisibility(_ context.Context, handle string, d time.Duration) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.set[handle] = d
	return nil
}

type downChecker struct{}

func (downChecker) CheckPayment(context.Context, string) (monetbil.Payment, error) {
	return monetbil.Payment{}, fmt.Errorf("connection refused: %w", monetbil.ErrTransient)
}

func TestHandlerReturnsExactlyTheFailedRecords(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/sqs-event.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	vis := &visibility{set: map[string]time.Duration{}}
	st := memstore.New(0)
	p, err := processing.New(processing.Config{
		Store: st, Visibility: vis, Policy: retry.Default(),
		Jobs: map[string]processing.Job{"stripe": jobs.Stripe{Mode: jobs.StripeTest}, "monetbil": jobs.Monetbil{Checker: downChecker{}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := lambdasqs.Handler(p, 10)(ctx, ev)
	if err != nil {
		t.Fatalf("the handler failed the whole batch: %v", err)
	}
	got := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		got[f.ItemIdentifier] = true
	}
	want := map[string]bool{ev.Records[1].MessageId: true, ev.Records[2].MessageId: true}
	if len(got) != len(want) || !got[ev.Records[1].MessageId] || !got[ev.Records[2].MessageId] {
		t.Fatalf("batchItemFailures = %v, want exactly %v", resp.BatchItemFailures, want)
	}
	// The garbled envelope is permanent (visible at once, for the redrive);
	// the Monetbil record failed attempt 2 and waits backoff[1] = 30 s.
	if d := vis.set[ev.Records[1].ReceiptHandle]; d != 0 {
		t.Errorf("permanent failure hidden for %s, want 0", d)
	}
	if d := vis.set[ev.Records[2].ReceiptHandle]; d != 30*time.Second {
		t.Errorf("attempt 2 hidden for %s, want 30s", d)
	}
	if _, ok := vis.set[ev.Records[0].ReceiptHandle]; ok {
		t.Errorf("the succeeded record's visibility was changed")
	}
	tx, err := st.Transaction(ctx, "tx_lambda_1")
	if err != nil || tx.Status != "succeeded" {
		t.Fatalf("transaction = %+v, %v", tx, err)
	}
	// The response serialises as Lambda expects.
	b, _ := json.Marshal(resp)
	var shape struct {
		BatchItemFailures []struct {
			ItemIdentifier string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(b, &shape); err != nil || len(shape.BatchItemFailures) != 2 {
		t.Fatalf("response JSON %s", b)
	}
}

func TestHandlerReportsNoFailuresAsAnEmptyList(t *testing.T) {
	t.Parallel()
	p, err := processing.New(processing.Config{Store: memstore.New(0), Visibility: &visibility{set: map[string]time.Duration{}}, Policy: retry.Default(), Jobs: map[string]processing.Job{"stripe": jobs.Stripe{Mode: jobs.StripeTest}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := lambdasqs.Handler(p, 1)(context.Background(), events.SQSEvent{})
	if err != nil || resp.BatchItemFailures == nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("empty batch: %+v %v", resp, err)
	}
	b, _ := json.Marshal(resp)
	if string(b) != `{"batchItemFailures":[]}` {
		t.Fatalf("empty batch serialises as %s", b)
	}
}
