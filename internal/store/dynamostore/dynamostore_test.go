package dynamostore_test

import (
	"context"
	"errors"
	"strings"
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
		if name == tb.transactions {
			if n := len(out.Table.GlobalSecondaryIndexes); n != 1 || aws.ToString(out.Table.GlobalSecondaryIndexes[0].IndexName) != dynamostore.IndexStripePaymentIntent ||
				out.Table.GlobalSecondaryIndexes[0].Projection.ProjectionType != types.ProjectionTypeKeysOnly {
				t.Errorf("%s: indexes %+v, want one keys-only %s", name, out.Table.GlobalSecondaryIndexes, dynamostore.IndexStripePaymentIntent)
			}
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
	put(tb.transactions, map[string]types.AttributeValue{"transaction_id": S("tx_badkeys"), "status": S("pending"), "version": N("1"),
		"event_keys": &types.AttributeValueMemberL{Value: []types.AttributeValue{S("e1")}}})

	for key, want := range map[string]string{"evt_badtime": "processed_at", "evt_badtype": "attempts", "evt_badstatus": "DONE"} {
		_, err := s.Event(ctx, "stripe", key)
		if err == nil || !strings.Contains(err.Error(), want) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Event(%s): error %v, want one naming %s", key, err, want)
		}
	}
	for id, want := range map[string]string{"tx_badversion": "version", "tx_badstatus": "paid", "tx_badkeys": "event times"} {
		if _, err := s.Transaction(ctx, id); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Transaction(%s): error %v, want one naming %s", id, err, want)
		}
	}
	// A write whose condition fails on a bad item must not take the bad
	// item for a verdict.
	_, _, err = s.Apply(ctx, transaction.Change{TransactionID: "tx_badstatus", Status: transaction.Succeeded, EventKey: "e", EventAt: time.Now()}, time.Now())
	if err == nil {
		t.Error("Apply to tx_badstatus: no error")
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
