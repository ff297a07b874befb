package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/payments-hub/hub/internal/retry"
)

// Variables only the operator CLI (hubctl, hubctl dev) reads.
const (
	EnvEndpointURLCloudWatch = "AWS_ENDPOINT_URL_CLOUDWATCH"
	EnvRegion                = "AWS_REGION"
	// EnvMetricsURL is where `hubctl status --watch` reads the local
	// metrics (default HUB_URL/metrics, where `hubctl dev` serves them).
	EnvMetricsURL = "HUB_METRICS_URL"

	// DefaultHubURL is where `hubctl dev` serves the intake.
	DefaultHubURL = "http://127.0.0.1:8080"
)

// Endpoints are the AWS endpoint overrides in force (empty: AWS itself).
type Endpoints struct {
	AWS, SQS, DynamoDB, CloudWatch, Region string
}

// Local reports whether SQS and DynamoDB both point at local servers or
// LocalStack rather than AWS.
func (e Endpoints) Local() bool { return e.AWS != "" || (e.SQS != "" && e.DynamoDB != "") }

// CloudWatchAvailable reports whether CloudWatch can answer: on AWS, or where an
// endpoint names one. Local SQS servers have none.
func (e Endpoints) CloudWatchAvailable() bool { return e.SQS == "" || e.CloudWatch != "" }

// Hubctl is what the operator CLI reads from the environment. Loading it
// never fails: each command asks for what it needs (RequireQueues,
// StripeSecrets, ...) and gets every problem of that need at once, with the
// fix, so that `hubctl send` does not demand DLQ_URL.
type Hubctl struct {
	QueueURL, DLQURL string
	// Names are the queues and tables setup and dev create (queue names
	// from QUEUE_URL / DLQ_URL when set).
	Names Names
	// HubURL is the intake `hubctl send` posts to.
	HubURL string
	// MetricsURL is where `hubctl status --watch` reads the flow on local
	// servers (HUB_METRICS_URL, default HUB_URL/metrics).
	MetricsURL string
	// MonetbilAPIURL is empty when not set: `hubctl dev` then serves its
	// local sandbox of checkPayment.
	MonetbilAPIURL string
	Endpoints      Endpoints

	stripeSecret, monetbilSecret string
	getenv                       Getenv
}

// LoadHubctl reads the operator CLI's environment.
func LoadHubctl(getenv Getenv) Hubctl {
	hubURL := strings.TrimSuffix(orDefault(getenv(EnvHubURL), DefaultHubURL), "/")
	return Hubctl{
		QueueURL:       strings.TrimSpace(getenv(EnvQueueURL)),
		DLQURL:         strings.TrimSpace(getenv(EnvDLQURL)),
		Names:          LoadNames(getenv),
		HubURL:         hubURL,
		MetricsURL:     orDefault(getenv(EnvMetricsURL), hubURL+"/metrics"),
		MonetbilAPIURL: strings.TrimSpace(getenv(EnvMonetbilAPIURL)),
		Endpoints: Endpoints{
			AWS: getenv(EnvEndpointURL), SQS: getenv(EnvEndpointURLSQS), DynamoDB: getenv(EnvEndpointURLDynamoDB),
			CloudWatch: getenv(EnvEndpointURLCloudWatch), Region: getenv(EnvRegion),
		},
		stripeSecret:   getenv(EnvStripeSecret),
		monetbilSecret: getenv(EnvMonetbilSecret),
		getenv:         getenv,
	}
}

// Tables are the tables the commands read.
func (h Hubctl) Tables() Tables { return h.Names.Tables }

const fromSetup = "(`eval \"$(hubctl setup)\"` locally, `terraform output -raw hubctl_env` on AWS)"

// RequireQueues checks the queue and DLQ URLs the failed-jobs and status
// commands act on.
func (h Hubctl) RequireQueues() error {
	var problems []error
	if h.QueueURL == "" {
		problems = append(problems, errors.New("QUEUE_URL is not set: it names the queue failed events are retried on "+fromSetup))
	} else if _, err := QueueURL(h.QueueURL); err != nil {
		problems = append(problems, err)
	}
	if h.DLQURL == "" {
		problems = append(problems, errors.New("DLQ_URL is not set: it names the dead-letter queue "+fromSetup))
	}
	return errors.Join(problems...)
}

const fromDevEnv = "source the env file 'hubctl dev' wrote (source build/dev.env)"

// StripeSecrets returns the Stripe signing secrets `hubctl send stripe`
// signs with.
func (h Hubctl) StripeSecrets() ([]string, error) {
	if strings.TrimSpace(h.stripeSecret) == "" {
		return nil, fmt.Errorf("%s is not set: %s", EnvStripeSecret, fromDevEnv)
	}
	return SplitSecrets(h.stripeSecret)
}

// MonetbilSecret returns the Monetbil service secret `hubctl send
// monetbil` signs with.
func (h Hubctl) MonetbilSecret() (string, error) {
	if h.monetbilSecret == "" {
		return "", fmt.Errorf("%s is not set: %s", EnvMonetbilSecret, fromDevEnv)
	}
	return h.monetbilSecret, nil
}

// DevSecrets returns the webhook secrets `hubctl dev` verifies with, as
// set (empty when not: dev generates them for the run).
func (h Hubctl) DevSecrets() (stripe, monetbil string) { return h.stripeSecret, h.monetbilSecret }

// LogLevel reads LOG_LEVEL (default info).
func (h Hubctl) LogLevel() (slog.Level, error) { return LogLevel(h.getenv) }

// Policy reads the retry schedule (BACKOFF_SECONDS, MAX_ATTEMPTS).
func (h Hubctl) Policy() (retry.Policy, error) { return RetryPolicy(h.getenv) }

// Processor reads the configuration `hubctl work` runs the processor with.
func (h Hubctl) Processor() (Processor, error) { return LoadProcessor(h.getenv) }

// RequireLocal checks that `hubctl dev` points at local servers or
// LocalStack: it creates resources and generates secrets, never on AWS.
func (h Hubctl) RequireLocal() error {
	if h.Endpoints.Local() {
		return nil
	}
	return errors.New("hubctl dev runs against local servers or LocalStack, not AWS: run it with `make run`, or set AWS_ENDPOINT_URL (LocalStack) or AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_DYNAMODB")
}

// DevResources are what `hubctl dev` created or found, and override the
// environment for its processor.
type DevResources struct {
	QueueURL, DLQURL, EventsTable, TransactionsTable, MonetbilAPIURL string
}

// DevProcessor reads the processor's configuration for `hubctl dev`, with
// the resources it set up in place of the environment's. STRIPE_MODE
// defaults to test there: events from `hubctl send` and the Stripe CLI are
// test-mode events.
func (h Hubctl) DevProcessor(r DevResources) (Processor, error) {
	getenv := h.overlay(r)
	return LoadProcessor(func(k string) string {
		if k == EnvStripeMode && h.getenv(EnvStripeMode) == "" {
			return "test"
		}
		return getenv(k)
	})
}

// Redriver reads the configuration of the automatic redrive `hubctl work`
// runs: the redriver function's (QUEUE_URL, DLQ_URL, the tables,
// AUTO_REDRIVE_SECONDS, MONETBIL_API_URL).
func (h Hubctl) Redriver() (Redriver, error) { return LoadRedriver(h.getenv) }

// DevRedriver reads the automatic redrive's configuration for `hubctl dev`,
// with the resources it set up in place of the environment's.
func (h Hubctl) DevRedriver(r DevResources) (Redriver, error) {
	return LoadRedriver(h.overlay(r))
}

// overlay reads the environment with the resources `hubctl dev` set up in
// place of its variables.
func (h Hubctl) overlay(r DevResources) Getenv {
	over := map[string]string{
		EnvQueueURL: r.QueueURL, EnvDLQURL: r.DLQURL, EnvEventsTable: r.EventsTable,
		EnvTransactionsTable: r.TransactionsTable, EnvMonetbilAPIURL: r.MonetbilAPIURL,
	}
	return func(k string) string {
		if v, ok := over[k]; ok {
			return v
		}
		return h.getenv(k)
	}
}

// AutoRedrive reads AUTO_REDRIVE_SECONDS (see the package function).
func (h Hubctl) AutoRedrive() ([]time.Duration, error) { return AutoRedrive(h.getenv) }
