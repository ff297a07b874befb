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
)

// API is the part of the SQS client this package uses.
type API interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Publisher sends envelopes to one queue.
type Publisher struct {
	api API
	url string
}

// NewPublisher returns a publisher for the queue at url.
func NewPublisher(api API, url string) (*Publisher, error) {
	if api == nil {
		return nil, errors.New("sqsqueue: nil SQS client")
	}
	if url == "" {
		return nil, errors.New("sqsqueue: empty queue URL")
	}
	return &Publisher{api: api, url: url}, nil
}

// Enqueue sends e with SendMessage and returns the message id. It returns
// only once SQS has accepted the message.
func (p *Publisher) Enqueue(ctx context.Context, e envelope.Envelope) (string, error) {
	body, err := envelope.Encode(e)
	if err != nil {
		return "", err
	}
	out, err := p.api.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(p.url),
		MessageBody:       aws.String(string(body)),
		MessageAttributes: Attributes(e),
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

func stringAttr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}
