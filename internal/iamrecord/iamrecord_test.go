package iamrecord_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/iamrecord"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var testEnv = env(map[string]string{
	"QUEUE_URL":                     "http://127.0.0.1:1/000000000000/hub-q-1",
	"DLQ_URL":                       "http://127.0.0.1:1/000000000000/hub-failed-1",
	"EVENTS_TABLE":                  "ev-1",
	"TRANSACTIONS_TABLE":            "tx-1",
	"STRIPE_WEBHOOK_SECRET_PARAM":   "/hub/stripe",
	"MONETBIL_SERVICE_SECRET_PARAM": "/hub/monetbil",
})

func TestRecordsMapOperationsToIAMActions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, service, op string
		input             any
		want              []iamrecord.Record
	}{
		{"batch send is SendMessage", "SQS", "SendMessageBatch", &sqs.SendMessageBatchInput{QueueUrl: aws.String("https://sqs/1/hub-q-1")},
			[]iamrecord.Record{{"c", "sqs:SendMessage", "queue"}}},
		{"batch delete on the DLQ", "SQS", "DeleteMessageBatch", &sqs.DeleteMessageBatchInput{QueueUrl: aws.String("http://x/1/hub-failed-1")},
			[]iamrecord.Record{{"c", "sqs:DeleteMessage", "dlq"}}},
		{"move task on its source", "SQS", "StartMessageMoveTask", &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:1:hub-failed-1")},
			[]iamrecord.Record{{"c", "sqs:StartMessageMoveTask", "dlq"}}},
		{"a DLQ found through the redrive policy", "SQS", "ReceiveMessage", &sqs.ReceiveMessageInput{QueueUrl: aws.String("http://x/1/payments-hub-failed-jobs")},
			[]iamrecord.Record{{"c", "sqs:ReceiveMessage", "dlq"}}},
		{"an unknown queue", "SQS", "ReceiveMessage", &sqs.ReceiveMessageInput{QueueUrl: aws.String("http://x/1/other")},
			[]iamrecord.Record{{"c", "sqs:ReceiveMessage", "unknown:queue other"}}},
		{"no resource", "SQS", "ListQueues", &sqs.ListQueuesInput{},
			[]iamrecord.Record{{"c", "sqs:ListQueues", "*"}}},
		{"query on an index", "DynamoDB", "Query", &dynamodb.QueryInput{TableName: aws.String("tx-1"), IndexName: aws.String("by_stripe_payment_intent")},
			[]iamrecord.Record{{"c", "dynamodb:Query", "transactions-table/index/by_stripe_payment_intent"}}},
		{"transactions are per item", "DynamoDB", "TransactWriteItems", &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
			{Put: &ddbtypes.Put{TableName: aws.String("ev-1")}},
			{ConditionCheck: &ddbtypes.ConditionCheck{TableName: aws.String("tx-1")}},
		}}, []iamrecord.Record{{"c", "dynamodb:ConditionCheckItem", "transactions-table"}, {"c", "dynamodb:PutItem", "events-table"}}},
		{"batch get per table", "DynamoDB", "BatchGetItem", &dynamodb.BatchGetItemInput{RequestItems: map[string]ddbtypes.KeysAndAttributes{"ev-1": {}, "tx-1": {}}},
			[]iamrecord.Record{{"c", "dynamodb:BatchGetItem", "events-table"}, {"c", "dynamodb:BatchGetItem", "transactions-table"}}},
		{"parameters by the variable naming them", "SSM", "GetParameters", &ssm.GetParametersInput{Names: []string{"/hub/stripe", "/hub/monetbil"}},
			[]iamrecord.Record{{"c", "ssm:GetParameters", "ssm-parameter:MONETBIL_SERVICE_SECRET_PARAM"}, {"c", "ssm:GetParameters", "ssm-parameter:STRIPE_WEBHOOK_SECRET_PARAM"}}},
		{"CloudWatch's prefix", "CloudWatch", "GetMetricData", struct{}{},
			[]iamrecord.Record{{"c", "cloudwatch:GetMetricData", "*"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := iamrecord.Records("c", c.service, c.op, c.input, testEnv)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

// The middleware on real clients against the local servers: what reaches
// the file is what the SDK sent, once per distinct action and resource.
func TestMiddlewareRecordsWhatRealClientsSend(t *testing.T) {
	sqsClient, ddb := hubtest.SQS(t), hubtest.DynamoDB(t)
	ctx := context.Background()
	q, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(hubtest.Name("iamrec-q"))})
	if err != nil {
		t.Fatal(err)
	}
	table := hubtest.Name("iamrec-ev")
	if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = sqsClient.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
		_, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})

	dir := t.TempDir()
	rec := iamrecord.New(dir, "processor", env(map[string]string{"QUEUE_URL": aws.ToString(q.QueueUrl), "EVENTS_TABLE": table}))
	withSQS := func(o *sqs.Options) { o.APIOptions = append(o.APIOptions, rec.Middleware()) }
	withDDB := func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, rec.Middleware()) }

	for i := 0; i < 2; i++ { // twice: recorded once
		if _, err := sqsClient.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q.QueueUrl, Entries: []sqstypes.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("x")}}}, withSQS); err != nil {
			t.Fatal(err)
		}
	}
	item := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}
	if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}, withDDB); err != nil {
		t.Fatal(err)
	}
	// A refused call is recorded too: IAM is asked before the service answers.
	if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}, withDDB); err == nil {
		t.Fatal("conditional put of an existing item succeeded")
	}
	if _, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: item}, withDDB); err != nil {
		t.Fatal(err)
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}

	got, err := iamrecord.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []iamrecord.Record{
		{"processor", "sqs:SendMessage", "queue"},
		{"processor", "dynamodb:PutItem", "events-table"},
		{"processor", "dynamodb:GetItem", "events-table"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("recorded %v, want %v", got, want)
	}
}

func TestNoDirectoryNoRecorder(t *testing.T) {
	t.Parallel()
	if r := iamrecord.New("", "ingest", testEnv); r != nil {
		t.Fatal("a recorder without a directory")
	}
}
