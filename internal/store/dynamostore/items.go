package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

// Attribute names used in expressions. The items' other attributes are
// named by the dynamodbav tags below.
const (
	attrPK            = "pk"
	attrTransactionID = "transaction_id"
	attrStatus        = "status"
	attrExpiresAt     = "expires_at" // N, unix seconds: both tables' TTL attribute
	attrVersion       = "version"
	attrEventKeys     = "event_keys"
	attrEventTimes    = "event_times"
	attrLastEventAt   = "last_event_at"
	attrFloor         = "floor"
	attrExpAmount     = "expected_amount"
	attrExpCurrency   = "expected_currency"
	attrPaymentIntent = "stripe_payment_intent"
)

// eventItem is an events table item. Times are RFC 3339 strings in UTC
// (attributevalue's encoding of time.Time), which also sort in time order;
// expires_at is unix seconds, as TTL wants.
type eventItem struct {
	PK            string        `dynamodbav:"pk"`
	Provider      string        `dynamodbav:"provider,omitempty"`
	EventKey      string        `dynamodbav:"event_key,omitempty"`
	EventType     string        `dynamodbav:"event_type,omitempty"`
	TransactionID string        `dynamodbav:"transaction_id,omitempty"`
	Status        string        `dynamodbav:"status,omitempty"`
	Attempts      int           `dynamodbav:"attempts,omitempty"`
	MessageID     string        `dynamodbav:"message_id,omitempty"`
	Outcome       string        `dynamodbav:"outcome,omitempty"`
	Mismatch      []string      `dynamodbav:"mismatch,omitempty"`
	Detail        string        `dynamodbav:"detail,omitempty"`
	ProcessedAt   time.Time     `dynamodbav:"processed_at,omitempty"`
	LastError     string        `dynamodbav:"last_error,omitempty"`
	ErrorType     string        `dynamodbav:"error_type,omitempty"`
	Permanent     bool          `dynamodbav:"permanent,omitempty"`
	DeadLettered  bool          `dynamodbav:"dead_lettered,omitempty"`
	DLQMessageID  string        `dynamodbav:"dlq_message_id,omitempty"`
	FirstFailedAt time.Time     `dynamodbav:"first_failed_at,omitempty"`
	LastFailedAt  time.Time     `dynamodbav:"last_failed_at,omitempty"`
	ForgottenAt   time.Time     `dynamodbav:"forgotten_at,omitempty"`
	UpdatedAt     time.Time     `dynamodbav:"updated_at,omitempty"`
	ExpiresAt     time.Time     `dynamodbav:"expires_at,unixtime,omitempty"`
	Rounds        []store.Round `dynamodbav:"rounds,omitempty"`
}

// unmarshal decodes an item into out; an error names the attribute that
// does not decode.
func unmarshal(item map[string]types.AttributeValue, out any) error {
	err := attributevalue.UnmarshalMap(item, out)
	if err == nil {
		return nil
	}
	for name, v := range item {
		if attributevalue.UnmarshalMap(map[string]types.AttributeValue{name: v}, out) != nil {
			return fmt.Errorf("attribute %s: %w", name, err)
		}
	}
	return err
}

func decodeEvent(item map[string]types.AttributeValue) (store.EventRecord, error) {
	var it eventItem
	if err := unmarshal(item, &it); err != nil {
		return store.EventRecord{}, fmt.Errorf("event record %s: %w", pkOf(item), err)
	}
	rec := store.EventRecord{
		Provider: it.Provider, EventKey: it.EventKey, EventType: it.EventType, TransactionID: it.TransactionID,
		Status: store.EventStatus(it.Status), Attempts: it.Attempts, MessageID: it.MessageID,
		Outcome: it.Outcome, Mismatch: it.Mismatch, Detail: it.Detail, ProcessedAt: utc(it.ProcessedAt),
		LastError: it.LastError, ErrorType: it.ErrorType, Permanent: it.Permanent, DeadLettered: it.DeadLettered,
		DLQMessageID: it.DLQMessageID, FirstFailedAt: utc(it.FirstFailedAt), LastFailedAt: utc(it.LastFailedAt),
		ForgottenAt: utc(it.ForgottenAt), UpdatedAt: utc(it.UpdatedAt), ExpiresAt: utc(it.ExpiresAt),
	}
	for _, r := range it.Rounds {
		r.At = utc(r.At)
		rec.Rounds = append(rec.Rounds, r)
	}
	switch rec.Status {
	case store.Processed, store.Failed, store.Forgotten:
	default:
		return store.EventRecord{}, fmt.Errorf("event record %s: unknown status %q", it.PK, rec.Status)
	}
	return rec, nil
}

// transactionItem is a transactions table item. Event times are unix
// milliseconds, so that conditions compare them as numbers; EventKeys and
// EventTimes are parallel lists, oldest first (list_append keeps order).
type transactionItem struct {
	ID                    string    `dynamodbav:"transaction_id"`
	Status                string    `dynamodbav:"status"`
	Provider              string    `dynamodbav:"provider,omitempty"`
	Amount                int64     `dynamodbav:"amount,omitempty"`
	Currency              string    `dynamodbav:"currency,omitempty"`
	ExpectedAmount        *int64    `dynamodbav:"expected_amount,omitempty"`
	ExpectedCurrency      string    `dynamodbav:"expected_currency,omitempty"`
	LastEventKey          string    `dynamodbav:"last_event_key,omitempty"`
	LastEventAt           int64     `dynamodbav:"last_event_at,omitempty"`
	EventKeys             []string  `dynamodbav:"event_keys,omitempty"`
	EventTimes            []int64   `dynamodbav:"event_times,omitempty"`
	Floor                 int64     `dynamodbav:"floor,omitempty"`
	StripePaymentIntent   string    `dynamodbav:"stripe_payment_intent,omitempty"`
	StripeCheckoutSession string    `dynamodbav:"stripe_checkout_session,omitempty"`
	StripeCharge          string    `dynamodbav:"stripe_charge,omitempty"`
	CreatedAt             time.Time `dynamodbav:"created_at"`
	UpdatedAt             time.Time `dynamodbav:"updated_at"`
	Version               int64     `dynamodbav:"version"`
}

func encodeTransaction(t transaction.Transaction) (map[string]types.AttributeValue, error) {
	it := transactionItem{
		ID: t.ID, Status: string(t.Status), Provider: t.Provider, Amount: t.Amount, Currency: t.Currency,
		LastEventKey: t.LastEventKey, LastEventAt: millis(t.LastEventAt), Floor: millis(t.Floor),
		StripePaymentIntent: t.Stripe.PaymentIntent, StripeCheckoutSession: t.Stripe.CheckoutSession, StripeCharge: t.Stripe.Charge,
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(), Version: t.Version,
	}
	if t.Expected != nil {
		it.ExpectedAmount, it.ExpectedCurrency = &t.Expected.Amount, t.Expected.Currency
	}
	for _, e := range t.Events {
		it.EventKeys = append(it.EventKeys, e.Key)
		it.EventTimes = append(it.EventTimes, millis(e.At))
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("encode transaction %s: %w", t.ID, err)
	}
	return item, nil
}

func decodeTransaction(item map[string]types.AttributeValue) (transaction.Transaction, error) {
	var it transactionItem
	if err := unmarshal(item, &it); err != nil {
		return transaction.Transaction{}, fmt.Errorf("transaction %s: %w", strOf(item, attrTransactionID), err)
	}
	t := transaction.Transaction{
		ID: it.ID, Status: transaction.Status(it.Status), Provider: it.Provider, Amount: it.Amount, Currency: it.Currency,
		LastEventKey: it.LastEventKey, LastEventAt: fromMillis(it.LastEventAt), Floor: fromMillis(it.Floor),
		Stripe:    transaction.StripeRefs{PaymentIntent: it.StripePaymentIntent, CheckoutSession: it.StripeCheckoutSession, Charge: it.StripeCharge},
		CreatedAt: utc(it.CreatedAt), UpdatedAt: utc(it.UpdatedAt), Version: it.Version,
	}
	if it.ExpectedAmount != nil {
		t.Expected = &transaction.Expectation{Amount: *it.ExpectedAmount, Currency: it.ExpectedCurrency}
	}
	if len(it.EventKeys) != len(it.EventTimes) {
		return transaction.Transaction{}, fmt.Errorf("transaction %s: %d event keys but %d event times", it.ID, len(it.EventKeys), len(it.EventTimes))
	}
	for i, k := range it.EventKeys {
		t.Events = append(t.Events, transaction.AppliedEvent{Key: k, At: fromMillis(it.EventTimes[i])})
	}
	if !t.Status.Valid() {
		return transaction.Transaction{}, fmt.Errorf("transaction %s: unknown status %q", t.ID, t.Status)
	}
	return t, nil
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

func strOf(item map[string]types.AttributeValue, name string) string {
	if s, ok := item[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return "?"
}

func pkOf(item map[string]types.AttributeValue) string { return strOf(item, attrPK) }

// getItem reads one item with a strongly consistent GetItem and decodes it;
// found is false when there is none.
func getItem[T any](ctx context.Context, client API, table string, key map[string]types.AttributeValue, decode func(map[string]types.AttributeValue) (T, error)) (v T, found bool, err error) {
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return v, false, err
	}
	v, err = decode(out.Item)
	return v, err == nil, err
}

func strKey(name, value string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{name: &types.AttributeValueMemberS{Value: value}}
}
