// Package dynamostore is the DynamoDB implementation of store.Store.
//
// Two tables, both on-demand (PAY_PER_REQUEST) with DynamoDB TTL on
// expires_at (see CreateTables):
//
//   - events, hash key pk = provider + "#" + event key: one record per
//     provider event, for idempotency, outcome and failure history;
//   - transactions, hash key transaction_id: one record per hub transaction.
//
// Every write is a single-item conditional write (1 write unit for items up
// to 1 KB): Claim, Complete, Fail and Forget are one UpdateItem each; Apply is
// one PutItem when the change applies and no write at all otherwise (plus one
// more per lost race with a concurrent change to the same transaction). Reads
// are consistent GetItems. No TransactWriteItems, which bills 2 write units
// per item.
//
// DynamoDB's TTL deletes expired items in the background, hours late, so
// every read and every condition here treats an item whose expires_at is in
// the past as absent.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/store"
)

// DefaultRetention is how long a PROCESSED (or FORGOTTEN) event record is
// kept for deduplication: longer than Stripe's 3 days of retries and the
// DLQ's 14-day retention, so a late retry or a redriven message is still
// recognised as a duplicate.
const DefaultRetention = 30 * 24 * time.Hour

// API is the part of the DynamoDB client the store uses; *dynamodb.Client
// implements it.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
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
