package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/store"
)

// batchGetLimit is BatchGetItem's maximum number of keys per call.
const batchGetLimit = 100

// Unprocessed keys are retried after a growing pause: DynamoDB leaves keys
// unprocessed when the table is throttled, and asks callers to back off.
const (
	unprocessedFirstPause = 50 * time.Millisecond
	unprocessedMaxPause   = 2 * time.Second
	unprocessedMaxTries   = 8
)

// Events returns the records of refs that exist and have not expired,
// keyed by ref; missing and expired records are absent from the map, as
// Event reports them ErrNotFound. It reads with BatchGetItem, 100 keys a
// call, with consistent reads, retrying unprocessed keys with backoff.
func (s *Store) Events(ctx context.Context, refs []store.EventRef) (map[store.EventRef]store.EventRecord, error) {
	keys := make([]string, 0, len(refs))
	b := batch{refs: make(map[string]store.EventRef, len(refs)), out: make(map[store.EventRef]store.EventRecord, len(refs)), now: time.Now()}
	for _, r := range refs {
		pk, err := store.RecordKey(r.Provider, r.EventKey)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: events: %w", err)
		}
		if _, dup := b.refs[pk]; !dup {
			b.refs[pk] = r
			keys = append(keys, pk)
		}
	}
	for start := 0; start < len(keys); start += batchGetLimit {
		if err := s.batchGet(ctx, keys[start:min(start+batchGetLimit, len(keys))], b); err != nil {
			return nil, err
		}
	}
	return b.out, nil
}

// batch is one Events call: the refs asked for by key, and what was found.
type batch struct {
	refs map[string]store.EventRef
	out  map[store.EventRef]store.EventRecord
	now  time.Time
}

// keep records an item read for pk unless it has expired: TTL deletes
// late, so an expired record counts as absent.
func (b batch) keep(pk string, rec store.EventRecord) {
	if !rec.Expired(b.now) {
		b.out[b.refs[pk]] = rec
	}
}

// batchGet reads up to 100 keys into out.
func (s *Store) batchGet(ctx context.Context, pks []string, b batch) error {
	keys := make([]map[string]types.AttributeValue, len(pks))
	for i, pk := range pks {
		keys[i] = strKey(attrPK, pk)
	}
	request := map[string]types.KeysAndAttributes{s.events: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	pause := unprocessedFirstPause
	for try := 1; ; try++ {
		resp, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
		if err != nil {
			return fmt.Errorf("dynamostore: batch get events: %w", err)
		}
		for _, item := range resp.Responses[s.events] {
			rec, err := decodeEvent(item)
			if err != nil {
				return fmt.Errorf("dynamostore: batch get events: %w", err)
			}
			b.keep(pkOf(item), rec)
		}
		left, ok := resp.UnprocessedKeys[s.events]
		if !ok || len(left.Keys) == 0 {
			return nil
		}
		if try == unprocessedMaxTries {
			return fmt.Errorf("dynamostore: batch get events: %d keys still unprocessed after %d tries (the table is throttled)", len(left.Keys), try)
		}
		request = map[string]types.KeysAndAttributes{s.events: left}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamostore: batch get events: %w", ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, unprocessedMaxPause)
	}
}
