// Command ingest is the API Gateway (HTTP API) Lambda that verifies Stripe
// and Monetbil webhooks and enqueues them. It only wires: the work is in
// internal/intake.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/payments-hub/hub/internal/apigateway"
	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/secrets"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/stripewebhook"
)

func main() {
	ctx := context.Background()
	log := logging.FromEnv()
	fail := func(msg string, err error) {
		log.Error(msg, logging.Err(err))
		os.Exit(1)
	}

	a, err := app.LoadAWS(ctx, "ingest")
	if err != nil {
		fail("load AWS configuration", err)
	}
	cfg, err := config.LoadIngest(ctx, os.Getenv, func() (secrets.ParameterStore, error) {
		return ssm.NewFromConfig(a.Config), nil
	})
	if err != nil {
		fail("invalid configuration", err)
	}
	verifier, err := stripewebhook.NewVerifier(cfg.StripeSecrets, stripewebhook.DefaultTolerance)
	if err != nil {
		fail("invalid configuration", err)
	}
	queue, err := sqsqueue.NewPublisher(a.SQS, cfg.QueueURL)
	if err != nil {
		fail("invalid configuration", err)
	}
	svc, err := intake.New(intake.Config{Stripe: verifier, MonetbilSecret: cfg.MonetbilSecret, Queue: queue.WithMaxBytes(cfg.MaxMessageBytes), Logger: log})
	if err != nil {
		fail("invalid configuration", err)
	}
	lambda.Start(apigateway.Handler(svc))
}
