package dynamostore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	client := hubtest.DynamoDB(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return newDynamostore(t, client, client)
	})
}

// TestDynamostoreWithoutReturnedItem runs the suite against a server that
// does not return the item that failed a condition
// (ReturnValuesOnConditionCheckFailure), as some emulators do not: the
// store then reads it.
func TestDynamostoreWithoutReturnedItem(t *testing.T) {
	client := hubtest.DynamoDB(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return newDynamostore(t, client, noOldItem{client})
	})
}

func newDynamostore(t *testing.T, client *dynamodb.Client, api dynamostore.API) store.Store {
	t.Helper()
	events, transactions := hubtest.Name("events"), hubtest.Name("transactions")
	t.Cleanup(func() {
		for _, name := range []string{events, transactions} {
			_, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
			var missing *types.ResourceNotFoundException
			if err != nil && !errors.As(err, &missing) {
				t.Errorf("delete table %s: %v", name, err)
			}
		}
	})
	if err := dynamostore.CreateTables(context.Background(), client, events, transactions); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	s, err := dynamostore.New(api, events, transactions, dynamostore.WithRetention(storetest.Retention))
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
