// Package app assembles the hub's parts from configuration: the AWS
// clients, the store, the jobs, the processor and the intake. The Lambda
// mains, hubctl and the benchmarks share it so that every entry point is
// wired the same way.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/payments-hub/hub/internal/apigateway"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/lambdasqs"
	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/secrets"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store/dynamostore"
	"github.com/payments-hub/hub/internal/stripewebhook"
)

// AWS holds the clients, built from the SDK's default configuration, so
// that AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_DYNAMODB
// select LocalStack or a local server.
type AWS struct {
	Config   aws.Config
	SQS      *sqs.Client
	DynamoDB *dynamodb.Client
}

// loadOptions are added to every LoadAWS call by build-tagged files: the
// iamrecord build (tests only) records the AWS operations each component
// performs, to hold Terraform's IAM policies to what the code calls.
var loadOptions []func(component string) func(*awsconfig.LoadOptions) error

// LoadAWS loads the default configuration and builds the clients for one
// component of the hub ("ingest", "processor", or a hubctl command such as
// "hubctl failed list"); the component only labels what the iamrecord build
// records.
func LoadAWS(ctx context.Context, component string) (AWS, error) {
	opts := make([]func(*awsconfig.LoadOptions) error, 0, len(loadOptions))
	for _, o := range loadOptions {
		opts = append(opts, o(component))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return AWS{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return AWS{}, errors.New("no AWS region: set AWS_REGION (for example eu-west-1)")
	}
	return AWS{
		Config: cfg,
		SQS:    sqs.NewFromConfig(cfg),
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			// An endpoint of its own (AWS_ENDPOINT_URL[_DYNAMODB]) is a
			// local server, and local DynamoDB servers omit the CRC32
			// header the SDK checks (aws-sdk-go-v2#3545); AWS always sends it.
			o.DisableValidateResponseChecksum = o.BaseEndpoint != nil
		}),
	}, nil
}

// Logger returns the JSON logger of a command at LOG_LEVEL. An invalid level
// is reported on the logger and info is used, so that a typo in a
// configuration never silences it.
func Logger(w io.Writer, getenv config.Getenv) *slog.Logger {
	level, err := config.LogLevel(getenv)
	return warnLevel(logging.New(w, logging.FormatJSON, level), err)
}

// LambdaLogger is Logger for a Lambda function: CloudWatch stamps the time.
func LambdaLogger(w io.Writer, getenv config.Getenv) *slog.Logger {
	level, err := config.LogLevel(getenv)
	return warnLevel(logging.NewLambda(w, level), err)
}

func warnLevel(log *slog.Logger, err error) *slog.Logger {
	if err != nil {
		log.Warn("invalid LOG_LEVEL, using info", logging.Err(err))
	}
	return log
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

// Ingest builds the intake service.
func Ingest(a AWS, cfg config.Ingest, log *slog.Logger) (*intake.Service, error) {
	verifier, err := stripewebhook.NewVerifier(cfg.StripeSecrets, stripewebhook.DefaultTolerance)
	if err != nil {
		return nil, err
	}
	queue, err := sqsqueue.NewPublisher(a.SQS, cfg.QueueURL)
	if err != nil {
		return nil, err
	}
	return intake.New(intake.Config{Stripe: verifier, MonetbilSecret: cfg.MonetbilSecret, Queue: queue.WithMaxBytes(cfg.MaxMessageBytes), Logger: log})
}

// IngestHandler is the ingest Lambda's handler, from the environment.
func IngestHandler(ctx context.Context, getenv config.Getenv, log *slog.Logger) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
	a, err := LoadAWS(ctx, "ingest")
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadIngest(ctx, getenv, func() (secrets.ParameterStore, error) { return ssm.NewFromConfig(a.Config), nil })
	if err != nil {
		return nil, err
	}
	svc, err := Ingest(a, cfg, log)
	if err != nil {
		return nil, err
	}
	return apigateway.Handler(svc), nil
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
