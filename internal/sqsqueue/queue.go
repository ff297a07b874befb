package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/envelope"
)

// AdminAPI is the part of the SQS client the operator tools use;
// *sqs.Client implements it.
type AdminAPI interface {
	ConsumerAPI
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	PurgeQueue(ctx context.Context, in *sqs.PurgeQueueInput, optFns ...func(*sqs.Options)) (*sqs.PurgeQueueOutput, error)
	StartMessageMoveTask(ctx context.Context, in *sqs.StartMessageMoveTaskInput, optFns ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error)
	ListMessageMoveTasks(ctx context.Context, in *sqs.ListMessageMoveTasksInput, optFns ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error)
	CancelMessageMoveTask(ctx context.Context, in *sqs.CancelMessageMoveTaskInput, optFns ...func(*sqs.Options)) (*sqs.CancelMessageMoveTaskOutput, error)
}

// Queue is one queue as operators act on it: scanned, sent to, purged,
// counted, and, for a DLQ, redriven with message move tasks. It keeps the
// Consumer's release and delete in batches.
type Queue struct {
	*Consumer
	api AdminAPI

	// arn is the queue's ARN once read (guarded by arnMu): it never
	// changes, and a watch of a move task lists the tasks every second.
	arnMu sync.Mutex
	arn   string
}

// NewQueue returns the queue at url.
func NewQueue(api AdminAPI, url string) (*Queue, error) {
	c, err := NewConsumer(api, url)
	if err != nil {
		return nil, err
	}
	return &Queue{Consumer: c, api: api}, nil
}

// Received is one message as a scan receives it: everything needed to show
// it, and to send an identical copy elsewhere.
type Received struct {
	ID            string
	ReceiptHandle string
	Body          string
	// Attributes are the message attributes (all of type String here).
	Attributes map[string]string
	// ReceiveCount is ApproximateReceiveCount, this receive included.
	ReceiveCount int
	SentAt       time.Time
}

// Outgoing is a message to send.
type Outgoing struct {
	Body       string
	Attributes map[string]string
}

// Copy returns the message to send to move r to another queue.
func (r Received) Copy() Outgoing { return Outgoing{Body: r.Body, Attributes: r.Attributes} }

// Redriven returns the copy of r to send back to the queue it failed on:
// the same body and attributes, with envelope.AttrRedrive set to mark (the
// processor reads it to close the event's failure record or round). r's
// attributes are not changed.
func (r Received) Redriven(mark string) Outgoing {
	attrs := make(map[string]string, len(r.Attributes)+1)
	maps.Copy(attrs, r.Attributes)
	attrs[envelope.AttrRedrive] = mark
	return Outgoing{Body: r.Body, Attributes: attrs}
}

// Scan receives up to limit messages (1..10) with every attribute, hiding
// them for hide: one step of reading a queue that has no browse API.
func (q *Queue) Scan(ctx context.Context, limit int, wait, hide time.Duration) ([]Received, error) {
	out, err := q.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.url),
		MaxNumberOfMessages:         int32(min(max(limit, 1), 10)),
		WaitTimeSeconds:             int32(wait / time.Second),
		VisibilityTimeout:           int32(hide / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		// Some local servers only honour the older field.
		AttributeNames: []types.QueueAttributeName{"All"}, //nolint:staticcheck // see above
	})
	if err != nil {
		return nil, fmt.Errorf("sqs ReceiveMessage: %w", err)
	}
	msgs := make([]Received, len(out.Messages))
	for i, m := range out.Messages {
		msgs[i] = received(m)
	}
	return msgs, nil
}

func received(m types.Message) Received {
	r := Received{
		ID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
		Attributes: stringValues(m), ReceiveCount: receiveCount(m),
	}
	if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		r.SentAt = time.UnixMilli(ms).UTC()
	}
	return r
}

func stringAttrs(attrs map[string]string) map[string]types.MessageAttributeValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(attrs))
	for k, v := range attrs {
		if v != "" { // SQS refuses empty attribute values
			out[k] = stringAttr(v)
		}
	}
	return out
}

// Send sends one message and returns its id.
func (q *Queue) Send(ctx context.Context, m Outgoing) (string, error) {
	out, err := q.api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(m.Body), MessageAttributes: stringAttrs(m.Attributes)})
	if err != nil {
		return "", fmt.Errorf("sqs SendMessage: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

// SendBatch sends msgs, 10 per call, and returns the new message ids in
// the order of msgs: "" where SQS refused the entry (a batch call can fail
// per entry). The error is the first call that failed as a whole; the
// entries after it are not sent.
func (q *Queue) SendBatch(ctx context.Context, msgs []Outgoing) ([]string, error) {
	ids := make([]string, len(msgs))
	for start := 0; start < len(msgs); start += 10 {
		batch := msgs[start:min(start+10, len(msgs))]
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for i, m := range batch {
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(m.Body), MessageAttributes: stringAttrs(m.Attributes)}
		}
		out, err := q.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return ids, fmt.Errorf("sqs SendMessageBatch: %w", err)
		}
		for _, e := range out.Successful {
			if i, err := strconv.Atoi(aws.ToString(e.Id)); err == nil && i >= 0 && i < len(batch) {
				ids[start+i] = aws.ToString(e.MessageId)
			}
		}
	}
	return ids, nil
}

// ErrPurgeInProgress is returned when the queue was purged less than 60 s
// ago.
var ErrPurgeInProgress = errors.New("a purge of this queue is already in progress: SQS allows one PurgeQueue per queue every 60 seconds; wait a minute and run it again")

// Purge deletes every message in the queue. SQS may take up to 60 s to
// finish it.
func (q *Queue) Purge(ctx context.Context) error {
	_, err := q.api.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(q.url)})
	var inProgress *types.PurgeQueueInProgress
	if errors.As(err, &inProgress) {
		return ErrPurgeInProgress
	}
	if err != nil {
		return fmt.Errorf("sqs PurgeQueue: %w", err)
	}
	return nil
}

// Depth is a queue's approximate message counts.
type Depth struct {
	Visible, InFlight, Delayed int64
}

// Depth reads the queue's counts; reading them changes nothing.
func (q *Queue) Depth(ctx context.Context) (Depth, error) {
	out, err := q.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.url), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	}})
	if err != nil {
		return Depth{}, fmt.Errorf("sqs GetQueueAttributes: %w", err)
	}
	n := func(k types.QueueAttributeName) int64 {
		v, _ := strconv.ParseInt(out.Attributes[string(k)], 10, 64)
		return v
	}
	return Depth{
		Visible:  n(types.QueueAttributeNameApproximateNumberOfMessages),
		InFlight: n(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		Delayed:  n(types.QueueAttributeNameApproximateNumberOfMessagesDelayed),
	}, nil
}

// ARN returns the queue's ARN, read once and then remembered (a failed
// read is asked again next time).
func (q *Queue) ARN(ctx context.Context) (string, error) {
	q.arnMu.Lock()
	defer q.arnMu.Unlock()
	if q.arn != "" {
		return q.arn, nil
	}
	out, err := q.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", fmt.Errorf("sqs GetQueueAttributes: %w", err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", fmt.Errorf("queue %s has no QueueArn attribute", q.url)
	}
	q.arn = arn
	return arn, nil
}
