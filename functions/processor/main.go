// Command processor is the Lambda behind the SQS event source mapping. It
// only wires: the work is in internal/processing, the Lambda adapter in
// internal/lambdasqs.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/lambdasqs"
	"github.com/payments-hub/hub/internal/logging"
)

func main() {
	ctx := context.Background()
	log := logging.FromEnv()
	fail := func(msg string, err error) {
		log.Error(msg, logging.Err(err))
		os.Exit(1)
	}
	cfg, err := config.LoadProcessor(os.Getenv)
	if err != nil {
		fail("invalid configuration", err)
	}
	aws, err := app.LoadAWS(ctx, "processor")
	if err != nil {
		fail("invalid configuration", err)
	}
	proc, _, err := app.Processor(ctx, aws, cfg, log)
	if err != nil {
		fail("cannot start", err)
	}
	lambda.Start(lambdasqs.Handler(proc, cfg.BatchConcurrency))
}
