package dynamostore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

// Attribute names of the transactions table (transaction_id and status are
// shared with the events table).
const (
	attrAmount       = "amount"
	attrCurrency     = "currency"
	attrLastEventKey = "last_event_key"
	attrLastEventAt  = "last_event_at"
	attrCreatedAt    = "created_at"
	attrVersion      = "version"
)

// Apply retries a write that lost a race with a concurrent change to the
// same transaction, after a short random pause that grows with each loss.
// A handful of events per transaction is the normal load; the bound is
// generous so that even a burst of concurrent changes all get through.
const (
	maxApplyTries   = 25
	applyRetryFirst = 2 * time.Millisecond
	applyRetryMax   = 100 * time.Millisecond
)

// Apply implements store.Store: a consistent GetItem, the state machine's
// decision, and, only when the change applies, one PutItem conditioned on
// the version read (or on absence), retried from the read when another
// change got in first.
func (s *Store) Apply(ctx context.Context, c transaction.Change, now time.Time) (transaction.Verdict, transaction.Transaction, error) {
	if err := c.Validate(); err != nil {
		return "", transaction.Transaction{}, fmt.Errorf("dynamostore: apply: %w", err)
	}
	pause := applyRetryFirst
	for try := 1; ; try++ {
		current, found, err := s.getTransaction(ctx, c.TransactionID)
		if err != nil {
			return "", transaction.Transaction{}, fmt.Errorf("dynamostore: apply to %s: %w", c.TransactionID, err)
		}
		var verdict transaction.Verdict
		var next transaction.Transaction
		put := &dynamodb.PutItemInput{TableName: aws.String(s.transactions)}
		if found {
			verdict, next = transaction.Decide(&current, c, now)
			put.ConditionExpression = aws.String("#version = :version")
			put.ExpressionAttributeNames = namesIn("#version")
			put.ExpressionAttributeValues = map[string]types.AttributeValue{":version": num(current.Version)}
		} else {
			verdict, next = transaction.Decide(nil, c, now)
			put.ConditionExpression = aws.String("attribute_not_exists(#transaction_id)")
			put.ExpressionAttributeNames = namesIn("#transaction_id")
		}
		if verdict != transaction.Applied {
			return verdict, next, nil
		}
		next = inUTC(next)
		put.Item = encodeTransaction(next)
		_, err = s.client.PutItem(ctx, put)
		if err == nil {
			return verdict, next, nil
		}
		if _, ok := conditionFailed(err); !ok {
			return "", transaction.Transaction{}, fmt.Errorf("dynamostore: apply to %s: %w", c.TransactionID, err)
		}
		if try == maxApplyTries {
			return "", transaction.Transaction{}, fmt.Errorf("dynamostore: apply to %s: lost the race to concurrent changes %d times", c.TransactionID, try)
		}
		select {
		case <-ctx.Done():
			return "", transaction.Transaction{}, fmt.Errorf("dynamostore: apply to %s: %w", c.TransactionID, ctx.Err())
		case <-time.After(pause/2 + rand.N(pause/2+1)):
		}
		pause = min(2*pause, applyRetryMax)
	}
}

// Transaction implements store.Store with one consistent GetItem.
func (s *Store) Transaction(ctx context.Context, id string) (transaction.Transaction, error) {
	if id == "" {
		return transaction.Transaction{}, fmt.Errorf("dynamostore: transaction: no id")
	}
	t, found, err := s.getTransaction(ctx, id)
	if err != nil {
		return transaction.Transaction{}, fmt.Errorf("dynamostore: transaction %s: %w", id, err)
	}
	if !found {
		return transaction.Transaction{}, fmt.Errorf("dynamostore: transaction %s: %w", id, store.ErrNotFound)
	}
	return t, nil
}

func (s *Store) getTransaction(ctx context.Context, id string) (transaction.Transaction, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.transactions),
		Key:            map[string]types.AttributeValue{attrTransactionID: str(id)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return transaction.Transaction{}, false, err
	}
	if out.Item == nil {
		return transaction.Transaction{}, false, nil
	}
	t, err := decodeTransaction(out.Item)
	return t, err == nil, err
}

// inUTC gives a transaction's times as they read back from the table.
func inUTC(t transaction.Transaction) transaction.Transaction {
	t.LastEventAt = t.LastEventAt.UTC()
	t.CreatedAt = t.CreatedAt.UTC()
	t.UpdatedAt = t.UpdatedAt.UTC()
	return t
}

func encodeTransaction(t transaction.Transaction) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrTransactionID: str(t.ID),
		attrStatus:        str(string(t.Status)),
		attrAmount:        num(t.Amount),
		attrLastEventKey:  str(t.LastEventKey),
		attrCreatedAt:     timestamp(t.CreatedAt),
		attrUpdatedAt:     timestamp(t.UpdatedAt),
		attrVersion:       num(t.Version),
	}
	if t.Provider != "" {
		item[attrProvider] = str(t.Provider)
	}
	if t.Currency != "" {
		item[attrCurrency] = str(t.Currency)
	}
	if !t.LastEventAt.IsZero() {
		item[attrLastEventAt] = timestamp(t.LastEventAt)
	}
	return item
}

func decodeTransaction(item map[string]types.AttributeValue) (transaction.Transaction, error) {
	r := reader{item: item}
	t := transaction.Transaction{
		ID:           r.str(attrTransactionID),
		Status:       transaction.Status(r.str(attrStatus)),
		Provider:     r.str(attrProvider),
		Amount:       r.num(attrAmount),
		Currency:     r.str(attrCurrency),
		LastEventKey: r.str(attrLastEventKey),
		LastEventAt:  r.time(attrLastEventAt),
		CreatedAt:    r.time(attrCreatedAt),
		UpdatedAt:    r.time(attrUpdatedAt),
		Version:      r.num(attrVersion),
	}
	if r.err != nil {
		return transaction.Transaction{}, fmt.Errorf("transaction %s: %w", t.ID, r.err)
	}
	if !t.Status.Valid() {
		return transaction.Transaction{}, fmt.Errorf("transaction %s: unknown status %q", t.ID, t.Status)
	}
	return t, nil
}
