package sqsqueue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

func newQueue(t *testing.T, c *sqs.Client) *sqsqueue.Queue {
	t.Helper()
	q, err := sqsqueue.NewQueue(c, createQueue(t, c))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func requireDepth(t *testing.T, q *sqsqueue.Queue, visible, inFlight int64) {
	t.Helper()
	d, err := q.Depth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Visible != visible || d.InFlight != inFlight {
		t.Fatalf("depth %+v, want %d visible and %d in flight", d, visible, inFlight)
	}
}

func TestScanHidesWhatItReadsWithItsAttributesAndReceiveCount(t *testing.T) {
	t.Parallel()
	q := newQueue(t, hubtest.SQS(t))
	ctx := context.Background()
	var out []sqsqueue.Outgoing
	for i := range 15 {
		out = append(out, sqsqueue.Outgoing{Body: fmt.Sprintf("body %d", i), Attributes: map[string]string{"provider": "stripe", "event_key": fmt.Sprintf("evt_%d", i), "transaction_id": ""}})
	}
	ids, err := q.SendBatch(ctx, out)
	if err != nil || len(ids) != 15 || ids[14] == "" {
		t.Fatalf("SendBatch: %v %v", ids, err)
	}
	got, err := q.Scan(ctx, 10, time.Second, 30*time.Second)
	if err != nil || len(got) == 0 {
		t.Fatalf("Scan: %d, %v", len(got), err)
	}
	m := got[0]
	if m.ReceiveCount != 1 || m.SentAt.IsZero() || m.ReceiptHandle == "" || !strings.HasPrefix(m.Body, "body ") || m.Attributes["provider"] != "stripe" || m.Attributes["event_key"] == "" {
		t.Fatalf("scanned %+v", m)
	}
	if _, empty := m.Attributes["transaction_id"]; empty {
		t.Fatal("an empty attribute was sent")
	}
	requireDepth(t, q, int64(15-len(got)), int64(len(got)))
	// Released, they are received again with a higher count.
	hs := make([]string, len(got))
	for i, r := range got {
		hs[i] = r.ReceiptHandle
	}
	if err := q.Release(ctx, hs); err != nil {
		t.Fatal(err)
	}
	requireDepth(t, q, 15, 0)
	again, err := q.Scan(ctx, 10, time.Second, 30*time.Second)
	if err != nil || len(again) == 0 {
		t.Fatalf("Scan again: %v", err)
	}
	for _, r := range again {
		if r.ID == m.ID && r.ReceiveCount != 2 {
			t.Fatalf("receive count %d after a second receive, want 2", r.ReceiveCount)
		}
	}
}

func TestSendCopiesAMessageToAnotherQueue(t *testing.T) {
	t.Parallel()
	c := hubtest.SQS(t)
	from, to := newQueue(t, c), newQueue(t, c)
	ctx := context.Background()
	if _, err := from.Send(ctx, sqsqueue.Outgoing{Body: `{"v":1}`, Attributes: map[string]string{"event_key": "MB-1:success"}}); err != nil {
		t.Fatal(err)
	}
	got, err := from.Scan(ctx, 1, time.Second, 30*time.Second)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	id, err := to.Send(ctx, got[0].Copy())
	if err != nil || id == "" || id == got[0].ID {
		t.Fatalf("copy id %q, %v: want a new message", id, err)
	}
	copied, err := to.Scan(ctx, 1, time.Second, 30*time.Second)
	if err != nil || len(copied) != 1 || copied[0].Body != `{"v":1}` || copied[0].Attributes["event_key"] != "MB-1:success" || copied[0].ReceiveCount != 1 {
		t.Fatalf("copy %+v %v", copied, err)
	}
}

func TestPurgeEmptiesTheQueue(t *testing.T) {
	t.Parallel()
	q := newQueue(t, hubtest.SQS(t))
	ctx := context.Background()
	if _, err := q.SendBatch(ctx, []sqsqueue.Outgoing{{Body: "a"}, {Body: "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := q.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	hubtest.WaitFor(t, "an empty queue", 70*time.Second, func() bool {
		d, err := q.Depth(ctx)
		return err == nil && d.Visible == 0
	})
	// A second purge within 60 s is refused on AWS with PurgeQueueInProgress;
	// local servers may accept it. Either way the answer is clear.
	if err := q.Purge(ctx); err != nil && !errors.Is(err, sqsqueue.ErrPurgeInProgress) {
		t.Fatalf("second purge: %v", err)
	}
}

func TestMoveTasksWhereTheServerHasThemAndWhereItHasNot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain := newQueue(t, hubtest.SQS(t))
	if _, err := plain.StartMoveTask(ctx, 0); !errors.Is(err, sqsqueue.ErrMoveTasksUnsupported) {
		t.Fatalf("StartMoveTask on a server without move tasks: %v, want ErrMoveTasksUnsupported", err)
	}
	c := hubtest.MoveTaskSQS(t)
	spec := provision.QueueSpec{Name: hubtest.Name("mt-q"), DLQName: hubtest.Name("mt-dlq"), VisibilityTimeout: time.Second}
	spec.SetDefaults()
	pair, err := provision.Queues(ctx, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	dlq, err := sqsqueue.NewQueue(c, pair.DLQURL)
	if err != nil {
		t.Fatal(err)
	}
	if arn, err := dlq.ARN(ctx); err != nil || arn != pair.DLQARN {
		t.Fatalf("ARN %q %v, want %q", arn, err, pair.DLQARN)
	}
	task, err := dlq.StartMoveTask(ctx, 1)
	if err != nil || task.Handle == "" || task.Status != "RUNNING" {
		t.Fatalf("StartMoveTask: %+v %v", task, err)
	}
	tasks, err := dlq.MoveTasks(ctx)
	if err != nil || len(tasks) == 0 || tasks[0].SourceARN != pair.DLQARN {
		t.Fatalf("MoveTasks: %+v %v", tasks, err)
	}
	hubtest.WaitFor(t, "the empty DLQ's task to end", 10*time.Second, func() bool {
		tasks, err := dlq.MoveTasks(ctx)
		return err == nil && len(tasks) > 0 && tasks[0].Done()
	})
}

// arnAPI answers GetQueueAttributes with a queue ARN, after failing the
// first call, and counts the calls; it lists no move tasks.
type arnAPI struct {
	sqsqueue.AdminAPI // nil: any other call panics
	mu                sync.Mutex
	reads             int
}

func (a *arnAPI) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reads++
	if a.reads == 1 {
		return nil, errors.New("connection reset")
	}
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{"QueueArn": "arn:aws:sqs:us-east-1:000000000000:dlq"}}, nil
}

func (a *arnAPI) ListMessageMoveTasks(context.Context, *sqs.ListMessageMoveTasksInput, ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error) {
	return &sqs.ListMessageMoveTasksOutput{}, nil
}

// A watch of a move task lists the tasks every second: the ARN they are
// listed by is read once, after the first read that succeeds.
func TestTheARNIsReadOnceAndRemembered(t *testing.T) {
	t.Parallel()
	api := &arnAPI{}
	q, err := sqsqueue.NewQueue(api, "https://sqs.local/000000000000/dlq")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := q.MoveTasks(ctx); err == nil {
		t.Fatal("MoveTasks succeeded although the ARN could not be read")
	}
	for range 3 {
		if _, err := q.MoveTasks(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if arn, err := q.ARN(ctx); err != nil || arn != "arn:aws:sqs:us-east-1:000000000000:dlq" {
		t.Fatalf("ARN %q, %v", arn, err)
	}
	if api.reads != 2 {
		t.Errorf("%d reads of the queue's attributes, want 2: the one that failed and the one remembered", api.reads)
	}
}

func TestRedrivenMarksACopyAndLeavesTheReceivedMessage(t *testing.T) {
	t.Parallel()
	r := sqsqueue.Received{ID: "m-1", Body: "body", Attributes: map[string]string{envelope.AttrEventKey: "MB-1:success"}}
	out := r.Redriven(envelope.RedriveManual)
	if out.Body != "body" || out.Attributes[envelope.AttrEventKey] != "MB-1:success" || out.Attributes[envelope.AttrRedrive] != envelope.RedriveManual {
		t.Fatalf("copy %+v", out)
	}
	if _, marked := r.Attributes[envelope.AttrRedrive]; marked {
		t.Fatalf("the received message was marked: %+v", r.Attributes)
	}
	if out := (sqsqueue.Received{Body: "no attributes"}).Redriven(envelope.RedriveAuto + "1"); out.Attributes[envelope.AttrRedrive] != "auto:1" {
		t.Fatalf("copy of a message without attributes: %+v", out)
	}
}
