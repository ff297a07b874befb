// Package config reads and validates the hub's configuration from the
// environment at start-up. It is the only package that reads the
// environment or writes fix-it instructions about it: the others take
// values. Every problem is reported at once (errors.Join), each with what to
// set, so that a misconfigured function fails its cold start loudly instead
// of failing webhooks one by one.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Environment variable names shared by the functions, hubctl and Terraform.
const (
	EnvQueueURL            = "QUEUE_URL"
	EnvDLQURL              = "DLQ_URL"
	EnvQueueName           = "QUEUE_NAME"
	EnvDLQName             = "DLQ_NAME"
	EnvEventsTable         = "EVENTS_TABLE"
	EnvTransactionsTable   = "TRANSACTIONS_TABLE"
	EnvStripeSecret        = "STRIPE_WEBHOOK_SECRET"
	EnvStripeSecretParam   = "STRIPE_WEBHOOK_SECRET_PARAM"
	EnvMonetbilSecret      = "MONETBIL_SERVICE_SECRET"
	EnvMonetbilSecretParam = "MONETBIL_SERVICE_SECRET_PARAM"
	EnvMaxMessageBytes     = "MAX_MESSAGE_BYTES"
	EnvBackoffSeconds      = "BACKOFF_SECONDS"
	EnvMaxAttempts         = "MAX_ATTEMPTS"
	EnvJobTimeout          = "JOB_TIMEOUT_SECONDS"
	EnvBatchConcurrency    = "BATCH_CONCURRENCY"
	EnvMonetbilAPIURL      = "MONETBIL_API_URL"
	EnvMonetbilTestMode    = "MONETBIL_ALLOW_TESTMODE"
	EnvStripeMode          = "STRIPE_MODE"
	EnvRequireExpected     = "REQUIRE_EXPECTED_TRANSACTIONS"
	EnvLogLevel            = "LOG_LEVEL"
	EnvEndpointURL         = "AWS_ENDPOINT_URL"
	EnvEndpointURLSQS      = "AWS_ENDPOINT_URL_SQS"
	EnvEndpointURLDynamoDB = "AWS_ENDPOINT_URL_DYNAMODB"
	EnvHubURL              = "HUB_URL"
)

// Defaults shared with Terraform and `hubctl setup`.
const (
	DefaultQueueName         = "payments-hub-events"
	DefaultDLQName           = "payments-hub-failed-jobs"
	DefaultEventsTable       = "payments-hub-events"
	DefaultTransactionsTable = "payments-hub-transactions"
	DefaultMonetbilAPIURL    = "https://api.monetbil.com"
)

// Getenv reads one variable (os.Getenv, or a map in tests).
type Getenv func(string) string

// problems collects what is wrong with a configuration.
type problems []error

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }
func (p *problems) addErr(err error) {
	if err != nil {
		*p = append(*p, err)
	}
}

// err joins the problems under one heading, or is nil.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration: %w", errors.Join(p...))
}

func orDefault(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}

// QueueURL validates a queue URL.
func QueueURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("QUEUE_URL is not set: set it to the SQS queue URL (`terraform output -raw queue_url`, or `eval \"$(hubctl setup)\"` locally)")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return "", fmt.Errorf("QUEUE_URL %q is not a queue URL such as https://sqs.eu-west-1.amazonaws.com/123456789012/payments-hub-events", raw)
	}
	return raw, nil
}

// SplitSecrets splits STRIPE_WEBHOOK_SECRET: one secret, or several
// separated by commas while a secret is being rolled.
func SplitSecrets(raw string) ([]string, error) {
	var out []string
	for i, s := range strings.Split(raw, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, fmt.Errorf("%s: entry %d is empty (separate secrets with single commas)", EnvStripeSecret, i+1)
		}
		out = append(out, s)
	}
	return out, nil
}

// boolVar reads a true/false variable.
func boolVar(getenv Getenv, name string, def bool, p *problems) bool {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.add("%s %q must be true or false (default %v)", name, s, def)
		return def
	}
	return b
}

// intVar reads a whole number within [lo, hi]; set says whether it was given.
func intVar(getenv Getenv, name string, def, lo, hi int, unit string, p *problems) (n int, set bool) {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return def, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		p.add("%s %q must be a whole number%s between %d and %d (default %d)", name, s, unit, lo, hi, def)
		return def, false
	}
	return n, true
}

// seconds turns a whole number of seconds into a duration.
func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// LogLevel reads LOG_LEVEL (debug, info, warn, error; default info).
func LogLevel(getenv Getenv) (slog.Level, error) {
	var l slog.Level
	s := strings.TrimSpace(getenv(EnvLogLevel))
	if s == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo, fmt.Errorf("%s %q is not one of debug, info, warn, error", EnvLogLevel, s)
	}
	return l, nil
}
