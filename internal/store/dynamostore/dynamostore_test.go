package dynamostore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/store/dynamostore"
	"github.com/payments-hub/hub/internal/transaction"
)

// metered counts the calls a store makes and the capacity DynamoDB says
// they consumed.
type metered struct {
	dynamostore.API
	mu          sync.Mutex
	calls       map[string]int
	writeUnits  float64
	readUnits   float64
	failedConds int
}

func (m *metered) add(op string, cc *types.ConsumedCapacity, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[op]++
	if cc != nil {
		// With ReturnConsumedCapacity TOTAL only CapacityUnits is set.
		if op == "GetItem" {
			m.readUnits += aws.ToFloat64(cc.CapacityUnits)
		} else {
			m.writeUnits += aws.ToFloat64(cc.CapacityUnits)
		}
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		m.failedConds++
	}
}

func (m *metered) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls, m.writeUnits, m.readUnits, m.failedConds = map[string]int{}, 0, 0, 0
}

func (m *metered) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.GetItem(ctx, in, o...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	m.add("GetItem", cc, err)
	return out, err
}

func (m *metered) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.PutItem(ctx, in, o...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	m.add("PutItem", cc, err)
	return out, err
}

func (m *metered) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.UpdateItem(ctx, in, o...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	m.add("UpdateItem", cc, err)
	return out, err
}

type tables struct {
	client       *dynamodb.Client
	events       string
	transactions string
}

func newTables(t *testing.T) tables {
	t.Helper()
	client := hubtest.DynamoDB(t)
	tb := tables{client: client, events: hubtest.Name("events"), transactions: hubtest.Name("transactions")}
	t.Cleanup(func() {
		for _, name := range []string{tb.events, tb.transactions} {
			_, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
			var missing *types.ResourceNotFoundException
			if err != nil && !errors.As(err, &missing) {
				t.Errorf("delete table %s: %v", name, err)
			}
		}
	})
	if err := dynamostore.CreateTables(context.Background(), client, tb.events, tb.transactions); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	return tb
}

// TestCallsAndWriteUnits pins the cost of each operation: the calls it
// makes, and the write units DynamoDB reports for them.
func TestCallsAndWriteUnits(t *testing.T) {
	tb := newTables(t)
	m := &metered{API: tb.client}
	s, err := dynamostore.New(m, tb.events, tb.transactions)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	claim := func(token string) store.Claim {
		return store.Claim{Provider: "stripe", EventKey: "evt_1", EventType: "payment_intent.succeeded", TransactionID: "tx_1",
			MessageID: "m-" + token, Token: token, Now: now, LeaseUntil: now.Add(time.Minute)}
	}
	type cost struct {
		calls       map[string]int
		writeUnits  float64
		failedConds int
	}
	steps := []struct {
		name string
		do   func() error
		want cost
	}{
		{"Claim new", func() error { _, _, err := s.Claim(ctx, claim("a")); return err },
			cost{map[string]int{"UpdateItem": 1}, 1, 0}},
		// The holder's record comes back with the failed condition
		// (ReturnValuesOnConditionCheckFailure): no GetItem. AWS bills a
		// failed conditional write like a write.
		{"Claim busy", func() error { _, _, err := s.Claim(ctx, claim("b")); return err },
			cost{map[string]int{"UpdateItem": 1}, 1, 1}},
		{"Apply create", func() error {
			_, _, err := s.Apply(ctx, transaction.Change{TransactionID: "tx_1", Status: transaction.Succeeded, Provider: "stripe", EventKey: "evt_1", EventAt: now}, now)
			return err
		}, cost{map[string]int{"GetItem": 1, "PutItem": 1}, 1, 0}},
		{"Apply again (already applied)", func() error {
			_, _, err := s.Apply(ctx, transaction.Change{TransactionID: "tx_1", Status: transaction.Succeeded, Provider: "stripe", EventKey: "evt_1", EventAt: now}, now)
			return err
		}, cost{map[string]int{"GetItem": 1}, 0, 0}},
		{"Complete", func() error { return s.Complete(ctx, "stripe", "evt_1", "a", "applied", now) },
			cost{map[string]int{"UpdateItem": 1}, 1, 0}},
		{"Claim processed", func() error { _, _, err := s.Claim(ctx, claim("c")); return err },
			cost{map[string]int{"UpdateItem": 1}, 1, 1}},
		{"Fail without token", func() error {
			return s.Fail(ctx, store.Failure{Provider: "stripe", EventKey: "evt_2", Error: "bad", Now: now})
		}, cost{map[string]int{"UpdateItem": 1}, 1, 0}},
		{"Forget", func() error { return s.Forget(ctx, "stripe", "evt_2", now) },
			cost{map[string]int{"UpdateItem": 1}, 1, 0}},
	}
	for _, st := range steps {
		m.reset()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if len(m.calls) != len(st.want.calls) {
			t.Errorf("%s: calls %v, want %v", st.name, m.calls, st.want.calls)
		}
		for op, n := range st.want.calls {
			if m.calls[op] != n {
				t.Errorf("%s: calls %v, want %v", st.name, m.calls, st.want.calls)
			}
		}
		if m.failedConds != st.want.failedConds {
			t.Errorf("%s: %d failed conditions, want %d", st.name, m.failedConds, st.want.failedConds)
		}
		// A failed condition comes back as an error, with no consumed
		// capacity to measure.
		if st.want.failedConds == 0 && m.writeUnits != st.want.writeUnits {
			t.Errorf("%s: %v write units, want %v", st.name, m.writeUnits, st.want.writeUnits)
		}
	}
}

func TestCreateTablesIsIdempotent(t *testing.T) {
	tb := newTables(t)
	ctx := context.Background()
	if err := dynamostore.CreateTables(ctx, tb.client, tb.events, tb.transactions); err != nil {
		t.Fatalf("second CreateTables: %v", err)
	}
	for _, name := range []string{tb.events, tb.transactions} {
		out, err := tb.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Table.TableStatus != types.TableStatusActive {
			t.Errorf("%s: status %s", name, out.Table.TableStatus)
		}
		if bm := out.Table.BillingModeSummary; bm == nil || bm.BillingMode != types.BillingModePayPerRequest {
			t.Errorf("%s: billing mode %+v, want PAY_PER_REQUEST", name, bm)
		}
		ttl, err := tb.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		d := ttl.TimeToLiveDescription
		if d == nil || aws.ToString(d.AttributeName) != "expires_at" ||
			(d.TimeToLiveStatus != types.TimeToLiveStatusEnabled && d.TimeToLiveStatus != types.TimeToLiveStatusEnabling) {
			t.Errorf("%s: TTL %+v, want enabled on expires_at", name, d)
		}
	}
}

// TestBadDataIsAnError: a record that does not decode is an error naming
// the attribute, never a panic or a zero value.
func TestBadDataIsAnError(t *testing.T) {
	tb := newTables(t)
	ctx := context.Background()
	s, err := dynamostore.New(tb.client, tb.events, tb.transactions)
	if err != nil {
		t.Fatal(err)
	}
	put := func(table string, item map[string]types.AttributeValue) {
		t.Helper()
		if _, err := tb.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	S := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	N := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	put(tb.events, map[string]types.AttributeValue{"pk": S("stripe#evt_badtime"), "status": S("PROCESSED"), "processed_at": S("yesterday")})
	put(tb.events, map[string]types.AttributeValue{"pk": S("stripe#evt_badtype"), "status": S("FAILED"), "attempts": S("3")})
	put(tb.events, map[string]types.AttributeValue{"pk": S("stripe#evt_badstatus"), "status": S("DONE")})
	put(tb.transactions, map[string]types.AttributeValue{"transaction_id": S("tx_badversion"), "status": S("pending"), "version": N("1.5")})
	put(tb.transactions, map[string]types.AttributeValue{"transaction_id": S("tx_badstatus"), "status": S("paid"), "version": N("1")})

	for key, want := range map[string]string{"evt_badtime": "processed_at", "evt_badtype": "attempts", "evt_badstatus": "DONE"} {
		_, err := s.Event(ctx, "stripe", key)
		if err == nil || !strings.Contains(err.Error(), want) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Event(%s): error %v, want one naming %s", key, err, want)
		}
		now := time.Now()
		_, _, err = s.Claim(ctx, store.Claim{Provider: "stripe", EventKey: key, Token: "t", Now: now, LeaseUntil: now.Add(time.Minute)})
		if key != "evt_badstatus" && err == nil {
			t.Errorf("Claim(%s) of a bad record: no error", key)
		}
	}
	for id, want := range map[string]string{"tx_badversion": "version", "tx_badstatus": "paid"} {
		if _, err := s.Transaction(ctx, id); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Transaction(%s): error %v, want one naming %s", id, err, want)
		}
		_, _, err := s.Apply(ctx, transaction.Change{TransactionID: id, Status: transaction.Succeeded, EventKey: "e"}, time.Now())
		if err == nil {
			t.Errorf("Apply to %s: no error", id)
		}
	}
}

func TestNewValidates(t *testing.T) {
	var client dynamostore.API = &dynamodb.Client{}
	for name, build := range map[string]func() (*dynamostore.Store, error){
		"no client":       func() (*dynamostore.Store, error) { return dynamostore.New(nil, "e", "t") },
		"no events":       func() (*dynamostore.Store, error) { return dynamostore.New(client, "", "t") },
		"no transactions": func() (*dynamostore.Store, error) { return dynamostore.New(client, "e", "") },
		"negative retention": func() (*dynamostore.Store, error) {
			return dynamostore.New(client, "e", "t", dynamostore.WithRetention(-time.Hour))
		},
	} {
		if _, err := build(); err == nil {
			t.Errorf("New with %s: no error", name)
		}
	}
}
