package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/retry"
)

// Variables of the processor, the worker and hubctl.
const (
	EnvDLQURL            = "DLQ_URL"
	EnvEventsTable       = "EVENTS_TABLE"
	EnvTransactionsTable = "TRANSACTIONS_TABLE"
	EnvBackoffSeconds    = "BACKOFF_SECONDS"
	EnvMaxAttempts       = "MAX_ATTEMPTS"
	EnvJobTimeout        = "JOB_TIMEOUT_SECONDS"
	EnvMonetbilAPIURL    = "MONETBIL_API_URL"
	EnvMonetbilTestMode  = "MONETBIL_ALLOW_TESTMODE"
	EnvBatchConcurrency  = "BATCH_CONCURRENCY"
)

// Defaults shared with Terraform and `hubctl setup`.
const (
	DefaultQueueName         = "payments-hub-events"
	DefaultDLQName           = "payments-hub-failed-jobs"
	DefaultEventsTable       = "payments-hub-events"
	DefaultTransactionsTable = "payments-hub-transactions"
	DefaultMonetbilAPIURL    = monetbil.DefaultAPIURL
)

// Processor is the processing consumer's configuration.
type Processor struct {
	QueueURL          string
	EventsTable       string
	TransactionsTable string
	Policy            retry.Policy
	JobTimeout        time.Duration
	MonetbilAPIURL    string
	MonetbilTestMode  bool
	// BatchConcurrency bounds the records of one Lambda batch processed at
	// once (default 10, the mapping's default batch size).
	BatchConcurrency int
}

// LoadProcessor reads and validates the processor's configuration.
func LoadProcessor(getenv func(string) string) (Processor, error) {
	var problems []string
	p := Processor{
		EventsTable:       orDefault(getenv(EnvEventsTable), DefaultEventsTable),
		TransactionsTable: orDefault(getenv(EnvTransactionsTable), DefaultTransactionsTable),
		MonetbilAPIURL:    orDefault(getenv(EnvMonetbilAPIURL), DefaultMonetbilAPIURL),
		JobTimeout:        60 * time.Second,
		BatchConcurrency:  10,
	}
	var err error
	if p.QueueURL, err = QueueURL(getenv(EnvQueueURL)); err != nil {
		problems = append(problems, err.Error())
	}
	if p.Policy, err = retry.Parse(getenv(EnvBackoffSeconds), getenv(EnvMaxAttempts)); err != nil {
		problems = append(problems, err.Error())
	}
	if s := strings.TrimSpace(getenv(EnvJobTimeout)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 900 {
			problems = append(problems, fmt.Sprintf("%s %q must be a whole number of seconds between 1 and 900 (default 60)", EnvJobTimeout, s))
		} else {
			p.JobTimeout = time.Duration(n) * time.Second
		}
	}
	if u, err := url.Parse(p.MonetbilAPIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("%s %q is not an http(s) URL (default %s)", EnvMonetbilAPIURL, p.MonetbilAPIURL, DefaultMonetbilAPIURL))
	}
	if s := strings.TrimSpace(getenv(EnvMonetbilTestMode)); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %q must be true or false", EnvMonetbilTestMode, s))
		}
		p.MonetbilTestMode = b
	}
	if s := strings.TrimSpace(getenv(EnvBatchConcurrency)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			problems = append(problems, fmt.Sprintf("%s %q must be between 1 and 100 (default 10)", EnvBatchConcurrency, s))
		} else {
			p.BatchConcurrency = n
		}
	}
	if len(problems) > 0 {
		return Processor{}, fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
	}
	return p, nil
}

func orDefault(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}
