// Command ingest is the API Gateway (HTTP API) Lambda that verifies Stripe and
// Monetbil webhooks and enqueues them. It only wires: app/ingest builds it
// from the environment.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/payments-hub/hub/internal/app/boot"
	"github.com/payments-hub/hub/internal/app/ingest"
	"github.com/payments-hub/hub/internal/logging"
)

func main() {
	log := boot.LambdaLogger(os.Stdout, os.Getenv)
	handler, err := ingest.Handler(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("cannot start", logging.Err(err))
		os.Exit(1)
	}
	lambda.Start(handler)
}
