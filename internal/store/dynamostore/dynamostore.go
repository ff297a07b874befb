// Package dynamostore is the DynamoDB implementation of store.Store.
//
// Two tables, both on-demand (PAY_PER_REQUEST) with DynamoDB TTL on
// expires_at (see CreateTables):
//
//   - transactions, hash key transaction_id: one item per hub transaction,
//     holding its state and the keys of the last events applied to it
//     (transaction.HistorySize of them, behind a floor for older ones), so
//     that one conditional UpdateItem both checks that an event is new and
//     applies it; with a sparse, keys-only global secondary index on
//     stripe_payment_intent (IndexStripePaymentIntent);
//   - events, hash key pk = provider + "#" + event key: what happened to the
//     events that did not simply apply (failures, outcomes that changed no
//     transaction) and, under pk "binding#monetbil#<id>", Monetbil bindings.
//
// Writes are single-item; none is a TransactWriteItems (which bills 2 write
// units per item). See package store for the writes each kind of event
// costs. Reads on the processing path: none, but for a Stripe event that
// names no transaction (a Query of the index).
//
// DynamoDB's TTL deletes expired items in the background, hours late, so
// every read and every condition here treats an item whose expires_at has
// passed as absent.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/store"
)

// DefaultRetention is how long a PROCESSED (or FORGOTTEN) event record and a
// binding are kept: longer than Stripe's 3 days of retries and the DLQ's
// 14-day retention, so a late retry or a redriven message still finds them.
const DefaultRetention = 30 * 24 * time.Hour

// IndexStripePaymentIntent is the transactions table's index by Stripe
// payment intent (keys only; sparse: only Stripe transactions have one).
const IndexStripePaymentIntent = "by_stripe_payment_intent"

// API is the part of the DynamoDB client the store uses; *dynamodb.Client
// implements it.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Store keeps event and transaction records in DynamoDB. It is safe for
// concurrent use, also across processes: all coordination is in DynamoDB's
// conditional writes.
type Store struct {
	client       API
	events       string
	transactions string
	retention    time.Duration
}

var _ store.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithRetention sets how long a PROCESSED or FORGOTTEN event record is kept
// (DefaultRetention when not given).
func WithRetention(d time.Duration) Option {
	return func(s *Store) { s.retention = d }
}

// New returns a store on the two tables, which must exist (CreateTables).
func New(client API, eventsTable, transactionsTable string, opts ...Option) (*Store, error) {
	s := &Store{client: client, events: eventsTable, transactions: transactionsTable, retention: DefaultRetention}
	for _, o := range opts {
		o(s)
	}
	switch {
	case client == nil:
		return nil, errors.New("dynamostore: no DynamoDB client")
	case eventsTable == "":
		return nil, errors.New("dynamostore: no events table name")
	case transactionsTable == "":
		return nil, errors.New("dynamostore: no transactions table name")
	case s.retention <= 0:
		return nil, fmt.Errorf("dynamostore: retention must be positive, got %s", s.retention)
	}
	return s, nil
}

// conditionFailed returns the exception when err is a failed condition.
func conditionFailed(err error) (*types.ConditionalCheckFailedException, bool) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ccf, true
	}
	return nil, false
}

// update is an UpdateItem built from expressions.
func update(table string, key map[string]types.AttributeValue, upd expression.UpdateBuilder, cond *expression.ConditionBuilder) (*dynamodb.UpdateItemInput, error) {
	b := expression.NewBuilder().WithUpdate(upd)
	if cond != nil {
		b = b.WithCondition(*cond)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build expression: %w", err)
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                 &table,
		Key:                       key,
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if cond != nil {
		// The item that failed the condition comes back with the failure:
		// no read is needed to say why.
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	return in, nil
}

// notExpired holds for an item without expiry or whose expiry is to come.
func notExpired(now time.Time) expression.ConditionBuilder {
	return expression.Name(attrExpiresAt).AttributeNotExists().Or(expression.Name(attrExpiresAt).GreaterThanEqual(expression.Value(now.Unix())))
}
