package failedjobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/sqsqueue/sqsqueuetest"
	"github.com/payments-hub/hub/internal/store"
)

// fakeDLQ is sqsqueuetest's in-memory DLQ, for the unit tests of this
// package's own logic. SQS itself is tested against the local servers.
type fakeDLQ struct{ sqsqueuetest.DLQ }

// add puts a message of provider monetbil with key in the DLQ.
func (d *fakeDLQ) add(id, key string) {
	d.Add(id, "body of "+id, map[string]string{
		envelope.AttrProvider: "monetbil", envelope.AttrEventKey: key, envelope.AttrEventType: "payment.success", envelope.AttrTransactionID: "tx-" + key,
	})
}

func (d *fakeDLQ) fill(n int) {
	for i := range n {
		d.add(fmt.Sprintf("m-%05d", i), fmt.Sprintf("MB-%05d:success", i))
	}
}

// fakeSource is the source queue; refuse makes it refuse bodies it names.
type fakeSource struct {
	mu     sync.Mutex
	sent   []sqsqueue.Outgoing
	refuse map[string]bool
}

func (s *fakeSource) Send(_ context.Context, m sqsqueue.Outgoing) (string, error) {
	ids, _ := s.SendBatch(context.Background(), []sqsqueue.Outgoing{m})
	if ids[0] == "" {
		return "", errors.New("refused")
	}
	return ids[0], nil
}

func (s *fakeSource) SendBatch(_ context.Context, msgs []sqsqueue.Outgoing) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		if s.refuse[m.Body] {
			continue
		}
		s.sent = append(s.sent, m)
		ids[i] = fmt.Sprintf("new-%d", len(s.sent))
	}
	return ids, nil
}

// fakeRecords holds failure records and counts the batch reads.
type fakeRecords struct {
	mu        sync.Mutex
	recs      map[store.EventRef]store.EventRecord
	calls     int
	largest   int
	forgotten []store.EventRef
}

func (r *fakeRecords) failed(provider, key string, attempts int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recs == nil {
		r.recs = map[store.EventRef]store.EventRecord{}
	}
	r.recs[store.EventRef{Provider: provider, EventKey: key}] = store.EventRecord{
		Provider: provider, EventKey: key, Status: store.Failed, Attempts: attempts, LastError: "checkPayment: HTTP 500", ErrorType: "transient",
		LastFailedAt: time.Date(2026, 11, 27, 11, 33, 38, 0, time.UTC),
	}
}

func (r *fakeRecords) Events(_ context.Context, refs []store.EventRef) (map[store.EventRef]store.EventRecord, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.largest = max(r.largest, len(refs))
	out := map[store.EventRef]store.EventRecord{}
	for _, ref := range refs {
		if rec, ok := r.recs[ref]; ok {
			out[ref] = rec
		}
	}
	return out, nil
}

func (r *fakeRecords) Forget(_ context.Context, provider, key string, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref := store.EventRef{Provider: provider, EventKey: key}
	if _, ok := r.recs[ref]; !ok {
		return store.ErrNotFound
	}
	r.forgotten = append(r.forgotten, ref)
	return nil
}
