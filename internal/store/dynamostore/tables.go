package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableAPI is the part of the DynamoDB client CreateTables uses;
// *dynamodb.Client implements it.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// tableActiveTimeout bounds the wait for a new table to become ACTIVE
// (seconds on AWS, at once on DynamoDB Local).
const tableActiveTimeout = 2 * time.Minute

// CreateTables creates the events and transactions tables the store needs,
// on-demand, with TTL on expires_at and the transactions' index by Stripe
// payment intent, and waits until they are ACTIVE. It is idempotent: tables
// that exist and TTL already enabled are fine. Terraform creates the
// deployed tables (the same schema); this is for tests and local runs.
func CreateTables(ctx context.Context, client TableAPI, eventsTable, transactionsTable string) error {
	for _, t := range []struct {
		name, key string
		index     *types.GlobalSecondaryIndex
	}{
		{eventsTable, attrPK, nil},
		{transactionsTable, attrTransactionID, &types.GlobalSecondaryIndex{
			IndexName:  aws.String(IndexStripePaymentIntent),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(attrPaymentIntent), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	} {
		if err := createTable(ctx, client, t.name, t.key, t.index); err != nil {
			return fmt.Errorf("dynamostore: create table %s: %w", t.name, err)
		}
	}
	return nil
}

func createTable(ctx context.Context, client TableAPI, name, hashKey string, index *types.GlobalSecondaryIndex) error {
	if name == "" {
		return errors.New("no table name")
	}
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(hashKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(hashKey), KeyType: types.KeyTypeHash}},
	}
	if index != nil {
		in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{*index}
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: index.KeySchema[0].AttributeName, AttributeType: types.ScalarAttributeTypeS})
	}
	_, err := client.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return err
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 200 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableActiveTimeout); err != nil {
		return fmt.Errorf("wait for ACTIVE: %w", err)
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attrExpiresAt),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil && !ttlAlreadyEnabled(err) {
		return fmt.Errorf("enable TTL on %s: %w", attrExpiresAt, err)
	}
	return nil
}

// ttlAlreadyEnabled recognises the ValidationException DynamoDB answers
// when TTL is enabled a second time ("TimeToLive is already enabled").
func ttlAlreadyEnabled(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "already enabled")
}
