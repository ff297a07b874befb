// Package config reads and validates the hub's configuration from the
// environment at start-up. Every problem is reported at once, each with what
// to set, so that a misconfigured function fails its cold start loudly
// instead of failing webhooks one by one.
package config

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/payments-hub/hub/internal/secrets"
)

// Environment variable names shared by the functions, hubctl and Terraform.
const (
	EnvQueueURL            = "QUEUE_URL"
	EnvStripeSecret        = "STRIPE_WEBHOOK_SECRET"
	EnvStripeSecretParam   = "STRIPE_WEBHOOK_SECRET_PARAM"
	EnvMonetbilSecret      = "MONETBIL_SERVICE_SECRET"
	EnvMonetbilSecretParam = "MONETBIL_SERVICE_SECRET_PARAM"
)

// EnvMaxMessageBytes is the queue's MaximumMessageSize, so that the intake
// refuses with 413 what the queue could never hold.
const EnvMaxMessageBytes = "MAX_MESSAGE_BYTES"

// Ingest is the ingest function's configuration.
type Ingest struct {
	QueueURL        string
	StripeSecrets   []string
	MonetbilSecret  string
	MaxMessageBytes int
}

// LoadIngest reads the ingest configuration. Secrets come from the
// environment or from SSM parameters named by the *_PARAM variables; store
// is only called when a parameter is named.
func LoadIngest(ctx context.Context, getenv func(string) string, store func() (secrets.ParameterStore, error)) (Ingest, error) {
	var problems []string
	queueURL, err := QueueURL(getenv(EnvQueueURL))
	if err != nil {
		problems = append(problems, err.Error())
	}
	vals, err := secrets.Resolve(ctx, getenv, store,
		secrets.Spec{Var: EnvStripeSecret, ParamVar: EnvStripeSecretParam},
		secrets.Spec{Var: EnvMonetbilSecret, ParamVar: EnvMonetbilSecretParam},
	)
	if err != nil {
		problems = append(problems, err.Error())
	}
	var stripeSecrets []string
	if err == nil {
		stripeSecrets, err = SplitSecrets(vals[EnvStripeSecret])
		if err != nil {
			problems = append(problems, err.Error())
		}
	}
	maxBytes := 1 << 20
	if s := strings.TrimSpace(getenv(EnvMaxMessageBytes)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1024 || n > 1<<20 {
			problems = append(problems, fmt.Sprintf("%s %q must be the queue's maximum message size, 1024..1048576 (default 1048576)", EnvMaxMessageBytes, s))
		} else {
			maxBytes = n
		}
	}
	if len(problems) > 0 {
		return Ingest{}, fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
	}
	return Ingest{QueueURL: queueURL, StripeSecrets: stripeSecrets, MonetbilSecret: vals[EnvMonetbilSecret], MaxMessageBytes: maxBytes}, nil
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
			return nil, fmt.Errorf("STRIPE_WEBHOOK_SECRET: entry %d is empty (separate secrets with single commas)", i+1)
		}
		out = append(out, s)
	}
	return out, nil
}
