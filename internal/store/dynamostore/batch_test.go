package dynamostore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/store/dynamostore"
)

// putFailed writes a FAILED record as the processor leaves it (the events
// table's attributes); expiresAt zero means none. The tests check that
// Event reads it the same way, so a change of attributes shows here.
func putFailed(t *testing.T, c *dynamodb.Client, table string, ref store.EventRef, expiresAt time.Time) {
	t.Helper()
	pk, err := store.RecordKey(ref.Provider, ref.EventKey)
	if err != nil {
		t.Fatal(err)
	}
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	item := map[string]types.AttributeValue{
		"pk": str(pk), "provider": str(ref.Provider), "event_key": str(ref.EventKey), "status": str(string(store.Failed)),
		"attempts": &types.AttributeValueMemberN{Value: "3"}, "last_error": str("checkPayment: HTTP 500 for " + ref.EventKey),
		"last_failed_at": str(time.Now().UTC().Format(time.RFC3339Nano)),
	}
	if !expiresAt.IsZero() {
		item["expires_at"] = &types.AttributeValueMemberN{Value: fmt.Sprint(expiresAt.Unix())}
	}
	if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func TestEventsReadsInBatchesAndLeavesOutMissingAndExpiredRecords(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	c, events, txs := tb.client, tb.events, tb.transactions
	counting := &countingBatches{API: c}
	s, err := dynamostore.New(counting, events, txs)
	if err != nil {
		t.Fatal(err)
	}
	var refs []store.EventRef
	for i := range 250 {
		ref := store.EventRef{Provider: "monetbil", EventKey: fmt.Sprintf("MB-%d:success", i)}
		refs = append(refs, ref)
		switch i % 10 {
		case 0: // missing
		case 1:
			putFailed(t, c, events, ref, time.Now().Add(-time.Hour)) // expired, not yet deleted by TTL
		default:
			putFailed(t, c, events, ref, time.Time{})
		}
	}
	refs = append(refs, refs[2], refs[3]) // asked twice
	got, err := s.Events(context.Background(), refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 200 {
		t.Fatalf("%d records, want the 200 that exist and have not expired", len(got))
	}
	for i, ref := range refs[:250] {
		rec, ok := got[ref]
		switch {
		case i%10 <= 1 && ok:
			t.Errorf("%v: found %+v, want absent", ref, rec)
		case i%10 > 1 && (!ok || rec.EventKey != ref.EventKey || rec.Status != store.Failed || rec.Attempts != 3):
			t.Errorf("%v: got %+v (found %t)", ref, rec, ok)
		}
	}
	for _, ref := range refs[:20] {
		rec, err := s.Event(context.Background(), ref.Provider, ref.EventKey)
		if batched, found := got[ref]; found != (err == nil) || (found && batched.LastError != rec.LastError) {
			t.Errorf("%v: Events says %+v (found %t), Event says %+v, %v", ref, batched, found, rec, err)
		}
	}
	if n := counting.calls(); n != 3 {
		t.Errorf("%d BatchGetItem calls for 250 distinct keys, want 3 (100 keys a call)", n)
	}
}

func TestEventsRetriesUnprocessedKeys(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	c, events, txs := tb.client, tb.events, tb.transactions
	var refs []store.EventRef
	for i := range 30 {
		ref := store.EventRef{Provider: "stripe", EventKey: fmt.Sprintf("evt_%d", i)}
		putFailed(t, c, events, ref, time.Time{})
		refs = append(refs, ref)
	}
	// DynamoDB leaves keys unprocessed under throttling: answer only 7 keys
	// per call and hand the rest back.
	throttled := &countingBatches{API: c, answer: 7}
	s, err := dynamostore.New(throttled, events, txs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(context.Background(), refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 {
		t.Fatalf("%d records, want 30", len(got))
	}
	if n := throttled.calls(); n != 5 {
		t.Errorf("%d calls, want 5 (30 keys, 7 answered per call)", n)
	}
}

func TestEventsGivesUpOnKeysThatStayUnprocessed(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	c, events, txs := tb.client, tb.events, tb.transactions
	ref := store.EventRef{Provider: "stripe", EventKey: "evt_throttled"}
	putFailed(t, c, events, ref, time.Time{})
	s, err := dynamostore.New(&countingBatches{API: c, answer: -1}, events, txs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Events(context.Background(), []store.EventRef{ref}); err == nil {
		t.Fatal("Events succeeded although DynamoDB never processed the key")
	}
}

// A few refs read in one call: the record found, the missing one left out;
// and a ref that names no provider refused.
func TestEventsReadsAFewRefsAndRefusesOneWithoutAProvider(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	c, events, txs := tb.client, tb.events, tb.transactions
	ref := store.EventRef{Provider: "stripe", EventKey: "evt_single"}
	putFailed(t, c, events, ref, time.Time{})
	s, err := dynamostore.New(c, events, txs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(context.Background(), []store.EventRef{ref, {Provider: "stripe", EventKey: "evt_missing"}})
	if err != nil || len(got) != 1 || got[ref].EventKey != "evt_single" {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := s.Events(context.Background(), []store.EventRef{{Provider: "", EventKey: "x"}}); err == nil {
		t.Fatal("a ref without a provider was accepted")
	}
}

// countingBatches counts BatchGetItem calls; with answer > 0 it sends only
// that many keys per call to DynamoDB and returns the others as
// unprocessed, and with answer < 0 it processes none.
type countingBatches struct {
	dynamostore.API
	answer int
	mu     sync.Mutex
	n      int
}

func (c *countingBatches) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *countingBatches) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	if c.answer == 0 {
		return c.API.BatchGetItem(ctx, in, o...)
	}
	var table string
	var ka types.KeysAndAttributes
	for table, ka = range in.RequestItems {
	}
	n := min(max(c.answer, 0), len(ka.Keys))
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	if n > 0 {
		sent := ka
		sent.Keys = ka.Keys[:n]
		resp, err := c.API.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: sent}}, o...)
		if err != nil {
			return nil, err
		}
		out.Responses = resp.Responses
	}
	if rest := ka.Keys[n:]; len(rest) > 0 {
		left := ka
		left.Keys = rest
		out.UnprocessedKeys = map[string]types.KeysAndAttributes{table: left}
	}
	return out, nil
}
