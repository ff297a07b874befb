// Package app assembles the hub's parts from configuration: the AWS
// clients, the store, the jobs, the processor and the automatic redrive. The
// processor and redriver Lambdas, hubctl and the benchmarks share it so that
// every entry point is wired the same way; every one starts with package
// boot (logger, AWS configuration), and the ingest function is wired by
// package app/ingest alone, so that it links none of the rest.
package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payments-hub/hub/internal/app/boot"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/lambdasqs"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store/dynamostore"
)

// AWS holds the clients, built from the SDK's default configuration
// (boot.AWSConfig), so that AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SQS /
// AWS_ENDPOINT_URL_DYNAMODB select LocalStack or a local server.
type AWS struct {
	Config   aws.Config
	SQS      *sqs.Client
	DynamoDB *dynamodb.Client
}

// LoadAWS loads the default configuration and builds the clients for one
// component of the hub ("processor", or a hubctl command such as "hubctl
// failed list"); the component only labels what the iamrecord build
// records (boot.AWSConfig).
func LoadAWS(ctx context.Context, component string) (AWS, error) {
	cfg, err := boot.AWSConfig(ctx, component)
	if err != nil {
		return AWS{}, err
	}
	return clients(cfg), nil
}

// clients builds the SQS and DynamoDB clients on cfg.
func clients(cfg aws.Config) AWS {
	return AWS{
		Config: cfg,
		SQS:    sqs.NewFromConfig(cfg),
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			// An endpoint of its own (AWS_ENDPOINT_URL[_DYNAMODB]) is a
			// local server, and local DynamoDB servers omit the CRC32
			// header the SDK checks (aws-sdk-go-v2#3545); AWS always sends it.
			o.DisableValidateResponseChecksum = o.BaseEndpoint != nil
		}),
	}
}

// Store returns the DynamoDB store.
func Store(a AWS, t config.Tables) (*dynamostore.Store, error) {
	return dynamostore.New(a.DynamoDB, t.Events, t.Transactions)
}

// Processor builds the processing core and the queue consumer. It refuses
// to start when the queue's RedrivePolicy does not dead-letter after exactly
// MAX_ATTEMPTS receives (provision.CheckRedrive).
func Processor(ctx context.Context, a AWS, cfg config.Processor, log *slog.Logger) (*processing.Processor, *sqsqueue.Consumer, error) {
	consumer, err := sqsqueue.NewConsumer(a.SQS, cfg.QueueURL)
	if err != nil {
		return nil, nil, err
	}
	attrs, err := consumer.Attributes(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read the queue's RedrivePolicy (%s): %w", cfg.QueueURL, err)
	}
	vt, err := provision.CheckRedrive(cfg.QueueURL, attrs, cfg.Policy.MaxAttempts)
	if err != nil {
		return nil, nil, err
	}
	if cfg.JobTimeoutSet && vt > 0 && cfg.JobTimeout > vt-processing.DeadlineMargin {
		log.Warn(fmt.Sprintf("%s is longer than the queue's visibility timeout less %s: jobs are cut at that point, so that a failure is recorded and its backoff set before the message can come back",
			config.EnvJobTimeout, processing.DeadlineMargin), "job_timeout", cfg.JobTimeout.String(), "visibility_timeout", vt.String())
	}
	st, err := Store(a, cfg.Tables)
	if err != nil {
		return nil, nil, err
	}
	checker, err := monetbil.NewClient(cfg.MonetbilAPIURL, nil)
	if err != nil {
		return nil, nil, err
	}
	mode := jobs.StripeTest
	if cfg.StripeLive {
		mode = jobs.StripeLive
	}
	p, err := processing.New(processing.Config{
		Store:      st,
		Visibility: consumer,
		Jobs: map[string]processing.Job{
			envelope.ProviderStripe:   jobs.Stripe{Mode: mode, Finder: st},
			envelope.ProviderMonetbil: jobs.Monetbil{Checker: checker, AllowTestMode: cfg.MonetbilTestMode},
		},
		Policy:            cfg.Policy,
		JobTimeout:        cfg.JobTimeout,
		VisibilityTimeout: vt,
		RequireExpected:   cfg.RequireExpected,
		Logger:            log,
	})
	if err != nil {
		return nil, nil, err
	}
	return p, consumer, nil
}

// ProcessorHandler is the processor Lambda's handler, from the environment.
func ProcessorHandler(ctx context.Context, getenv config.Getenv, log *slog.Logger) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	cfg, err := config.LoadProcessor(getenv)
	if err != nil {
		return nil, err
	}
	a, err := LoadAWS(ctx, "processor")
	if err != nil {
		return nil, err
	}
	p, _, err := Processor(ctx, a, cfg, log)
	if err != nil {
		return nil, err
	}
	return lambdasqs.Handler(p, cfg.BatchConcurrency), nil
}
