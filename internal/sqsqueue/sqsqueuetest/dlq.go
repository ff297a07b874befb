// Package sqsqueuetest is an in-memory dead-letter queue for the unit tests
// of the code that reads one (failedjobs, autoredrive), so that those tests
// judge their own package's logic and run without a server. It behaves as
// SQS does where that logic depends on it: a receive hides what it returns,
// receipt handles change on each receive and only the latest works. SQS
// itself is tested against the local servers (sqsqueue's own tests).
package sqsqueuetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/sqsqueue"
)

// DLQ is an in-memory DLQ: it implements failedjobs.DLQ and
// autoredrive.DLQ. Its zero value is an empty queue; set its fields before
// handing it to the code under test.
type DLQ struct {
	// ComeBackEvery, when set, makes every hidden message visible again
	// after that many receives: a hide that ran out mid-scan.
	ComeBackEvery int
	// HideBroken makes a receive leave what it returns visible: a hide that
	// runs out at once, as when a receive's answer was lost.
	HideBroken bool
	// ReceiveDelay is how long each receive takes; a receive whose context
	// ends first returns the context's error.
	ReceiveDelay time.Duration
	// ShortPollsOnly makes a receive with a wait fail, for code that must
	// read the queue with short polls.
	ShortPollsOnly bool

	mu       sync.Mutex
	msgs     []*message
	receives int
	released int
}

type message struct {
	r       sqsqueue.Received
	hidden  bool
	deleted bool
}

// Add puts a message in the queue, visible, with a copy of attrs.
func (d *DLQ) Add(id, body string, attrs map[string]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, &message{r: sqsqueue.Received{ID: id, Body: body, Attributes: maps.Clone(attrs)}})
}

// URL returns a made-up queue URL.
func (d *DLQ) URL() string { return "https://sqs.local/000000000000/dlq" }

// Scan receives up to limit messages (at most 10), in the order they were
// added, and hides them; each gets a new receipt handle and a higher
// receive count. The hide has no end (see ComeBackEvery and HideBroken).
func (d *DLQ) Scan(ctx context.Context, limit int, wait, _ time.Duration) ([]sqsqueue.Received, error) {
	if d.ShortPollsOnly && wait != 0 {
		return nil, fmt.Errorf("sqsqueuetest: a receive with a wait of %s where short polls are required", wait)
	}
	if d.ReceiveDelay > 0 {
		select {
		case <-time.After(d.ReceiveDelay):
		case <-ctx.Done():
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.receives++
	if d.ComeBackEvery > 0 && d.receives > 1 && (d.receives-1)%d.ComeBackEvery == 0 {
		for _, m := range d.msgs {
			m.hidden = false
		}
	}
	var out []sqsqueue.Received
	for _, m := range d.msgs {
		if len(out) == min(limit, 10) {
			break
		}
		if (m.hidden && !d.HideBroken) || m.deleted {
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

// byHandle finds the message whose latest receipt handle is h.
func (d *DLQ) byHandle(h string) (*message, error) {
	for _, m := range d.msgs {
		if m.r.ReceiptHandle == h && !m.deleted {
			return m, nil
		}
	}
	return nil, fmt.Errorf("receipt handle %q is not the latest of any message", h)
}

// Release makes the messages visible again. The error names every handle
// that is not the latest of a message in the queue; the others are
// released all the same.
func (d *DLQ) Release(_ context.Context, handles []string) error {
	return d.each(handles, func(m *message) { m.hidden = false; d.released++ })
}

// Delete deletes the messages. The error names every handle that is not
// the latest of a message in the queue; the others are deleted all the
// same.
func (d *DLQ) Delete(_ context.Context, handles []string) error {
	return d.each(handles, func(m *message) { m.deleted = true })
}

// each applies f to the message of each handle, under the lock, and joins
// the errors of the handles that name none.
func (d *DLQ) each(handles []string, f func(*message)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, h := range handles {
		m, err := d.byHandle(h)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f(m)
	}
	return errors.Join(errs...)
}

// Purge deletes every message.
func (d *DLQ) Purge(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.msgs {
		m.deleted = true
	}
	return nil
}

// Depth counts the messages left: those hidden are in flight.
func (d *DLQ) Depth(context.Context) (sqsqueue.Depth, error) {
	ids, hidden := d.Left()
	return sqsqueue.Depth{Visible: int64(len(ids) - hidden), InFlight: int64(hidden)}, nil
}

// StartMoveTask returns sqsqueue.ErrMoveTasksUnsupported, as most local
// servers do.
func (d *DLQ) StartMoveTask(context.Context, int) (sqsqueue.MoveTask, error) {
	return sqsqueue.MoveTask{}, sqsqueue.ErrMoveTasksUnsupported
}

// MoveTasks returns sqsqueue.ErrMoveTasksUnsupported.
func (d *DLQ) MoveTasks(context.Context) ([]sqsqueue.MoveTask, error) {
	return nil, sqsqueue.ErrMoveTasksUnsupported
}

// CancelMoveTask returns sqsqueue.ErrMoveTasksUnsupported.
func (d *DLQ) CancelMoveTask(context.Context, string) (int64, error) {
	return 0, sqsqueue.ErrMoveTasksUnsupported
}

// Left returns the ids still in the queue, in the order they were added,
// and how many of them are hidden.
func (d *DLQ) Left() (ids []string, hidden int) {
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

// Receives counts the receives so far.
func (d *DLQ) Receives() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.receives
}

// Released counts the messages released so far.
func (d *DLQ) Released() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.released
}
