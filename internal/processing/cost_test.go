package processing_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/retry"
	"github.com/payments-hub/hub/internal/store/dynamostore"
	"github.com/payments-hub/hub/internal/webhooktest"
)

// metered counts the DynamoDB requests a store makes, and the write units
// DynamoDB says they consumed, table and indexes apart.
type metered struct {
	dynamostore.API
	mu          sync.Mutex
	calls       map[string]int
	tableWrites float64
	indexWrites float64
	failedConds int
}

func (m *metered) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls, m.tableWrites, m.indexWrites, m.failedConds = map[string]int{}, 0, 0, 0
}

func (m *metered) add(op string, cc *types.ConsumedCapacity, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[op]++
	if cc != nil && op != "GetItem" && op != "Query" && op != "Scan" {
		if cc.Table != nil {
			m.tableWrites += aws.ToFloat64(cc.Table.CapacityUnits)
		}
		for _, idx := range cc.GlobalSecondaryIndexes {
			m.indexWrites += aws.ToFloat64(idx.CapacityUnits)
		}
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		m.failedConds++
	}
}

func (m *metered) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityIndexes
	out, err := m.API.UpdateItem(ctx, in, o...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	m.add("UpdateItem", cc, err)
	return out, err
}

func (m *metered) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityIndexes
	out, err := m.API.PutItem(ctx, in, o...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	m.add("PutItem", cc, err)
	return out, err
}

func (m *metered) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := m.API.GetItem(ctx, in, o...)
	m.add("GetItem", nil, err)
	return out, err
}

func (m *metered) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := m.API.Query(ctx, in, o...)
	m.add("Query", nil, err)
	return out, err
}

func (m *metered) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	out, err := m.API.Scan(ctx, in, o...)
	m.add("Scan", nil, err)
	return out, err
}

// TestDynamoDBRequestsPerEvent measures, against DynamoDB Local, the
// requests the processor makes for each kind of event, and fails if they
// exceed what one write per event promises: an applied Stripe event 1 write
// and no read (and 1 index write for a new payment); a Monetbil event 1
// write, 2 when checkPayment does not name the payment's transaction (its
// binding); a duplicate 1 request (its failed condition; 2 for a Monetbil
// one with a binding); a failed attempt 1 write (its record); an ignored
// type none; an unmatched one 1.
func TestDynamoDBRequestsPerEvent(t *testing.T) {
	client := hubtest.DynamoDB(t)
	events, transactions := hubtest.Name("cost-events"), hubtest.Name("cost-tx")
	ctx := context.Background()
	if err := dynamostore.CreateTables(ctx, client, events, transactions); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, name := range []string{events, transactions} {
			_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	m := &metered{API: client}
	st, err := dynamostore.New(m, events, transactions)
	if err != nil {
		t.Fatal(err)
	}
	confirm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		switch r.PostForm.Get("paymentId") {
		case "MB_down":
			http.Error(w, "down", http.StatusBadGateway)
		case "MB_terse":
			fmt.Fprintf(w, `{"transaction":{"status":1}}`)
		default:
			fmt.Fprintf(w, `{"transaction":{"status":1,"payment_ref":"tx_mb","amount":500,"currency":"XAF"}}`)
		}
	}))
	defer confirm.Close()
	checker, err := monetbil.NewClient(confirm.URL, confirm.Client())
	if err != nil {
		t.Fatal(err)
	}
	p, err := processing.New(processing.Config{Store: st, Visibility: &noVisibility{}, Policy: retry.Default(),
		Jobs: map[string]processing.Job{"stripe": jobs.Stripe{Mode: jobs.StripeTest, Finder: st}, "monetbil": jobs.Monetbil{Checker: checker}}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	monetbilMsg := func(id, txID, paymentID string) processing.Message {
		form, err := webhooktest.BuildMonetbil(webhooktest.Monetbil{TransactionID: txID, PaymentID: paymentID, Status: "success", Amount: 500, Secret: "s"})
		if err != nil {
			t.Fatal(err)
		}
		body, err := envelope.Encode(envelope.Envelope{Version: 1, Provider: "monetbil", EventKey: paymentID + ":success", EventType: "payment.success", TransactionID: txID, ReceivedAt: now, Payload: form.Encode()})
		if err != nil {
			t.Fatal(err)
		}
		return processing.Message{ID: id, Body: body, Attempt: 1}
	}
	stripe := func(id, evtID, typ string, created time.Time, object string) processing.Message {
		payload := fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"created":%d,"livemode":false,"data":{"object":%s}}`, evtID, typ, created.Unix(), object)
		body, err := envelope.Encode(envelope.Envelope{Version: 1, Provider: "stripe", EventKey: evtID, EventType: typ, ReceivedAt: created, Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		return processing.Message{ID: id, Body: body, Attempt: 1}
	}
	pi := func(id, txID string) string {
		return fmt.Sprintf(`{"id":%q,"object":"payment_intent","amount":2500,"currency":"eur","metadata":{"transaction_id":%q}}`, id, txID)
	}
	charge := func(pi, txID string) string {
		return fmt.Sprintf(`{"id":"ch_%s","object":"charge","amount":2500,"amount_refunded":2500,"refunded":true,"currency":"eur","payment_intent":%q,"metadata":{"transaction_id":%q}}`, pi, pi, txID)
	}
	type cost struct {
		calls                    map[string]int
		tableWrites, indexWrites float64
		failedConds              int
	}
	for _, step := range []struct {
		name    string
		msg     processing.Message
		outcome string
		want    cost
	}{
		// The first event of a payment also writes the index entry of its
		// payment intent (once per payment, KEYS_ONLY).
		{"applied Stripe event, a new payment", stripe("a", "evt_a", "payment_intent.succeeded", now, pi("pi_a", "tx_a")), "applied", cost{map[string]int{"UpdateItem": 1}, 1, 1, 0}},
		{"applied Stripe event", stripe("b", "evt_b", "charge.refunded", now.Add(time.Minute), charge("pi_a", "tx_a")), "applied", cost{map[string]int{"UpdateItem": 1}, 1, 0, 0}},
		{"duplicate", stripe("c", "evt_a", "payment_intent.succeeded", now, pi("pi_a", "tx_a")), processing.OutcomeDuplicate, cost{map[string]int{"UpdateItem": 1}, 0, 0, 1}},
		{"refused (its verdict recorded)", stripe("d", "evt_d", "payment_intent.payment_failed", now.Add(2*time.Minute), pi("pi_a", "tx_a")), "refused", cost{map[string]int{"UpdateItem": 2}, 1, 0, 1}},
		{"ignored type", stripe("e", "evt_e", "customer.created", now, `{"id":"cus_1","object":"customer"}`), "ignored", cost{map[string]int{}, 0, 0, 0}},
		{"unmatched", stripe("f", "evt_f", "payment_intent.succeeded", now, pi("pi_unknown", "")), "unmatched", cost{map[string]int{"Query": 1, "UpdateItem": 1}, 1, 0, 0}},
		{"applied Monetbil event", monetbilMsg("g", "tx_mb", "MB_g"), "applied", cost{map[string]int{"UpdateItem": 1}, 1, 0, 0}},
		{"Monetbil duplicate", monetbilMsg("g2", "tx_mb", "MB_g"), processing.OutcomeDuplicate, cost{map[string]int{"UpdateItem": 1}, 0, 0, 1}},
		// checkPayment does not say which transaction: the binding is one
		// more write, renewed by a duplicate.
		{"applied Monetbil event, terse answer", monetbilMsg("k", "tx_terse", "MB_terse"), "applied", cost{map[string]int{"UpdateItem": 2}, 2, 0, 0}},
		{"Monetbil duplicate, terse answer", monetbilMsg("k2", "tx_terse", "MB_terse"), processing.OutcomeDuplicate, cost{map[string]int{"UpdateItem": 2}, 1, 0, 1}},
		{"failed attempt", monetbilMsg("h", "tx_down", "MB_down"), processing.OutcomeFailed, cost{map[string]int{"UpdateItem": 1}, 1, 0, 0}},
		{"a Checkout payment", stripe("i", "evt_i", "payment_intent.succeeded", now, pi("pi_i", "tx_i")), "applied", cost{map[string]int{"UpdateItem": 1}, 1, 1, 0}},
		{"its refund, without metadata, matched through the payment intent", stripe("j", "evt_j", "charge.refunded", now.Add(time.Minute), charge("pi_i", "")), "applied", cost{map[string]int{"Query": 1, "UpdateItem": 1}, 1, 0, 0}},
	} {
		m.reset()
		r := p.Process(ctx, step.msg, time.Time{})
		if r.Outcome != step.outcome {
			t.Fatalf("%s: %+v, want outcome %s", step.name, r, step.outcome)
		}
		m.mu.Lock()
		got := cost{m.calls, m.tableWrites, m.indexWrites, m.failedConds}
		m.mu.Unlock()
		for op, n := range got.calls {
			if n > step.want.calls[op] {
				t.Errorf("%s: %d %s, want at most %d (all calls: %v)", step.name, n, op, step.want.calls[op], got.calls)
			}
		}
		if got.tableWrites > step.want.tableWrites || got.indexWrites > step.want.indexWrites || got.failedConds != step.want.failedConds {
			t.Errorf("%s: %.1f table and %.1f index write units, %d failed conditions; want at most %.1f and %.1f, and %d",
				step.name, got.tableWrites, got.indexWrites, got.failedConds, step.want.tableWrites, step.want.indexWrites, step.want.failedConds)
		}
		t.Logf("%-45s %v, %.1f table + %.1f index write units, %d failed conditions", step.name, got.calls, got.tableWrites, got.indexWrites, got.failedConds)
	}
}
