package dynamostore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/store/dynamostore"
	"github.com/payments-hub/hub/internal/store/storetest"
)

// TestDynamostore runs the suite against a real DynamoDB (DynamoDB Local
// under `make test`), on new tables per subtest.
func TestDynamostore(t *testing.T) {
	hubtest.Require(t, hubtest.EnvDynamoDB)
	storetest.Run(t, func(t *testing.T) store.Store {
		return newDynamostore(t, nil)
	})
}

// TestDynamostoreWithoutReturnedItem runs the suite against a server that
// does not return the item that failed a condition
// (ReturnValuesOnConditionCheckFailure), as some emulators do not: the
// store then reads it.
func TestDynamostoreWithoutReturnedItem(t *testing.T) {
	hubtest.Require(t, hubtest.EnvDynamoDB)
	storetest.Run(t, func(t *testing.T) store.Store {
		return newDynamostore(t, func(api dynamostore.API) dynamostore.API { return noOldItem{api} })
	})
}

// newDynamostore returns a store on new tables, whose client wrap (when
// not nil) wraps.
func newDynamostore(t *testing.T, wrap func(dynamostore.API) dynamostore.API) store.Store {
	t.Helper()
	tb := newTables(t)
	var api dynamostore.API = tb.client
	if wrap != nil {
		api = wrap(api)
	}
	s, err := dynamostore.New(api, tb.events, tb.transactions, dynamostore.WithRetention(storetest.Retention))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// noOldItem drops the item from every ConditionalCheckFailedException.
type noOldItem struct{ dynamostore.API }

func (n noOldItem) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := n.API.UpdateItem(ctx, in, o...)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		ccf.Item = nil
	}
	return out, err
}

// failingGetItem is noOldItem whose GetItem fails.
type failingGetItem struct{ noOldItem }

func (failingGetItem) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, errors.New("connection reset")
}

// A binding held elsewhere on a server that returns no item with the
// failure, whose read fails too: still bound elsewhere, and the read's
// error is not lost.
func TestBindSaysWhyItCannotNameTheHolder(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	ctx := context.Background()
	held := store.Binding{Provider: "monetbil", ProviderTransactionID: "MB-held", TransactionID: "tx_a", Now: time.Now()}
	s, err := dynamostore.New(tb.client, tb.events, tb.transactions)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Bind(ctx, held); err != nil {
		t.Fatal(err)
	}
	blind, err := dynamostore.New(failingGetItem{noOldItem{tb.client}}, tb.events, tb.transactions)
	if err != nil {
		t.Fatal(err)
	}
	other := held
	other.TransactionID = "tx_b"
	to, _, err := blind.Bind(ctx, other)
	if !errors.Is(err, store.ErrBoundElsewhere) || to != "?" || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("bound to %q, %v: want ErrBoundElsewhere naming the failed read", to, err)
	}
}
