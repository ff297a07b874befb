// Package app assembles the hub's parts from configuration: the AWS
// clients, the store, the jobs and the processor. The Lambda mains and
// hubctl share it so that every entry point is wired the same way.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store/dynamostore"
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
		return AWS{}, fmt.Errorf("no AWS region: set AWS_REGION (for example eu-west-1)")
	}
	local := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	return AWS{
		Config: cfg,
		SQS:    sqs.NewFromConfig(cfg),
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			// Local DynamoDB servers omit the CRC32 header the SDK checks
			// (aws-sdk-go-v2#3545); AWS always sends it.
			o.DisableValidateResponseChecksum = local
		}),
	}, nil
}

// Store returns the DynamoDB store.
func Store(a AWS, eventsTable, transactionsTable string) (*dynamostore.Store, error) {
	return dynamostore.New(a.DynamoDB, eventsTable, transactionsTable)
}

// Processor builds the processing core and the queue consumer. It refuses
// to start when the queue's RedrivePolicy does not dead-letter after exactly
// MAX_ATTEMPTS receives: otherwise the retry schedule and SQS would disagree
// on when an event has failed for good.
func Processor(ctx context.Context, a AWS, cfg config.Processor, log *slog.Logger) (*processing.Processor, *sqsqueue.Consumer, error) {
	consumer, err := sqsqueue.NewConsumer(a.SQS, cfg.QueueURL)
	if err != nil {
		return nil, nil, err
	}
	vt, err := CheckRedrive(ctx, consumer, cfg.Policy.MaxAttempts)
	if err != nil {
		return nil, nil, err
	}
	if vt > 0 && cfg.JobTimeout > vt-4*time.Second {
		log.Warn("JOB_TIMEOUT_SECONDS is close to the queue's visibility timeout: jobs are cut at visibility - 3 s so a crashed attempt's message is never redelivered while its claim holds",
			"job_timeout", cfg.JobTimeout.String(), "visibility_timeout", vt.String())
	}
	st, err := Store(a, cfg.EventsTable, cfg.TransactionsTable)
	if err != nil {
		return nil, nil, err
	}
	checker, err := monetbil.NewClient(cfg.MonetbilAPIURL, nil)
	if err != nil {
		return nil, nil, err
	}
	p, err := processing.New(processing.Config{
		Store:      st,
		Visibility: consumer,
		Jobs: map[string]processing.Job{
			envelope.ProviderStripe:   jobs.Stripe{},
			envelope.ProviderMonetbil: jobs.Monetbil{Checker: checker, AllowTestMode: cfg.MonetbilTestMode},
		},
		Policy:            cfg.Policy,
		JobTimeout:        cfg.JobTimeout,
		VisibilityTimeout: vt,
		Logger:            log,
	})
	if err != nil {
		return nil, nil, err
	}
	return p, consumer, nil
}

// CheckRedrive verifies the queue's RedrivePolicy against maxAttempts and
// returns the queue's visibility timeout.
func CheckRedrive(ctx context.Context, c *sqsqueue.Consumer, maxAttempts int) (time.Duration, error) {
	attrs, err := c.Attributes(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the queue's RedrivePolicy (%s): %w", c.URL(), err)
	}
	raw := attrs["RedrivePolicy"]
	if raw == "" {
		return 0, fmt.Errorf("queue %s has no RedrivePolicy: failed events would never reach a DLQ; create the queue with `terraform apply` or `hubctl setup`", c.URL())
	}
	_, n, err := provision.ParseRedrivePolicy(raw)
	if err != nil {
		return 0, fmt.Errorf("queue %s: %w", c.URL(), err)
	}
	if n != maxAttempts {
		return 0, fmt.Errorf("queue %s dead-letters after maxReceiveCount %d receives but MAX_ATTEMPTS is %d: set MAX_ATTEMPTS=%d, or change the queue's redrive policy (terraform variable max_receive_count) to %d", c.URL(), n, maxAttempts, n, maxAttempts)
	}
	secs, _ := strconv.Atoi(attrs["VisibilityTimeout"])
	return time.Duration(secs) * time.Second, nil
}
