// Package sqsqueue is the SQS adapter: it sends envelopes to the queue and
// gives the processor and the operator CLI the receive, visibility and delete
// operations they need, with SQS's per-entry batch failures surfaced.
package sqsqueue

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/intake"
)

// API is the part of the SQS client this package uses.
type API interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// MaxMessageBytes is SQS's largest message (body and attributes).
const MaxMessageBytes = 1 << 20

// Publisher sends envelopes to one queue.
type Publisher struct {
	api      API
	url      string
	maxBytes int
}

// NewPublisher returns a publisher for the queue at url, whose messages may
// be MaxMessageBytes.
func NewPublisher(api API, url string) (*Publisher, error) {
	if api == nil {
		return nil, errors.New("sqsqueue: nil SQS client")
	}
	if url == "" {
		return nil, errors.New("sqsqueue: empty queue URL")
	}
	return &Publisher{api: api, url: url, maxBytes: MaxMessageBytes}, nil
}

// WithMaxBytes returns a copy of p for a queue whose maximum message size
// is n bytes (the queue's MaximumMessageSize).
func (p *Publisher) WithMaxBytes(n int) *Publisher {
	c := *p
	c.maxBytes = n
	return &c
}

// Enqueue sends e with SendMessage and returns the message id. It returns
// only once SQS has accepted the message.
func (p *Publisher) Enqueue(ctx context.Context, e envelope.Envelope) (string, error) {
	body, err := envelope.Encode(e)
	if err != nil {
		return "", err
	}
	attrs := Attributes(e)
	if size := messageSize(body, attrs); size > p.maxBytes {
		// SQS would refuse it on every retry: say so now.
		return "", fmt.Errorf("%w: the envelope is %d bytes, the queue takes %d", intake.ErrTooLarge, size, p.maxBytes)
	}
	out, err := p.api.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(p.url),
		MessageBody:       aws.String(string(body)),
		MessageAttributes: attrs,
	})
	if err != nil {
		return "", fmt.Errorf("sqs SendMessage: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

// Attributes are the message attributes an envelope travels with. They let
// an operator see a message's provider, type and key without decoding it.
func Attributes(e envelope.Envelope) map[string]types.MessageAttributeValue {
	attrs := map[string]types.MessageAttributeValue{
		envelope.AttrProvider:  stringAttr(e.Provider),
		envelope.AttrEventType: stringAttr(e.EventType),
		envelope.AttrEventKey:  stringAttr(e.EventKey),
	}
	if e.TransactionID != "" {
		attrs[envelope.AttrTransactionID] = stringAttr(e.TransactionID)
	}
	if e.EventType == "" {
		delete(attrs, envelope.AttrEventType) // SQS refuses empty attribute values
	}
	return attrs
}

// messageSize counts a message as SQS does: the body plus each attribute's
// name, type and value.
func messageSize(body []byte, attrs map[string]types.MessageAttributeValue) int {
	n := len(body)
	for k, v := range attrs {
		n += len(k) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue))
	}
	return n
}

func stringAttr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}
