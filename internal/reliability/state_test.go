package reliability_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/store/dynamostore"
)

// Queues and tables.
//
// Lost receives: aws-sdk-go-v2 retries a request whose answer could not be
// read to the end (net.ErrClosed; aws/aws-sdk-go-v2#2737, retried since
// #2949). Against fauxqs on loopback that happens to about one
// ReceiveMessage in a few hundred whose answer is larger than ~4 KB (a few
// messages). The first attempt's messages are then in flight, delivered to
// nobody, until the visibility timeout runs out, and their receive count has
// gone up by one without an attempt. So these tests use short visibility
// timeouts, and count attempts from what the processor saw, never from
// receive counts. (The processor Lambda is not exposed: the event source
// mapping receives, not the SDK.)

// depth returns a queue's visible, in-flight and delayed message counts.
func depth(ctx context.Context, c *sqs.Client, queueURL string) (visible, inFlight, delayed int, err error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	}})
	if err != nil {
		return 0, 0, 0, err
	}
	n := func(k types.QueueAttributeName) int { v, _ := strconv.Atoi(out.Attributes[string(k)]); return v }
	return n(types.QueueAttributeNameApproximateNumberOfMessages), n(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible), n(types.QueueAttributeNameApproximateNumberOfMessagesDelayed), nil
}

// waitDrained waits until the queue holds nothing at all: no message
// visible, in flight (received and not deleted, or hidden for a backoff) or
// delayed, twice in a row.
func waitDrained(t testing.TB, c *sqs.Client, queueURL string, timeout time.Duration) {
	t.Helper()
	empty := 0
	hubtest.WaitFor(t, "queue "+provision.QueueNameFromURL(queueURL)+" to drain", timeout, func() bool {
		v, f, d, err := depth(context.Background(), c, queueURL)
		if err == nil && v+f+d == 0 {
			empty++
		} else {
			empty = 0
		}
		return empty >= 2
	})
}

// requireEmpty fails unless the queue holds nothing.
func requireEmpty(t testing.TB, c *sqs.Client, queueURL, what string) {
	t.Helper()
	v, f, d, err := depth(context.Background(), c, queueURL)
	if err != nil {
		t.Fatalf("%s attributes: %v", what, err)
	}
	if v+f+d != 0 {
		t.Fatalf("%s holds %d visible, %d in flight, %d delayed messages; want none", what, v, f, d)
	}
}

// visible returns a queue's visible message count (-1 on error).
func visible(c *sqs.Client, queueURL string) int {
	v, _, _, err := depth(context.Background(), c, queueURL)
	if err != nil {
		return -1
	}
	return v
}

// newQueues creates a queue and its DLQ (redrive after 3 receives) with the
// given visibility timeout, uniquely named and deleted when the test ends.
func newQueues(t testing.TB, c *sqs.Client, vt time.Duration) provision.QueuePair {
	t.Helper()
	q := createQueues(t, c, vt, hubtest.Name("rel-q"), hubtest.Name("rel-dlq"))
	t.Cleanup(func() {
		for _, u := range []string{q.URL, q.DLQURL} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
			cancel()
		}
	})
	return q
}

// createQueues creates the named queue and DLQ. Queues on a test's private
// server are not deleted: they go with the server.
func createQueues(t testing.TB, c *sqs.Client, vt time.Duration, name, dlqName string) provision.QueuePair {
	t.Helper()
	spec := provision.QueueSpec{Name: name, DLQName: dlqName, VisibilityTimeout: vt, MaxReceiveCount: scaled.MaxAttempts}
	spec.SetDefaults()
	q, err := provision.Queues(context.Background(), c, spec)
	if err != nil {
		t.Fatalf("create queues: %v", err)
	}
	return q
}

// tables are one test's event and transaction tables.
type tables struct {
	events, transactions string
	store                *dynamostore.Store
}

// newTables creates uniquely named tables, deleted when the test ends.
func newTables(t testing.TB, c *dynamodb.Client) tables {
	t.Helper()
	tb := createTables(t, c, hubtest.Name("rel-events"), hubtest.Name("rel-tx"))
	t.Cleanup(func() {
		for _, name := range []string{tb.events, tb.transactions} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
			cancel()
		}
	})
	return tb
}

// createTables creates the named tables and a store on them. Tables on a
// test's private server are not deleted: they go with the server.
func createTables(t testing.TB, c *dynamodb.Client, events, transactions string) tables {
	t.Helper()
	tb := tables{events: events, transactions: transactions}
	if err := dynamostore.CreateTables(context.Background(), c, tb.events, tb.transactions); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	var err error
	if tb.store, err = dynamostore.New(c, tb.events, tb.transactions); err != nil {
		t.Fatal(err)
	}
	return tb
}

// scan reads every item of a table: attribute key -> attribute value, for
// two string or number attributes.
func scan(t testing.TB, c *dynamodb.Client, table, key, value string) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		for _, item := range page.Items {
			out[attr(item[key])] = attr(item[value])
		}
	}
	return out
}

func attr(v ddbtypes.AttributeValue) string {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return v.Value
	case *ddbtypes.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

// requireAppliedOnce checks the tables hold exactly the hooks'
// transactions, each changed once (version 1) to succeeded and remembering
// its event, and that no event record says an event is still failing: none
// lost, none applied twice, nothing else.
func requireAppliedOnce(t testing.TB, c *dynamodb.Client, tb tables, hooks []hook) {
	t.Helper()
	versions := scan(t, c, tb.transactions, "transaction_id", "version")
	statuses := scan(t, c, tb.transactions, "transaction_id", "status")
	lost, twice, wrong, forgotten := 0, 0, 0, 0
	for _, h := range hooks {
		switch v, ok := versions[h.txID]; {
		case !ok:
			lost++
			if lost <= 5 {
				t.Errorf("transaction %s (%s %s) missing", h.txID, h.provider, h.eventKey)
			}
		case v != "1":
			twice++
			t.Errorf("transaction %s (%s %s) at version %s, want 1", h.txID, h.provider, h.eventKey, v)
		case statuses[h.txID] != "succeeded":
			wrong++
			t.Errorf("transaction %s is %s, want succeeded", h.txID, statuses[h.txID])
		default:
			if tx, err := tb.store.Transaction(context.Background(), h.txID); err != nil || !tx.HasEvent(h.eventKey) {
				forgotten++
				t.Errorf("transaction %s does not remember event %s: %+v, %v", h.txID, h.eventKey, tx.Events, err)
			}
		}
	}
	for pk, status := range scan(t, c, tb.events, "pk", "status") {
		if status != "" && status != string(store.Processed) {
			wrong++
			t.Errorf("event record %s is %s: every event is done", pk, status)
		}
	}
	if len(versions) != len(hooks) {
		t.Errorf("the table holds %d transactions, want %d", len(versions), len(hooks))
	}
	if lost+twice+wrong+forgotten > 0 {
		t.Fatalf("of %d events: %d lost, %d applied more than once, %d in a wrong state, %d not remembered", len(hooks), lost, twice, wrong, forgotten)
	}
}
