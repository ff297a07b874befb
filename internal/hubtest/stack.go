package hubtest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/store/dynamostore"
)

// Stack is one test's queue, DLQ and tables.
type Stack struct {
	SQS                            *sqs.Client
	DynamoDB                       *dynamodb.Client
	Queues                         provision.QueuePair
	EventsTable, TransactionsTable string
	Store                          *dynamostore.Store
}

// Options tune a Stack.
type Options struct {
	// VisibilityTimeout of the main queue (default 60 s, production's).
	VisibilityTimeout time.Duration
	// MaxReceiveCount (default 3).
	MaxReceiveCount int
}

// NewStack creates the resources, removed when the test ends.
func NewStack(t testing.TB, o Options) *Stack {
	t.Helper()
	ctx := context.Background()
	s := &Stack{SQS: SQS(t), DynamoDB: DynamoDB(t)}
	spec := provision.QueueSpec{Name: Name("hub-q"), DLQName: Name("hub-dlq"), VisibilityTimeout: o.VisibilityTimeout, MaxReceiveCount: o.MaxReceiveCount}
	spec.SetDefaults()
	q, err := provision.Queues(ctx, s.SQS, spec)
	if err != nil {
		t.Fatalf("create queues: %v", err)
	}
	s.Queues = q
	t.Cleanup(func() {
		for _, u := range []string{q.URL, q.DLQURL} {
			_, _ = s.SQS.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	s.EventsTable, s.TransactionsTable = Name("hub-events"), Name("hub-tx")
	if err := dynamostore.CreateTables(ctx, s.DynamoDB, s.EventsTable, s.TransactionsTable); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	t.Cleanup(func() {
		for _, name := range []string{s.EventsTable, s.TransactionsTable} {
			_, _ = s.DynamoDB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	if s.Store, err = dynamostore.New(s.DynamoDB, s.EventsTable, s.TransactionsTable); err != nil {
		t.Fatal(err)
	}
	return s
}

// Env returns the environment variables that point the functions and
// hubctl at this stack.
func (s *Stack) Env() []string {
	return []string{
		"QUEUE_URL=" + s.Queues.URL, "DLQ_URL=" + s.Queues.DLQURL,
		"EVENTS_TABLE=" + s.EventsTable, "TRANSACTIONS_TABLE=" + s.TransactionsTable,
		// The tests' Stripe events are test-mode events, as Stripe's own
		// test events are.
		"STRIPE_MODE=test",
	}
}
