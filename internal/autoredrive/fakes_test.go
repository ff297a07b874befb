package autoredrive_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

// fakeDLQ is an in-memory DLQ for the unit tests of the pass's decisions:
// a receive hides what it returns (unless hideBroken, a hide that runs out
// at once, as when a receive's answer was lost), receipt handles change on
// each receive and only the latest works. SQS itself is tested against the
// local servers (integration_test.go).
type fakeDLQ struct {
	mu           sync.Mutex
	msgs         []*fakeMsg
	hideBroken   bool
	receiveDelay time.Duration
	receives     int
}

type fakeMsg struct {
	r       sqsqueue.Received
	hidden  bool
	deleted bool
}

// add puts a message of the event provider/key in the DLQ.
func (d *fakeDLQ) add(id, provider, key, body string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, &fakeMsg{r: sqsqueue.Received{ID: id, Body: body, Attributes: map[string]string{
		envelope.AttrProvider: provider, envelope.AttrEventKey: key, envelope.AttrTransactionID: "tx-" + key,
	}}})
}

func (d *fakeDLQ) Scan(ctx context.Context, limit int, wait, _ time.Duration) ([]sqsqueue.Received, error) {
	if wait != 0 {
		return nil, fmt.Errorf("a pass uses short polls, got a wait of %s", wait)
	}
	if d.receiveDelay > 0 {
		select {
		case <-time.After(d.receiveDelay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.receives++
	var out []sqsqueue.Received
	for _, m := range d.msgs {
		if len(out) == min(limit, 10) {
			break
		}
		if (m.hidden && !d.hideBroken) || m.deleted {
			continue
		}
		m.hidden = true
		m.r.ReceiveCount++
		m.r.ReceiptHandle = fmt.Sprintf("%s#%d", m.r.ID, m.r.ReceiveCount)
		r := m.r
		r.Attributes = maps.Clone(m.r.Attributes)
		out = append(out, r)
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
	var errs []error
	for _, h := range hs {
		m, err := d.byHandle(h)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.hidden = false
	}
	return errors.Join(errs...)
}

func (d *fakeDLQ) Delete(_ context.Context, hs []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, h := range hs {
		m, err := d.byHandle(h)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.deleted = true
	}
	return errors.Join(errs...)
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

// fakeQueue is the main queue; refuse makes it refuse every entry.
type fakeQueue struct {
	mu     sync.Mutex
	sent   []sqsqueue.Outgoing
	refuse bool
}

func (q *fakeQueue) SendBatch(_ context.Context, msgs []sqsqueue.Outgoing) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := make([]string, len(msgs))
	if q.refuse {
		return ids, errors.New("access denied")
	}
	for i, m := range msgs {
		q.sent = append(q.sent, m)
		ids[i] = fmt.Sprintf("new-%d", len(q.sent))
	}
	return ids, nil
}

// keys returns the event key and redrive attribute of each message sent.
func (q *fakeQueue) keys() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, m := range q.sent {
		out = append(out, m.Attributes[envelope.AttrEventKey]+" "+m.Attributes[envelope.AttrRedrive])
	}
	return out
}

// fakeBreaker fails its probes while err is set, and counts them.
type fakeBreaker struct {
	mu     sync.Mutex
	err    error
	probed []string
}

func (b *fakeBreaker) Probe(_ context.Context, e envelope.Envelope) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probed = append(b.probed, e.EventKey)
	return b.err
}
