package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/retry"
)

// Processor is the processing consumer's configuration (the processor
// Lambda, `hubctl work` and `hubctl dev`).
type Processor struct {
	QueueURL   string
	Tables     Tables
	Policy     retry.Policy
	JobTimeout time.Duration
	// JobTimeoutSet says JOB_TIMEOUT_SECONDS was given: only then is a
	// value that breaks the rule against the visibility timeout worth a
	// warning (the default keeps it).
	JobTimeoutSet    bool
	MonetbilAPIURL   string
	MonetbilTestMode bool
	// BatchConcurrency bounds the records of one Lambda batch processed at
	// once (default 10, the mapping's default batch size).
	BatchConcurrency int
	// StripeLive: only live-mode Stripe events apply (STRIPE_MODE=live,
	// the default); false: only test-mode ones.
	StripeLive bool
	// RequireExpected: only transactions announced with `hubctl
	// transactions expect` change (REQUIRE_EXPECTED_TRANSACTIONS).
	RequireExpected bool
}

// LoadProcessor reads and validates the processor's configuration.
func LoadProcessor(getenv Getenv) (Processor, error) {
	var p problems
	c := Processor{
		Tables:           LoadTables(getenv),
		MonetbilAPIURL:   orDefault(getenv(EnvMonetbilAPIURL), DefaultMonetbilAPIURL),
		MonetbilTestMode: boolVar(getenv, EnvMonetbilTestMode, false, &p),
		RequireExpected:  boolVar(getenv, EnvRequireExpected, false, &p),
	}
	var err error
	c.QueueURL, err = QueueURL(getenv(EnvQueueURL))
	p.addErr(err)
	c.Policy, err = RetryPolicy(getenv)
	p.addErr(err)
	timeout, set := intVar(getenv, EnvJobTimeout, int(processing.DefaultJobTimeout/time.Second), 1, 900, " of seconds", &p)
	c.JobTimeout, c.JobTimeoutSet = seconds(timeout), set
	c.BatchConcurrency, _ = intVar(getenv, EnvBatchConcurrency, 10, 1, 100, "", &p)
	p.addErr(checkMonetbilURL(c.MonetbilAPIURL))
	switch mode := strings.ToLower(orDefault(getenv(EnvStripeMode), "live")); mode {
	case "live", "test":
		c.StripeLive = mode == "live"
	default:
		p.add("%s %q must be live or test (default live): the Stripe mode whose events apply; events of the other mode are recorded as livemode_mismatch", EnvStripeMode, getenv(EnvStripeMode))
	}
	if err := p.err(); err != nil {
		return Processor{}, err
	}
	return c, nil
}

func checkMonetbilURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return fmt.Errorf("%s %q is not a URL (default %s)", EnvMonetbilAPIURL, raw, DefaultMonetbilAPIURL)
	case u.Scheme == "https", u.Scheme == "http" && monetbil.IsLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%s %q must be https (plain http only on a loopback address, for a local sandbox; default %s)", EnvMonetbilAPIURL, raw, DefaultMonetbilAPIURL)
}

// RetryPolicy reads BACKOFF_SECONDS (comma-separated seconds, the delay
// after attempt n is entry n; default 10,30,60) and MAX_ATTEMPTS (default
// 3, the queue's maxReceiveCount).
func RetryPolicy(getenv Getenv) (retry.Policy, error) {
	policy := retry.Default()
	if s := strings.TrimSpace(getenv(EnvBackoffSeconds)); s != "" {
		policy.Backoff = nil
		for i, part := range strings.Split(s, ",") {
			n, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
			if err != nil || n < 0 {
				return retry.Policy{}, fmt.Errorf("%s %q: entry %d is not a number of seconds >= 0 (example: 10,30,60)", EnvBackoffSeconds, s, i+1)
			}
			policy.Backoff = append(policy.Backoff, time.Duration(n*float64(time.Second)))
		}
	}
	if s := strings.TrimSpace(getenv(EnvMaxAttempts)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return retry.Policy{}, fmt.Errorf("%s %q is not a whole number (example: 3)", EnvMaxAttempts, s)
		}
		policy.MaxAttempts = n
	}
	if err := policy.Validate(); err != nil {
		return retry.Policy{}, fmt.Errorf("%s / %s: %w", EnvBackoffSeconds, EnvMaxAttempts, err)
	}
	return policy, nil
}

// Tables are the DynamoDB tables the hub uses.
type Tables struct {
	Events, Transactions string
}

// LoadTables reads EVENTS_TABLE and TRANSACTIONS_TABLE, with the defaults.
func LoadTables(getenv Getenv) Tables {
	return Tables{
		Events:       orDefault(getenv(EnvEventsTable), DefaultEventsTable),
		Transactions: orDefault(getenv(EnvTransactionsTable), DefaultTransactionsTable),
	}
}

// EnvAutoRedrive names the automatic redrive schedule.
const EnvAutoRedrive = "AUTO_REDRIVE_SECONDS"

// DefaultAutoRedrive: three more rounds of MAX_ATTEMPTS attempts, after 5
// minutes, 30 minutes and 2 hours in the DLQ.
var DefaultAutoRedrive = []time.Duration{5 * time.Minute, 30 * time.Minute, 2 * time.Hour}

// AutoRedrive reads AUTO_REDRIVE_SECONDS: comma-separated seconds, round n
// is due that long after the event last reached the DLQ. Unset: the
// default; "off" (or "none"): no automatic redrive.
func AutoRedrive(getenv Getenv) ([]time.Duration, error) {
	s := strings.TrimSpace(getenv(EnvAutoRedrive))
	switch strings.ToLower(s) {
	case "":
		return DefaultAutoRedrive, nil
	case "off", "none":
		return nil, nil
	}
	var out []time.Duration
	for i, part := range strings.Split(s, ",") {
		n, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || n <= 0 || n > 14*24*3600 {
			return nil, fmt.Errorf("%s %q: entry %d is not a number of seconds between 0 and 14 days, the DLQ's retention (example: 300,1800,7200; off disables)", EnvAutoRedrive, s, i+1)
		}
		out = append(out, time.Duration(n*float64(time.Second)))
	}
	return out, nil
}

// Redriver is the automatic redrive's configuration (the redriver function,
// and the pass `hubctl work` and `hubctl dev` run).
type Redriver struct {
	QueueURL, DLQURL string
	Tables           Tables
	Schedule         []time.Duration
	MonetbilAPIURL   string
}

// LoadRedriver reads and validates the redriver's configuration.
func LoadRedriver(getenv Getenv) (Redriver, error) {
	var p problems
	r := Redriver{Tables: LoadTables(getenv), MonetbilAPIURL: orDefault(getenv(EnvMonetbilAPIURL), DefaultMonetbilAPIURL)}
	var err error
	r.QueueURL, err = QueueURL(getenv(EnvQueueURL))
	p.addErr(err)
	if r.DLQURL = strings.TrimSpace(getenv(EnvDLQURL)); r.DLQURL == "" {
		p.add("%s is not set: set it to the dead-letter queue's URL (`terraform output -raw dlq_url`, or `eval \"$(hubctl setup)\"` locally)", EnvDLQURL)
	}
	r.Schedule, err = AutoRedrive(getenv)
	p.addErr(err)
	p.addErr(checkMonetbilURL(r.MonetbilAPIURL))
	if err := p.err(); err != nil {
		return Redriver{}, err
	}
	return r, nil
}
