package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/processing"
)

// ConsumerAPI is the part of the SQS client a consumer uses.
type ConsumerAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Consumer receives from, hides and deletes messages of one queue.
type Consumer struct {
	api ConsumerAPI
	url string
}

// NewConsumer returns a consumer of the queue at url.
func NewConsumer(api ConsumerAPI, url string) (*Consumer, error) {
	if api == nil || url == "" {
		return nil, errors.New("sqsqueue: a client and a queue URL are required")
	}
	return &Consumer{api: api, url: url}, nil
}

// URL returns the queue's URL.
func (c *Consumer) URL() string { return c.url }

// Receive long-polls for up to limit messages (1..10).
func (c *Consumer) Receive(ctx context.Context, limit int, wait time.Duration) ([]processing.Message, error) {
	limit = min(max(limit, 1), 10)
	out, err := c.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(c.url),
		MaxNumberOfMessages:         int32(limit),
		WaitTimeSeconds:             int32(wait / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount, types.MessageSystemAttributeNameSentTimestamp},
		// Some local servers only honour the older field.
		AttributeNames: []types.QueueAttributeName{"ApproximateReceiveCount", "SentTimestamp"}, //nolint:staticcheck // see above
	})
	if err != nil {
		return nil, fmt.Errorf("sqs ReceiveMessage: %w", err)
	}
	msgs := make([]processing.Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msgs = append(msgs, Message(m))
	}
	return msgs, nil
}

// Message converts an SQS message.
func Message(m types.Message) processing.Message {
	return processing.Message{
		ID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
		Body: []byte(aws.ToString(m.Body)), Attempt: receiveCount(m), Attributes: stringValues(m),
	}
}

// stringValues returns m's message attributes by name, each as its string
// value (the hub sends only String attributes).
func stringValues(m types.Message) map[string]string {
	attrs := make(map[string]string, len(m.MessageAttributes))
	for k, v := range m.MessageAttributes {
		attrs[k] = aws.ToString(v.StringValue)
	}
	return attrs
}

// receiveCount returns m's ApproximateReceiveCount, this receive included
// (0 when SQS did not return it).
func receiveCount(m types.Message) int {
	n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	return n
}

// ChangeVisibility implements processing.Visibility.
func (c *Consumer) ChangeVisibility(ctx context.Context, receiptHandle string, hidden time.Duration) error {
	_, err := c.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(c.url), ReceiptHandle: aws.String(receiptHandle), VisibilityTimeout: int32(hidden.Round(time.Second) / time.Second),
	})
	if err != nil {
		return fmt.Errorf("sqs ChangeMessageVisibility: %w", err)
	}
	return nil
}

// Delete deletes messages by receipt handle, in batches of 10. It returns an
// error naming every entry SQS refused: a batch call can fail per entry.
func (c *Consumer) Delete(ctx context.Context, receiptHandles []string) error {
	return inBatches(receiptHandles, "DeleteMessageBatch", func(batch []string) ([]types.BatchResultErrorEntry, error) {
		entries := make([]types.DeleteMessageBatchRequestEntry, len(batch))
		for i, h := range batch {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h)}
		}
		out, err := c.api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.url), Entries: entries})
		if err != nil {
			return nil, err
		}
		return out.Failed, nil
	})
}

// Release makes messages visible again at once (a worker shutting down with
// messages it has not started, a DLQ scan done with what it read).
func (c *Consumer) Release(ctx context.Context, receiptHandles []string) error {
	return inBatches(receiptHandles, "ChangeMessageVisibilityBatch", func(batch []string) ([]types.BatchResultErrorEntry, error) {
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(batch))
		for i, h := range batch {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h), VisibilityTimeout: 0}
		}
		out, err := c.api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(c.url), Entries: entries})
		if err != nil {
			return nil, err
		}
		return out.Failed, nil
	})
}

// inBatches calls send with up to 10 handles at a time and gathers the
// entries SQS refused into one error.
func inBatches(handles []string, op string, send func([]string) ([]types.BatchResultErrorEntry, error)) error {
	var problems []string
	for start := 0; start < len(handles); start += 10 {
		failed, err := send(handles[start:min(start+10, len(handles))])
		if err != nil {
			return fmt.Errorf("sqs %s: %w", op, err)
		}
		for _, f := range failed {
			problems = append(problems, fmt.Sprintf("entry %d: %s %s", start+atoi(aws.ToString(f.Id)), aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("sqs %s: %d entries failed: %s", op, len(problems), strings.Join(problems, "; "))
	}
	return nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// Attributes returns the queue's attributes.
func (c *Consumer) Attributes(ctx context.Context) (map[string]string, error) {
	out, err := c.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(c.url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		return nil, fmt.Errorf("sqs GetQueueAttributes: %w", err)
	}
	return out.Attributes, nil
}
