package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/store"
)

// setIf adds "name = value" to an update when value is not empty, so that a
// delivery that lacks a detail never erases one recorded earlier.
func setIf(u expression.UpdateBuilder, name, value string) expression.UpdateBuilder {
	if value == "" {
		return u
	}
	return u.Set(expression.Name(name), expression.Value(value))
}

// identity sets what every write of an event record names.
func identity(u expression.UpdateBuilder, provider, eventKey, eventType, transactionID, messageID string) expression.UpdateBuilder {
	u = u.Set(expression.Name("provider"), expression.Value(provider)).
		Set(expression.Name("event_key"), expression.Value(eventKey))
	u = setIf(u, "event_type", eventType)
	u = setIf(u, "transaction_id", transactionID)
	return setIf(u, "message_id", messageID)
}

func oneMore() expression.SetValueBuilder {
	return expression.Plus(expression.IfNotExists(expression.Name("attempts"), expression.Value(0)), expression.Value(1))
}

// Record implements store.Store with one unconditional UpdateItem: the same
// outcome recorded twice is the same record.
func (s *Store) Record(ctx context.Context, o store.Outcome) error {
	pk, err := store.RecordKey(o.Provider, o.EventKey)
	if err == nil && (o.Now.IsZero() || o.Outcome == "") {
		err = errors.New("no time or no outcome")
	}
	if err != nil {
		return fmt.Errorf("dynamostore: record: %w", err)
	}
	now := o.Now.UTC()
	u := expression.Set(expression.Name(attrStatus), expression.Value(string(store.Processed))).
		Set(expression.Name("outcome"), expression.Value(o.Outcome)).
		Set(expression.Name("processed_at"), expression.Value(now)).
		Set(expression.Name("updated_at"), expression.Value(now)).
		Set(expression.Name(attrExpiresAt), expression.Value(now.Add(s.retention).Unix())).
		Set(expression.Name("attempts"), oneMore())
	u = identity(u, o.Provider, o.EventKey, o.EventType, o.TransactionID, o.MessageID)
	if len(o.Mismatch) > 0 {
		u = u.Set(expression.Name("mismatch"), expression.Value(o.Mismatch))
	} else {
		u = u.Remove(expression.Name("mismatch"))
	}
	if o.Detail != "" {
		u = u.Set(expression.Name("detail"), expression.Value(o.Detail))
	} else {
		u = u.Remove(expression.Name("detail"))
	}
	u = endRound(u, o.Round, o.Outcome)
	in, err := update(s.events, strKey(attrPK, pk), u, nil)
	if err != nil {
		return fmt.Errorf("dynamostore: record %s: %w", pk, err)
	}
	_, err = s.client.UpdateItem(ctx, in)
	if noSuchRound(err) && o.Round > 0 {
		o.Round = 0
		return s.Record(ctx, o)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: record %s: %w", pk, err)
	}
	return nil
}

// Fail implements store.Store with one conditional UpdateItem. A FAILED
// record has no expiry: it stays until an operator sees it.
func (s *Store) Fail(ctx context.Context, f store.Failure) error {
	pk, err := store.RecordKey(f.Provider, f.EventKey)
	if err == nil && f.Now.IsZero() {
		err = errors.New("no time")
	}
	if err != nil {
		return fmt.Errorf("dynamostore: fail: %w", err)
	}
	now := f.Now.UTC()
	u := expression.Set(expression.Name(attrStatus), expression.Value(string(store.Failed))).
		Set(expression.Name("last_error"), expression.Value(f.Error)).
		Set(expression.Name("error_type"), expression.Value(f.ErrorType)).
		Set(expression.Name("permanent"), expression.Value(f.Permanent)).
		Set(expression.Name("dead_lettered"), expression.Value(f.DeadLettered)).
		Set(expression.Name("last_failed_at"), expression.Value(now)).
		Set(expression.Name("first_failed_at"), expression.IfNotExists(expression.Name("first_failed_at"), expression.Value(now))).
		Set(expression.Name("updated_at"), expression.Value(now)).
		Set(expression.Name("attempts"), oneMore()).
		Remove(expression.Name(attrExpiresAt))
	u = identity(u, f.Provider, f.EventKey, f.EventType, f.TransactionID, f.MessageID)
	if f.DeadLettered {
		u = setIf(u, "dlq_message_id", f.MessageID)
		u = endRound(u, f.Round, store.RoundFailed)
	}
	// A processed event stays processed: this attempt was a redelivery.
	cond := expression.Name(attrPK).AttributeNotExists().
		Or(expression.Name(attrStatus).NotEqual(expression.Value(string(store.Processed)))).
		Or(expression.Not(notExpired(now)))
	in, err := update(s.events, strKey(attrPK, pk), u, &cond)
	if err != nil {
		return fmt.Errorf("dynamostore: fail %s: %w", pk, err)
	}
	_, err = s.client.UpdateItem(ctx, in)
	if _, ok := conditionFailed(err); ok {
		return fmt.Errorf("dynamostore: fail %s: %w", pk, store.ErrAlreadyProcessed)
	}
	if noSuchRound(err) && f.Round > 0 {
		// The record lost the round (an operator's doing): record the
		// failure without it.
		f.Round = 0
		return s.Fail(ctx, f)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: fail %s: %w", pk, err)
	}
	return nil
}

// Resolve implements store.Store with one UpdateItem conditioned on a
// FAILED record; without one, the failed condition is the answer.
func (s *Store) Resolve(ctx context.Context, provider, eventKey, outcome string, round int, now time.Time) error {
	pk, err := store.RecordKey(provider, eventKey)
	if err != nil {
		return fmt.Errorf("dynamostore: resolve: %w", err)
	}
	now = now.UTC()
	u := expression.Set(expression.Name(attrStatus), expression.Value(string(store.Processed))).
		Set(expression.Name("outcome"), expression.Value(outcome)).
		Set(expression.Name("processed_at"), expression.Value(now)).
		Set(expression.Name("updated_at"), expression.Value(now)).
		Set(expression.Name(attrExpiresAt), expression.Value(now.Add(s.retention).Unix())).
		Set(expression.Name("attempts"), oneMore())
	u = endRound(u, round, outcome)
	cond := expression.Name(attrStatus).Equal(expression.Value(string(store.Failed)))
	in, err := update(s.events, strKey(attrPK, pk), u, &cond)
	if err != nil {
		return fmt.Errorf("dynamostore: resolve %s: %w", pk, err)
	}
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureNone
	_, err = s.client.UpdateItem(ctx, in)
	if _, ok := conditionFailed(err); ok {
		return nil
	}
	if noSuchRound(err) && round > 0 {
		return s.Resolve(ctx, provider, eventKey, outcome, 0, now)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: resolve %s: %w", pk, err)
	}
	return nil
}

// Event implements store.Store with one consistent GetItem.
func (s *Store) Event(ctx context.Context, provider, eventKey string) (store.EventRecord, error) {
	pk, err := store.RecordKey(provider, eventKey)
	if err != nil {
		return store.EventRecord{}, fmt.Errorf("dynamostore: event: %w", err)
	}
	rec, found, err := s.getEvent(ctx, pk)
	if err != nil {
		return store.EventRecord{}, fmt.Errorf("dynamostore: event %s: %w", pk, err)
	}
	if !found || rec.Expired(time.Now()) {
		return store.EventRecord{}, fmt.Errorf("dynamostore: event %s: %w", pk, store.ErrNotFound)
	}
	return rec, nil
}

func (s *Store) getEvent(ctx context.Context, pk string) (store.EventRecord, bool, error) {
	return getItem(ctx, s.client, s.events, strKey(attrPK, pk), decodeEvent)
}

// Failures implements store.Store with a filtered, paginated Scan.
func (s *Store) Failures(ctx context.Context, limit int) ([]store.EventRecord, error) {
	if limit <= 0 {
		limit = 20
	}
	expr, err := expression.NewBuilder().WithFilter(expression.Name(attrStatus).Equal(expression.Value(string(store.Failed)))).Build()
	if err != nil {
		return nil, fmt.Errorf("dynamostore: scan failures: %w", err)
	}
	in := &dynamodb.ScanInput{
		TableName: aws.String(s.events), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	var out []store.EventRecord
	for {
		page, err := s.client.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: scan failures: %w", err)
		}
		for _, item := range page.Items {
			rec, err := decodeEvent(item)
			if err != nil {
				return nil, fmt.Errorf("dynamostore: scan failures: %w", err)
			}
			out = append(out, rec)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastFailedAt.After(out[j].LastFailedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Forget implements store.Store with one conditional UpdateItem. The record
// then expires like a processed one.
func (s *Store) Forget(ctx context.Context, provider, eventKey string, now time.Time) error {
	pk, err := store.RecordKey(provider, eventKey)
	if err != nil {
		return fmt.Errorf("dynamostore: forget: %w", err)
	}
	now = now.UTC()
	u := expression.Set(expression.Name(attrStatus), expression.Value(string(store.Forgotten))).
		Set(expression.Name("forgotten_at"), expression.Value(now)).
		Set(expression.Name("updated_at"), expression.Value(now)).
		Set(expression.Name(attrExpiresAt), expression.Value(now.Add(s.retention).Unix()))
	cond := expression.Name(attrStatus).Equal(expression.Value(string(store.Failed)))
	in, err := update(s.events, strKey(attrPK, pk), u, &cond)
	if err != nil {
		return fmt.Errorf("dynamostore: forget %s: %w", pk, err)
	}
	_, err = s.client.UpdateItem(ctx, in)
	ccf, failed := conditionFailed(err)
	if err != nil && !failed {
		return fmt.Errorf("dynamostore: forget %s: %w", pk, err)
	}
	if !failed {
		return nil
	}
	var rec store.EventRecord
	found := false
	if ccf.Item != nil {
		rec, err = decodeEvent(ccf.Item)
		found = err == nil
	} else {
		rec, found, err = s.getEvent(ctx, pk)
	}
	switch {
	case err != nil:
		return fmt.Errorf("dynamostore: forget %s: %w", pk, err)
	case !found || rec.Expired(now):
		return fmt.Errorf("dynamostore: forget %s: %w", pk, store.ErrNotFound)
	}
	return fmt.Errorf("dynamostore: forget %s: the event is %s, not %s", pk, rec.Status, store.Failed)
}
