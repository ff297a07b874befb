package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

// Apply retries, after a short random pause that grows with each loss, the
// rare write that must replace the whole item (a history to trim) when a
// concurrent change got in first.
const (
	maxApplyTries   = 25
	applyRetryFirst = 2 * time.Millisecond
	applyRetryMax   = 100 * time.Millisecond
)

// Apply implements store.Store. The common case is one UpdateItem whose
// condition is the state machine's rule for the change (transaction.RuleFor)
// plus "this event is not among the remembered ones", and whose update
// applies the change and remembers the event. When the condition fails,
// DynamoDB returns the item as it is (ReturnValuesOnConditionCheckFailure),
// and transaction.Decide says why: a duplicate, a stale or refused change,
// an amount mismatch, an unknown transaction; or a full history, which one
// PutItem, conditioned on the version read, trims and applies.
func (s *Store) Apply(ctx context.Context, c transaction.Change, now time.Time) (transaction.Verdict, transaction.Transaction, error) {
	if err := c.Validate(); err != nil {
		return "", transaction.Transaction{}, fmt.Errorf("dynamostore: apply: %w", err)
	}
	c.EventAt = time.UnixMilli(c.EventAt.UnixMilli()).UTC()
	now = now.UTC()
	pause := applyRetryFirst
	for try := 1; ; try++ {
		v, tx, retry, err := s.applyOnce(ctx, c, now)
		if err != nil || !retry {
			return v, tx, err
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

// applyOnce makes one attempt; retry says a concurrent change won a race
// and the attempt must start again.
func (s *Store) applyOnce(ctx context.Context, c transaction.Change, now time.Time) (transaction.Verdict, transaction.Transaction, bool, error) {
	in, err := s.applyInput(c, now)
	if err != nil {
		return "", transaction.Transaction{}, false, fmt.Errorf("dynamostore: apply to %s: %w", c.TransactionID, err)
	}
	out, err := s.client.UpdateItem(ctx, in)
	if err == nil {
		var current *transaction.Transaction
		if len(out.Attributes) > 0 {
			old, err := decodeTransaction(out.Attributes)
			if err != nil {
				return "", transaction.Transaction{}, false, fmt.Errorf("dynamostore: apply to %s: %w", c.TransactionID, err)
			}
			current = &old
		}
		v, next := transaction.Decide(current, c, now)
		if !v.Changed() {
			// The write succeeded, so the state machine must agree.
			return "", transaction.Transaction{}, false, fmt.Errorf("dynamostore: apply to %s: the write applied a change the state machine calls %s", c.TransactionID, v)
		}
		return v, next, false, nil
	}
	ccf, ok := conditionFailed(err)
	if !ok {
		return "", transaction.Transaction{}, false, fmt.Errorf("dynamostore: apply to %s: %w", c.TransactionID, err)
	}
	current, found, err := s.failedTransaction(ctx, c.TransactionID, ccf)
	if err != nil {
		return "", transaction.Transaction{}, false, fmt.Errorf("dynamostore: apply to %s: %w", c.TransactionID, err)
	}
	var cur *transaction.Transaction
	if found {
		cur = &current
	}
	v, next := transaction.Decide(cur, c, now)
	switch {
	case !v.Changed():
		return v, current, false, nil
	case !found:
		// Read after the failure (the server returned no item), and
		// created meanwhile: decide again.
		return "", transaction.Transaction{}, true, nil
	case !current.NeedsTrim():
		// The item changed between the failed write and the read.
		if ccf.Item != nil {
			return "", transaction.Transaction{}, false, fmt.Errorf("dynamostore: apply to %s: the condition refused a change the state machine calls %s", c.TransactionID, v)
		}
		return "", transaction.Transaction{}, true, nil
	}
	retry, err := s.replace(ctx, current, next)
	if err != nil || retry {
		return "", transaction.Transaction{}, retry, err
	}
	return v, next, false, nil
}

// applyInput builds the conditional UpdateItem of a change.
func (s *Store) applyInput(c transaction.Change, now time.Time) (*dynamodb.UpdateItemInput, error) {
	name := expression.Name
	value := expression.Value
	at := c.EventAt.UnixMilli()

	rule := transaction.RuleFor(c.Status)
	ordered := name(attrLastEventAt).AttributeNotExists().Or(name(attrLastEventAt).LessThanEqual(value(at))).
		And(name(attrFloor).AttributeNotExists().Or(name(attrFloor).LessThan(value(at))))
	move := statusIn(rule.Ordered).And(ordered)
	if len(rule.Unordered) > 0 {
		move = statusIn(rule.Unordered).Or(move)
	}
	existing := expression.Not(name(attrEventKeys).Contains(c.EventKey)).
		And(name(attrEventKeys).AttributeNotExists().Or(name(attrEventKeys).Size().LessThan(value(transaction.HistorySize)))).
		And(move)
	if c.Status == transaction.Succeeded {
		existing = existing.And(name(attrExpAmount).AttributeNotExists().Or(
			name(attrExpAmount).Equal(value(c.Amount)).And(name(attrExpCurrency).Equal(value(strings.ToUpper(c.Currency))))))
	}
	cond := existing
	if !c.MustExist {
		cond = name(attrTransactionID).AttributeNotExists().Or(existing)
	}

	upd := expression.Set(name(attrStatus), value(string(c.Status))).
		Set(name("last_event_key"), value(c.EventKey)).
		Set(name(attrLastEventAt), value(at)).
		Set(name(attrEventKeys), expression.ListAppend(expression.IfNotExists(name(attrEventKeys), value([]string{})), value([]string{c.EventKey}))).
		Set(name(attrEventTimes), expression.ListAppend(expression.IfNotExists(name(attrEventTimes), value([]int64{})), value([]int64{at}))).
		Set(name("created_at"), expression.IfNotExists(name("created_at"), value(now))).
		Set(name("updated_at"), value(now)).
		Set(name(attrVersion), expression.Plus(expression.IfNotExists(name(attrVersion), value(0)), value(1)))
	if c.Provider != "" {
		upd = upd.Set(name("provider"), expression.IfNotExists(name("provider"), value(c.Provider)))
	}
	if c.Amount != 0 {
		upd = upd.Set(name("amount"), value(c.Amount))
	}
	if c.Currency != "" {
		upd = upd.Set(name("currency"), value(c.Currency))
	}
	for attr, ref := range map[string]string{attrPaymentIntent: c.Stripe.PaymentIntent, "stripe_checkout_session": c.Stripe.CheckoutSession, "stripe_charge": c.Stripe.Charge} {
		if ref != "" {
			upd = upd.Set(name(attr), expression.IfNotExists(name(attr), value(ref)))
		}
	}
	in, err := update(s.transactions, strKey(attrTransactionID, c.TransactionID), upd, &cond)
	if err != nil {
		return nil, err
	}
	in.ReturnValues = types.ReturnValueAllOld
	return in, nil
}

func statusIn(statuses []transaction.Status) expression.ConditionBuilder {
	if len(statuses) == 0 {
		// No status allows the move: a condition that never holds.
		return expression.Name(attrStatus).AttributeExists().And(expression.Name(attrStatus).AttributeNotExists())
	}
	ops := make([]expression.OperandBuilder, len(statuses))
	for i, st := range statuses {
		ops[i] = expression.Value(string(st))
	}
	return expression.Name(attrStatus).In(ops[0], ops[1:]...)
}

// replace writes next over current with one PutItem conditioned on
// current's version; retry says another change got in first.
func (s *Store) replace(ctx context.Context, current, next transaction.Transaction) (bool, error) {
	lost, err := s.putIf(ctx, next, expression.Name(attrVersion).Equal(expression.Value(current.Version)))
	switch {
	case lost:
		return true, nil
	case err != nil:
		return false, fmt.Errorf("dynamostore: apply to %s: %w", next.ID, err)
	}
	return false, nil
}

// putIf writes t to the transactions table with one PutItem on condition
// cond. lost says the condition failed (another change got in first); err
// is then the ConditionalCheckFailedException.
func (s *Store) putIf(ctx context.Context, t transaction.Transaction, cond expression.ConditionBuilder) (lost bool, err error) {
	item, err := encodeTransaction(t)
	if err != nil {
		return false, err
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("build expression: %w", err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.transactions), Item: item,
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	_, lost = conditionFailed(err)
	return lost, err
}

// failedTransaction returns the item that failed a condition: the one
// DynamoDB returned with the exception, or, from a server that returns
// none, the item as read now.
func (s *Store) failedTransaction(ctx context.Context, id string, ccf *types.ConditionalCheckFailedException) (transaction.Transaction, bool, error) {
	if ccf.Item != nil {
		t, err := decodeTransaction(ccf.Item)
		return t, err == nil, err
	}
	return s.getTransaction(ctx, id)
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
	return getItem(ctx, s.client, s.transactions, strKey(attrTransactionID, id), decodeTransaction)
}

// TransactionByStripePaymentIntent implements store.Store with one Query of
// the index (eventually consistent, like every index read).
func (s *Store) TransactionByStripePaymentIntent(ctx context.Context, pi string) (string, error) {
	if pi == "" {
		return "", errors.New("dynamostore: transaction by payment intent: no payment intent")
	}
	key := expression.Key(attrPaymentIntent).Equal(expression.Value(pi))
	expr, err := expression.NewBuilder().WithKeyCondition(key).Build()
	if err != nil {
		return "", fmt.Errorf("dynamostore: transaction by payment intent %s: %w", pi, err)
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.transactions), IndexName: aws.String(IndexStripePaymentIntent),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		Limit: aws.Int32(2),
	})
	if err != nil {
		return "", fmt.Errorf("dynamostore: transaction by payment intent %s: %w", pi, err)
	}
	switch len(out.Items) {
	case 0:
		return "", fmt.Errorf("dynamostore: transaction by payment intent %s: %w", pi, store.ErrNotFound)
	case 1:
		return strOf(out.Items[0], attrTransactionID), nil
	}
	return "", fmt.Errorf("dynamostore: transaction by payment intent %s: %w", pi, store.ErrAmbiguous)
}

// Expect implements store.Store: a consistent read, then one PutItem
// conditioned on what was read. The application calls it once per payment,
// so the read costs little and keeps the rule in one place
// (transaction.Expect).
func (s *Store) Expect(ctx context.Context, id, provider string, e transaction.Expectation, now time.Time) (transaction.Transaction, error) {
	if id == "" {
		return transaction.Transaction{}, errors.New("dynamostore: expect: no transaction id")
	}
	for try := 1; ; try++ {
		current, found, err := s.getTransaction(ctx, id)
		if err != nil {
			return transaction.Transaction{}, fmt.Errorf("dynamostore: expect %s: %w", id, err)
		}
		var cur *transaction.Transaction
		cond := expression.Name(attrTransactionID).AttributeNotExists()
		if found {
			cur = &current
			cond = expression.Name(attrVersion).Equal(expression.Value(current.Version))
		}
		next, err := transaction.Expect(cur, id, provider, e, now.UTC())
		if err != nil {
			return next, fmt.Errorf("dynamostore: expect: %w", err)
		}
		if found && next.Version == current.Version {
			return current, nil // the same expectation, already recorded
		}
		lost, err := s.putIf(ctx, next, cond)
		if lost && try < maxApplyTries {
			continue
		}
		if err != nil {
			return transaction.Transaction{}, fmt.Errorf("dynamostore: expect %s: %w", id, err)
		}
		return next, nil
	}
}
