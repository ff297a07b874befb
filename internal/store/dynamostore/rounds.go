package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/payments-hub/hub/internal/store"
)

// endRound sets the outcome of automatic redrive round n (0: none).
func endRound(u expression.UpdateBuilder, n int, outcome string) expression.UpdateBuilder {
	if n < 1 {
		return u
	}
	return u.Set(expression.Name(fmt.Sprintf("rounds[%d].outcome", n-1)), expression.Value(outcome))
}

// noSuchRound recognises DynamoDB's refusal of a path into a list element
// that does not exist.
func noSuchRound(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException" && strings.Contains(api.ErrorMessage(), "document path")
}

// BeginRound implements store.Store with one conditional UpdateItem.
func (s *Store) BeginRound(ctx context.Context, provider, eventKey string, round int, now time.Time) error {
	pk, err := store.RecordKey(provider, eventKey)
	if err == nil && round < 1 {
		err = fmt.Errorf("round %d: rounds start at 1", round)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: begin round: %w", err)
	}
	now = now.UTC()
	entry := []store.Round{{Round: round, At: now, Outcome: store.RoundRedriven}}
	u := expression.Set(expression.Name("rounds"), expression.ListAppend(expression.IfNotExists(expression.Name("rounds"), expression.Value([]store.Round{})), expression.Value(entry))).
		Set(expression.Name("updated_at"), expression.Value(now))
	previous := expression.Name("rounds").Size().Equal(expression.Value(round - 1))
	if round == 1 {
		previous = expression.Name("rounds").AttributeNotExists().Or(previous)
	}
	cond := expression.Name(attrStatus).Equal(expression.Value(string(store.Failed))).
		And(expression.Name("permanent").AttributeNotExists().Or(expression.Name("permanent").Equal(expression.Value(false)))).
		And(previous)
	in, err := update(s.events, strKey(attrPK, pk), u, &cond)
	if err != nil {
		return fmt.Errorf("dynamostore: begin round %d of %s: %w", round, pk, err)
	}
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureNone
	_, err = s.client.UpdateItem(ctx, in)
	if _, ok := conditionFailed(err); ok {
		return fmt.Errorf("dynamostore: begin round %d of %s: %w", round, pk, store.ErrRoundTaken)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: begin round %d of %s: %w", round, pk, err)
	}
	return nil
}
