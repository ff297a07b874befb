// Package lambdasqs adapts SQS event source mapping invocations to the
// processing core. It reports failed records with ReportBatchItemFailures
// and never fails the whole batch for one record.
//
// Time budget: the function timeout (<= the queue's 60 s visibility timeout,
// or the mapping is refused) bounds the whole batch. Records run
// concurrently, and each job's deadline is the smaller of JOB_TIMEOUT_SECONDS
// and the invocation's remaining time minus Margin, so that every record's
// fate (visibility change, failure record) is settled before Lambda stops the
// function.
package lambdasqs

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payments-hub/hub/internal/processing"
)

// Margin is kept from the invocation's deadline to record failures and set
// visibilities after the jobs.
const Margin = 3 * time.Second

// Handler returns the Lambda handler. concurrency bounds the records
// processed at once (the batch size is the mapping's).
func Handler(p *processing.Processor, concurrency int) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var deadline time.Time
		if d, ok := ctx.Deadline(); ok {
			deadline = d.Add(-Margin)
		}
		msgs := make([]processing.Message, len(ev.Records))
		for i, r := range ev.Records {
			msgs[i] = Message(r)
		}
		results := p.ProcessBatch(ctx, msgs, deadline, concurrency)
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for i, r := range results {
			if r.Action != processing.Ack {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
			}
		}
		return resp, nil
	}
}

// Message converts an SQS event record.
func Message(r events.SQSMessage) processing.Message {
	attempt, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	attrs := make(map[string]string, len(r.MessageAttributes))
	for k, v := range r.MessageAttributes {
		if v.StringValue != nil {
			attrs[k] = *v.StringValue
		}
	}
	return processing.Message{ID: r.MessageId, ReceiptHandle: r.ReceiptHandle, Body: []byte(r.Body), Attempt: attempt, Attributes: attrs}
}
