package failedjobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// fakeDLQ is an in-memory DLQ for the unit tests of this package's own
// logic: receives hide messages, receipt handles change on each receive and
// only the latest works. SQS itself is tested against the local servers.
type fakeDLQ struct {
	mu   sync.Mutex
	msgs []*fakeMsg
	// comeBackEvery, when set, makes every hidden message visible again
	// after that many receives: a hide that ran out mid-scan.
	comeBackEvery int
	receiveDelay  time.Duration
	receives      int
	released      int
	failRelease   bool
}

type fakeMsg struct {
	r       sqsqueue.Received
	hidden  bool
	deleted bool
}

// event names a message of provider monetbil with key.
func (d *fakeDLQ) add(id, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, &fakeMsg{r: sqsqueue.Received{ID: id, Body: "body of " + id, Attributes: map[string]string{
		envelope.AttrProvider: "monetbil", envelope.AttrEventKey: key, envelope.AttrEventType: "payment.success", envelope.AttrTransactionID: "tx-" + key,
	}}})
}

func (d *fakeDLQ) fill(n int) {
	for i := range n {
		d.add(fmt.Sprintf("m-%05d", i), fmt.Sprintf("MB-%05d:success", i))
	}
}

func (d *fakeDLQ) URL() string { return "https://sqs.local/000000000000/dlq" }

func (d *fakeDLQ) Scan(ctx context.Context, limit int, _, _ time.Duration) ([]sqsqueue.Received, error) {
	if d.receiveDelay > 0 {
		time.Sleep(d.receiveDelay)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.receives++
	if d.comeBackEvery > 0 && d.receives > 1 && (d.receives-1)%d.comeBackEvery == 0 {
		for _, m := range d.msgs {
			m.hidden = false
		}
	}
	var out []sqsqueue.Received
	for _, m := range d.msgs {
		if len(out) == min(limit, 10) {
			break
		}
		if m.hidden || m.deleted {
			continue
		}
		m.hidden = true
		m.r.ReceiveCount++
		m.r.ReceiptHandle = fmt.Sprintf("%s#%d", m.r.ID, m.r.ReceiveCount)
		out = append(out, m.r)
	}
	return out, nil
}

func (d *fakeDLQ) byHandle(h string) (*fakeMsg, error) {
	for _, m := range d.msgs {
		if m.r.ReceiptHandle == h && !m.deleted {
			return m, nil
		}
	}
	return nil, fmt.Errorf("receipt handle %q is not the latest of any message", h)
}

func (d *fakeDLQ) Release(_ context.Context, hs []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failRelease {
		return errors.New("release refused")
	}
	for _, h := range hs {
		m, err := d.byHandle(h)
		if err != nil {
			return err
		}
		m.hidden = false
		d.released++
	}
	return nil
}

func (d *fakeDLQ) Delete(_ context.Context, hs []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, h := range hs {
		m, err := d.byHandle(h)
		if err != nil {
			return err
		}
		m.deleted = true
	}
	return nil
}

func (d *fakeDLQ) Purge(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.msgs {
		m.deleted = true
	}
	return nil
}

func (d *fakeDLQ) Depth(context.Context) (sqsqueue.Depth, error) {
	ids, hidden := d.left()
	return sqsqueue.Depth{Visible: int64(len(ids) - hidden), InFlight: int64(hidden)}, nil
}

func (d *fakeDLQ) StartMoveTask(context.Context, int) (sqsqueue.MoveTask, error) {
	return sqsqueue.MoveTask{}, sqsqueue.ErrMoveTasksUnsupported
}

func (d *fakeDLQ) MoveTasks(context.Context) ([]sqsqueue.MoveTask, error) {
	return nil, sqsqueue.ErrMoveTasksUnsupported
}

func (d *fakeDLQ) CancelMoveTask(context.Context, string) (int64, error) {
	return 0, sqsqueue.ErrMoveTasksUnsupported
}

// left returns the ids still in the DLQ and how many of them are hidden.
func (d *fakeDLQ) left() (ids []string, hidden int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.msgs {
		if !m.deleted {
			ids = append(ids, m.r.ID)
			if m.hidden {
				hidden++
			}
		}
	}
	return ids, hidden
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
