package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/store"
)

// Attribute names of the events table.
const (
	attrPK            = "pk"
	attrProvider      = "provider"
	attrEventKey      = "event_key"
	attrEventType     = "event_type"
	attrTransactionID = "transaction_id"
	attrStatus        = "status"
	attrAttempts      = "attempts"
	attrMessageID     = "message_id"
	attrToken         = "token"
	attrLeaseUntil    = "lease_until" // N, unix milliseconds
	attrOutcome       = "outcome"
	attrProcessedAt   = "processed_at"
	attrLastError     = "last_error"
	attrErrorType     = "error_type"
	attrPermanent     = "permanent"
	attrDeadLettered  = "dead_lettered"
	attrDLQMessageID  = "dlq_message_id"
	attrFirstFailedAt = "first_failed_at"
	attrLastFailedAt  = "last_failed_at"
	attrForgottenAt   = "forgotten_at"
	attrUpdatedAt     = "updated_at"
	attrExpiresAt     = "expires_at" // N, unix seconds: the table's TTL attribute
)

// The conditions, in DynamoDB's expression language. An item whose
// expires_at has passed counts as absent: TTL deletes it only hours later.
const (
	// claimable: missing, expired, failed, forgotten, or held by an
	// attempt whose lease ran out.
	condClaimable = "attribute_not_exists(#pk) OR #status IN (:failed, :forgotten)" +
		" OR (#status = :in_progress AND #lease_until < :now_ms)" +
		" OR (attribute_exists(#expires_at) AND #expires_at < :now_s)"
	condHeld = "#status = :in_progress AND #token = :token"
	// A failure recorded without a claim must neither overwrite a processed
	// event nor steal a live claim from the attempt holding it.
	condNotProcessed = "attribute_not_exists(#pk) OR (#status <> :processed AND NOT (#status = :in_progress AND #lease_until >= :now_ms))" +
		" OR (attribute_exists(#expires_at) AND #expires_at < :now_s)"
	condFailed = "#status = :failed"
)

// maxClaimTries bounds Claim and Forget when DynamoDB does not return the
// item that failed a condition and the item changes before it is read.
const maxClaimTries = 3

// setOptional adds "#name = :name" to an update when value is not empty, so
// that a delivery that lacks a detail never erases one recorded earlier.
func setOptional(set []string, values map[string]types.AttributeValue, name, value string) []string {
	if value == "" {
		return set
	}
	values[":"+name] = str(value)
	return append(set, "#"+name+" = :"+name)
}

// Claim implements store.Store with one conditional UpdateItem.
func (s *Store) Claim(ctx context.Context, c store.Claim) (store.ClaimResult, store.EventRecord, error) {
	pk, err := store.RecordKey(c.Provider, c.EventKey)
	if err == nil {
		err = validateClaim(c)
	}
	if err != nil {
		return "", store.EventRecord{}, fmt.Errorf("dynamostore: claim: %w", err)
	}
	set := []string{
		"#status = :in_progress", "#token = :token", "#lease_until = :lease_until",
		"#provider = :provider", "#event_key = :event_key", "#updated_at = :now",
		"#attempts = if_not_exists(#attempts, :zero) + :one",
	}
	values := map[string]types.AttributeValue{
		":in_progress": str(string(store.InProgress)),
		":failed":      str(string(store.Failed)),
		":forgotten":   str(string(store.Forgotten)),
		":token":       str(c.Token),
		":lease_until": num(c.LeaseUntil.UnixMilli()),
		":provider":    str(c.Provider),
		":event_key":   str(c.EventKey),
		":now":         timestamp(c.Now),
		":now_ms":      num(c.Now.UnixMilli()),
		":now_s":       num(c.Now.Unix()),
		":zero":        num(0),
		":one":         num(1),
	}
	set = setOptional(set, values, attrMessageID, c.MessageID)
	set = setOptional(set, values, attrEventType, c.EventType)
	set = setOptional(set, values, attrTransactionID, c.TransactionID)
	update := "SET " + strings.Join(set, ", ") + " REMOVE #expires_at"

	for try := 1; ; try++ {
		out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                           aws.String(s.events),
			Key:                                 map[string]types.AttributeValue{attrPK: str(pk)},
			UpdateExpression:                    aws.String(update),
			ConditionExpression:                 aws.String(condClaimable),
			ExpressionAttributeNames:            namesIn(update, condClaimable),
			ExpressionAttributeValues:           values,
			ReturnValues:                        types.ReturnValueAllNew,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			rec, err := decodeEvent(out.Attributes)
			if err != nil {
				return "", store.EventRecord{}, fmt.Errorf("dynamostore: claim %s: %w", pk, err)
			}
			return store.Claimed, rec, nil
		}
		ccf, ok := conditionFailed(err)
		if !ok {
			return "", store.EventRecord{}, fmt.Errorf("dynamostore: claim %s: %w", pk, err)
		}
		holder, found, err := s.failedItem(ctx, pk, ccf)
		if err != nil {
			return "", store.EventRecord{}, fmt.Errorf("dynamostore: claim %s: %w", pk, err)
		}
		if found {
			switch {
			case holder.Expired(c.Now):
			case holder.Status == store.Processed:
				return store.AlreadyProcessed, holder, nil
			case holder.Status == store.InProgress && holder.Token == c.Token:
				// Our own claim: the SDK retried a write whose answer was
				// lost. The first try took the event; so did we.
				return store.Claimed, holder, nil
			case holder.Status == store.InProgress && holder.LeaseUntil.UnixMilli() >= c.Now.UnixMilli():
				return store.Busy, holder, nil
			}
		}
		// Only reachable when the record was read after the failed write
		// (the server did not return it) and changed in between.
		if try == maxClaimTries {
			return "", store.EventRecord{}, fmt.Errorf("dynamostore: claim %s: the record keeps changing", pk)
		}
	}
}

func validateClaim(c store.Claim) error {
	switch {
	case c.Token == "":
		return errors.New("no token")
	case c.Now.IsZero():
		return errors.New("no time")
	case !c.LeaseUntil.After(c.Now):
		return fmt.Errorf("lease until %s is not after now %s", c.LeaseUntil, c.Now)
	}
	return nil
}

// failedItem returns the item that failed a condition: the one DynamoDB
// returned with the exception (ReturnValuesOnConditionCheckFailure), or,
// from a server that returns none, the item as read now.
func (s *Store) failedItem(ctx context.Context, pk string, ccf *types.ConditionalCheckFailedException) (store.EventRecord, bool, error) {
	if ccf.Item != nil {
		rec, err := decodeEvent(ccf.Item)
		return rec, err == nil, err
	}
	return s.getEvent(ctx, pk)
}

// Complete implements store.Store with one conditional UpdateItem.
func (s *Store) Complete(ctx context.Context, provider, eventKey, token, outcome string, now time.Time) error {
	pk, err := store.RecordKey(provider, eventKey)
	if err != nil {
		return fmt.Errorf("dynamostore: complete: %w", err)
	}
	if token == "" {
		return fmt.Errorf("dynamostore: complete %s: no token: %w", pk, store.ErrLeaseLost)
	}
	const update = "SET #status = :processed, #outcome = :outcome, #processed_at = :now, #updated_at = :now," +
		" #expires_at = :expires_at REMOVE #token, #lease_until"
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.events),
		Key:                      map[string]types.AttributeValue{attrPK: str(pk)},
		UpdateExpression:         aws.String(update),
		ConditionExpression:      aws.String(condHeld),
		ExpressionAttributeNames: namesIn(update, condHeld),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":processed":   str(string(store.Processed)),
			":in_progress": str(string(store.InProgress)),
			":token":       str(token),
			":outcome":     str(outcome),
			":now":         timestamp(now),
			":expires_at":  num(now.Add(s.retention).Unix()),
		},
	})
	if _, ok := conditionFailed(err); ok {
		return fmt.Errorf("dynamostore: complete %s: %w", pk, store.ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: complete %s: %w", pk, err)
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
	set := []string{
		"#status = :failed", "#last_error = :last_error", "#error_type = :error_type",
		"#permanent = :permanent", "#dead_lettered = :dead_lettered",
		"#provider = :provider", "#event_key = :event_key",
		"#last_failed_at = :now", "#first_failed_at = if_not_exists(#first_failed_at, :now)", "#updated_at = :now",
	}
	values := map[string]types.AttributeValue{
		":failed":        str(string(store.Failed)),
		":last_error":    str(f.Error),
		":error_type":    str(f.ErrorType),
		":permanent":     boolean(f.Permanent),
		":dead_lettered": boolean(f.DeadLettered),
		":provider":      str(f.Provider),
		":event_key":     str(f.EventKey),
		":now":           timestamp(f.Now),
	}
	set = setOptional(set, values, attrMessageID, f.MessageID)
	if f.DeadLettered {
		set = setOptional(set, values, attrDLQMessageID, f.MessageID)
	}
	set = setOptional(set, values, attrEventType, f.EventType)
	set = setOptional(set, values, attrTransactionID, f.TransactionID)
	var cond string
	if f.Token != "" {
		// The attempt was counted by its Claim.
		cond = condHeld
		values[":in_progress"] = str(string(store.InProgress))
		values[":token"] = str(f.Token)
	} else {
		// A failure before any claim is an attempt of its own.
		cond = condNotProcessed
		set = append(set, "#attempts = if_not_exists(#attempts, :zero) + :one")
		values[":processed"] = str(string(store.Processed))
		values[":in_progress"] = str(string(store.InProgress))
		values[":now_ms"] = num(f.Now.UnixMilli())
		values[":now_s"] = num(f.Now.Unix())
		values[":zero"] = num(0)
		values[":one"] = num(1)
	}
	update := "SET " + strings.Join(set, ", ") + " REMOVE #token, #lease_until, #expires_at"
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.events),
		Key:                       map[string]types.AttributeValue{attrPK: str(pk)},
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  namesIn(update, cond),
		ExpressionAttributeValues: values,
	})
	if _, ok := conditionFailed(err); ok {
		return fmt.Errorf("dynamostore: fail %s: %w", pk, store.ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: fail %s: %w", pk, err)
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

// Failures implements store.Store with a filtered, paginated Scan.
func (s *Store) Failures(ctx context.Context, limit int) ([]store.EventRecord, error) {
	if limit <= 0 {
		limit = 20
	}
	var out []store.EventRecord
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(s.events),
		FilterExpression:          aws.String("#status = :failed"),
		ExpressionAttributeNames:  map[string]string{"#status": attrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{":failed": str(string(store.Failed))},
	}
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

func (s *Store) getEvent(ctx context.Context, pk string) (store.EventRecord, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.events),
		Key:            map[string]types.AttributeValue{attrPK: str(pk)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.EventRecord{}, false, err
	}
	if out.Item == nil {
		return store.EventRecord{}, false, nil
	}
	rec, err := decodeEvent(out.Item)
	return rec, err == nil, err
}

// Forget implements store.Store with one conditional UpdateItem. The record
// then expires like a processed one.
func (s *Store) Forget(ctx context.Context, provider, eventKey string, now time.Time) error {
	pk, err := store.RecordKey(provider, eventKey)
	if err != nil {
		return fmt.Errorf("dynamostore: forget: %w", err)
	}
	const update = "SET #status = :forgotten, #forgotten_at = :now, #updated_at = :now, #expires_at = :expires_at"
	for try := 1; ; try++ {
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                aws.String(s.events),
			Key:                      map[string]types.AttributeValue{attrPK: str(pk)},
			UpdateExpression:         aws.String(update),
			ConditionExpression:      aws.String(condFailed),
			ExpressionAttributeNames: namesIn(update, condFailed),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":failed":     str(string(store.Failed)),
				":forgotten":  str(string(store.Forgotten)),
				":now":        timestamp(now),
				":expires_at": num(now.Add(s.retention).Unix()),
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return nil
		}
		ccf, ok := conditionFailed(err)
		if !ok {
			return fmt.Errorf("dynamostore: forget %s: %w", pk, err)
		}
		rec, found, err := s.failedItem(ctx, pk, ccf)
		switch {
		case err != nil:
			return fmt.Errorf("dynamostore: forget %s: %w", pk, err)
		case !found || rec.Expired(now):
			return fmt.Errorf("dynamostore: forget %s: %w", pk, store.ErrNotFound)
		case rec.Status != store.Failed:
			return fmt.Errorf("dynamostore: forget %s: the event is %s, not %s", pk, rec.Status, store.Failed)
		case try == maxClaimTries:
			return fmt.Errorf("dynamostore: forget %s: the record keeps changing", pk)
		}
	}
}

func decodeEvent(item map[string]types.AttributeValue) (store.EventRecord, error) {
	r := reader{item: item}
	rec := store.EventRecord{
		Provider:      r.str(attrProvider),
		EventKey:      r.str(attrEventKey),
		EventType:     r.str(attrEventType),
		TransactionID: r.str(attrTransactionID),
		Status:        store.EventStatus(r.str(attrStatus)),
		Attempts:      int(r.num(attrAttempts)),
		MessageID:     r.str(attrMessageID),
		Token:         r.str(attrToken),
		LeaseUntil:    r.unixMilli(attrLeaseUntil),
		Outcome:       r.str(attrOutcome),
		ProcessedAt:   r.time(attrProcessedAt),
		LastError:     r.str(attrLastError),
		ErrorType:     r.str(attrErrorType),
		Permanent:     r.boolean(attrPermanent),
		DeadLettered:  r.boolean(attrDeadLettered),
		DLQMessageID:  r.str(attrDLQMessageID),
		FirstFailedAt: r.time(attrFirstFailedAt),
		LastFailedAt:  r.time(attrLastFailedAt),
		ForgottenAt:   r.time(attrForgottenAt),
		UpdatedAt:     r.time(attrUpdatedAt),
		ExpiresAt:     r.unixSeconds(attrExpiresAt),
	}
	if r.err != nil {
		return store.EventRecord{}, fmt.Errorf("event record %s: %w", r.str(attrPK), r.err)
	}
	switch rec.Status {
	case store.InProgress, store.Processed, store.Failed, store.Forgotten:
	default:
		return store.EventRecord{}, fmt.Errorf("event record %s: unknown status %q", r.str(attrPK), rec.Status)
	}
	return rec, nil
}
