package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/store"
)

// Bind implements store.Store with one conditional UpdateItem: it creates
// the binding, renews an identical one, or fails and returns the one that
// holds.
func (s *Store) Bind(ctx context.Context, b store.Binding) (string, bool, error) {
	pk, err := store.BindingKey(b.Provider, b.ProviderTransactionID)
	if err == nil && (b.TransactionID == "" || b.Now.IsZero()) {
		err = errors.New("no transaction id or no time")
	}
	if err != nil {
		return "", false, fmt.Errorf("dynamostore: bind: %w", err)
	}
	now := b.Now.UTC()
	u := expression.Set(expression.Name(attrTransactionID), expression.Value(b.TransactionID)).
		Set(expression.Name("provider"), expression.Value(b.Provider)).
		Set(expression.Name("provider_transaction_id"), expression.Value(b.ProviderTransactionID)).
		Set(expression.Name("bound_at"), expression.IfNotExists(expression.Name("bound_at"), expression.Value(now))).
		Set(expression.Name(attrExpiresAt), expression.Value(now.Add(s.retention).Unix()))
	cond := expression.Name(attrPK).AttributeNotExists().
		Or(expression.Name(attrTransactionID).Equal(expression.Value(b.TransactionID))).
		Or(expression.Not(notExpired(now)))
	in, err := update(s.events, strKey(attrPK, pk), u, &cond)
	if err != nil {
		return "", false, fmt.Errorf("dynamostore: bind %s: %w", pk, err)
	}
	in.ReturnValues = types.ReturnValueAllOld
	out, err := s.client.UpdateItem(ctx, in)
	if ccf, ok := conditionFailed(err); ok {
		holder, readErr := s.holder(ctx, pk, ccf)
		err := fmt.Errorf("dynamostore: bind %s to %s: already bound to %s: %w", pk, b.TransactionID, holder, store.ErrBoundElsewhere)
		if readErr != nil {
			err = fmt.Errorf("%w (the binding could not be read: %w)", err, readErr)
		}
		return holder, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("dynamostore: bind %s: %w", pk, err)
	}
	// New unless the same binding was there and alive.
	created := strOf(out.Attributes, attrTransactionID) != b.TransactionID
	if exp, ok := out.Attributes[attrExpiresAt].(*types.AttributeValueMemberN); ok && !created {
		var secs int64
		_, _ = fmt.Sscan(exp.Value, &secs)
		created = secs < now.Unix()
	}
	return b.TransactionID, created, nil
}

// holder names the transaction that the binding pk, which failed Bind's
// condition, is bound to: from the item DynamoDB returned with the failure
// or, from a server that returns none, as read now; "?" when unknown, with
// the read's error if it failed.
func (s *Store) holder(ctx context.Context, pk string, ccf *types.ConditionalCheckFailedException) (string, error) {
	if ccf.Item != nil {
		return strOf(ccf.Item, attrTransactionID), nil
	}
	held, found, err := getItem(ctx, s.client, s.events, strKey(attrPK, pk), decodeBinding)
	if !found || held.TransactionID == "" {
		return "?", err
	}
	return held.TransactionID, nil
}

// Unbind implements store.Store with one conditional UpdateItem that ends
// the binding's life (an expired binding is no binding), so that it needs no
// other permission than Bind's.
func (s *Store) Unbind(ctx context.Context, b store.Binding) error {
	pk, err := store.BindingKey(b.Provider, b.ProviderTransactionID)
	if err != nil {
		return fmt.Errorf("dynamostore: unbind: %w", err)
	}
	u := expression.Set(expression.Name(attrExpiresAt), expression.Value(int64(0)))
	cond := expression.Name(attrTransactionID).Equal(expression.Value(b.TransactionID))
	in, err := update(s.events, strKey(attrPK, pk), u, &cond)
	if err != nil {
		return fmt.Errorf("dynamostore: unbind %s: %w", pk, err)
	}
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureNone
	if _, err := s.client.UpdateItem(ctx, in); err != nil {
		if _, other := conditionFailed(err); other {
			return nil
		}
		return fmt.Errorf("dynamostore: unbind %s: %w", pk, err)
	}
	return nil
}

// Bound implements store.Store with one consistent GetItem.
func (s *Store) Bound(ctx context.Context, provider, providerTransactionID string) (string, error) {
	pk, err := store.BindingKey(provider, providerTransactionID)
	if err != nil {
		return "", fmt.Errorf("dynamostore: bound: %w", err)
	}
	it, found, err := getItem(ctx, s.client, s.events, strKey(attrPK, pk), decodeBinding)
	if err != nil {
		return "", fmt.Errorf("dynamostore: bound %s: %w", pk, err)
	}
	if !found || it.ExpiresAt.Unix() < time.Now().Unix() {
		return "", fmt.Errorf("dynamostore: bound %s: %w", pk, store.ErrNotFound)
	}
	return it.TransactionID, nil
}

// bindingItem is a binding's item in the events table: the attributes
// Bind sets that the reads use.
type bindingItem struct {
	TransactionID string    `dynamodbav:"transaction_id"`
	ExpiresAt     time.Time `dynamodbav:"expires_at,unixtime"`
}

func decodeBinding(item map[string]types.AttributeValue) (bindingItem, error) {
	var it bindingItem
	err := unmarshal(item, &it)
	return it, err
}
