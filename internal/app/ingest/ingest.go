// Package ingest assembles the ingest function from configuration: the
// intake service behind API Gateway, with the SQS and SSM clients it uses
// and nothing else, so that its cold start builds no other client and its
// binary links neither DynamoDB nor the processing jobs (package app wires
// the rest of the hub).
package ingest

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/payments-hub/hub/internal/apigateway"
	"github.com/payments-hub/hub/internal/app/boot"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/secrets"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/stripewebhook"
)

// Service builds the intake service, publishing on cfg.QueueURL with client.
func Service(client sqsqueue.API, cfg config.Ingest, log *slog.Logger) (*intake.Service, error) {
	verifier, err := stripewebhook.NewVerifier(cfg.StripeSecrets, stripewebhook.DefaultTolerance)
	if err != nil {
		return nil, err
	}
	queue, err := sqsqueue.NewPublisher(client, cfg.QueueURL)
	if err != nil {
		return nil, err
	}
	return intake.New(intake.Config{Stripe: verifier, MonetbilSecret: cfg.MonetbilSecret, Queue: queue.WithMaxBytes(cfg.MaxMessageBytes), Logger: log})
}

// Handler is the ingest Lambda's handler, from the environment.
func Handler(ctx context.Context, getenv config.Getenv, log *slog.Logger) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
	awsCfg, err := boot.AWSConfig(ctx, "ingest")
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadIngest(ctx, getenv, func() (secrets.ParameterStore, error) { return ssm.NewFromConfig(awsCfg), nil })
	if err != nil {
		return nil, err
	}
	svc, err := Service(sqs.NewFromConfig(awsCfg), cfg, log)
	if err != nil {
		return nil, err
	}
	return apigateway.Handler(svc), nil
}
