// Command redriver is the Lambda EventBridge Scheduler invokes every minute:
// one pass of automatic redrive rounds, moving the due transient failures
// from the DLQ back to the queue. It only wires: app builds it from the
// environment.
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
	handler, err := app.RedriverHandler(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("cannot start", logging.Err(err))
		os.Exit(1)
	}
	lambda.Start(handler)
}
