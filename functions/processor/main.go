// Command processor is the Lambda behind the SQS event source mapping that
// processes queued events into DynamoDB. It only wires: app builds it
// from the environment.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/app/boot"
	"github.com/payments-hub/hub/internal/logging"
)

func main() {
	log := boot.LambdaLogger(os.Stdout, os.Getenv)
	handler, err := app.ProcessorHandler(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("cannot start", logging.Err(err))
		os.Exit(1)
	}
	lambda.Start(handler)
}
