// Command minimal is the smallest aws-lambda-go SQS handler: the baseline
// infra/bench compares the hub's bootstraps with (size, init duration). It
// reports no failure for any record.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}, nil
	})
}
