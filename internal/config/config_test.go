package config_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/secrets"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// parameters is an in-memory Parameter Store for the configuration's unit
// tests (SSM is not part of the local stack).
type parameters map[string]string

func (p parameters) GetParameters(_ context.Context, in *ssm.GetParametersInput, _ ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	if !aws.ToBool(in.WithDecryption) {
		return nil, errors.New("SecureString read without decryption")
	}
	out := &ssm.GetParametersOutput{}
	for _, n := range in.Names {
		if v, ok := p[n]; ok {
			out.Parameters = append(out.Parameters, ssmtypes.Parameter{Name: aws.String(n), Value: aws.String(v)})
		} else {
			out.InvalidParameters = append(out.InvalidParameters, n)
		}
	}
	return out, nil
}

func noStore() (secrets.ParameterStore, error) { return nil, errors.New("SSM must not be called") }

func TestLoadIngest(t *testing.T) {
	t.Parallel()
	cfg, err := config.LoadIngest(context.Background(), env(map[string]string{
		"QUEUE_URL": "http://127.0.0.1:4566/000000000000/q", "STRIPE_WEBHOOK_SECRET": "whsec_new, whsec_old", "MONETBIL_SERVICE_SECRET": "mb",
	}), noStore)
	if err != nil || len(cfg.StripeSecrets) != 2 || cfg.StripeSecrets[1] != "whsec_old" || cfg.MonetbilSecret != "mb" {
		t.Fatalf("LoadIngest = %+v, %v", cfg, err)
	}

	calls := 0
	store := func() (secrets.ParameterStore, error) {
		calls++
		return parameters{"/hub/stripe": "whsec_ssm", "/hub/monetbil": "mb_ssm"}, nil
	}
	cfg, err = config.LoadIngest(context.Background(), env(map[string]string{
		"QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/q", "STRIPE_WEBHOOK_SECRET_PARAM": "/hub/stripe", "MONETBIL_SERVICE_SECRET_PARAM": "/hub/monetbil",
	}), store)
	if err != nil || cfg.StripeSecrets[0] != "whsec_ssm" || cfg.MonetbilSecret != "mb_ssm" || calls != 1 {
		t.Fatalf("from SSM: %+v, %v, %d calls", cfg, err, calls)
	}
}

func TestLoadIngestReportsEveryProblemWithItsFix(t *testing.T) {
	t.Parallel()
	_, err := config.LoadIngest(context.Background(), env(map[string]string{
		"QUEUE_URL": "not a url", "STRIPE_WEBHOOK_SECRET": "a", "STRIPE_WEBHOOK_SECRET_PARAM": "/x",
	}), noStore)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"QUEUE_URL", "both STRIPE_WEBHOOK_SECRET and STRIPE_WEBHOOK_SECRET_PARAM", "MONETBIL_SERVICE_SECRET is not set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "a,") {
		t.Errorf("error quotes a secret: %v", err)
	}
	_, err = config.LoadIngest(context.Background(), env(map[string]string{"QUEUE_URL": "https://q/1/q", "STRIPE_WEBHOOK_SECRET_PARAM": "/missing", "MONETBIL_SERVICE_SECRET": "m"}),
		func() (secrets.ParameterStore, error) { return parameters{}, nil })
	if err == nil || !strings.Contains(err.Error(), "/missing") {
		t.Fatalf("missing parameter: %v", err)
	}
	_, err = config.LoadIngest(context.Background(), env(map[string]string{"QUEUE_URL": "https://q/1/q", "STRIPE_WEBHOOK_SECRET": "a,,b", "MONETBIL_SERVICE_SECRET": "m"}), noStore)
	if err == nil || !strings.Contains(err.Error(), "entry 2 is empty") {
		t.Fatalf("empty rolled secret: %v", err)
	}
}

func TestLoadProcessor(t *testing.T) {
	t.Parallel()
	cfg, err := config.LoadProcessor(env(map[string]string{"QUEUE_URL": "http://127.0.0.1:1/000000000000/q"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Policy.MaxAttempts != 3 || cfg.Policy.Delay(2) != 30*time.Second || cfg.JobTimeout != 55*time.Second || cfg.JobTimeoutSet ||
		cfg.Tables.Events != "payments-hub-events" || cfg.Tables.Transactions != "payments-hub-transactions" || cfg.MonetbilAPIURL != "https://api.monetbil.com" ||
		cfg.MonetbilTestMode || !cfg.StripeLive || cfg.RequireExpected || cfg.BatchConcurrency != 10 {
		t.Fatalf("defaults: %+v", cfg)
	}
	cfg, err = config.LoadProcessor(env(map[string]string{"QUEUE_URL": "http://127.0.0.1:1/000000000000/q", "JOB_TIMEOUT_SECONDS": "20",
		"STRIPE_MODE": "TEST", "REQUIRE_EXPECTED_TRANSACTIONS": "true", "MONETBIL_API_URL": "http://127.0.0.1:9/sandbox", "BACKOFF_SECONDS": "1, 2,3"}))
	if err != nil || cfg.JobTimeout != 20*time.Second || !cfg.JobTimeoutSet || cfg.StripeLive || !cfg.RequireExpected || cfg.Policy.Delay(2) != 2*time.Second {
		t.Fatalf("settings: %+v, %v", cfg, err)
	}
	_, err = config.LoadProcessor(env(map[string]string{"JOB_TIMEOUT_SECONDS": "0", "MONETBIL_API_URL": "ftp://x", "MONETBIL_ALLOW_TESTMODE": "maybe",
		"MAX_ATTEMPTS": "x", "STRIPE_MODE": "sandbox", "REQUIRE_EXPECTED_TRANSACTIONS": "yes please"}))
	for _, want := range []string{"QUEUE_URL", "JOB_TIMEOUT_SECONDS", "MONETBIL_API_URL", "MONETBIL_ALLOW_TESTMODE", "MAX_ATTEMPTS", "STRIPE_MODE", "REQUIRE_EXPECTED_TRANSACTIONS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	// Plain http to Monetbil only on loopback.
	if _, err := config.LoadProcessor(env(map[string]string{"QUEUE_URL": "http://127.0.0.1:1/000000000000/q", "MONETBIL_API_URL": "http://api.monetbil.com"})); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("plain http to a remote checkPayment: %v", err)
	}
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	p, err := config.RetryPolicy(env(map[string]string{"BACKOFF_SECONDS": "0.5"}))
	if err != nil || p.Delay(5) != 500*time.Millisecond || p.MaxAttempts != 3 {
		t.Fatalf("short schedule: %+v %v", p, err)
	}
	for _, bad := range [][2]string{{"10,x", ""}, {"-1", ""}, {"", "0"}, {"", "three"}, {"50000", ""}, {",", ""}} {
		_, err := config.RetryPolicy(env(map[string]string{"BACKOFF_SECONDS": bad[0], "MAX_ATTEMPTS": bad[1]}))
		if err == nil || (!strings.Contains(err.Error(), "BACKOFF_SECONDS") && !strings.Contains(err.Error(), "MAX_ATTEMPTS")) {
			t.Errorf("RetryPolicy(%q, %q): %v, want an error naming the variable", bad[0], bad[1], err)
		}
	}
}

func TestLoadNames(t *testing.T) {
	t.Parallel()
	n := config.LoadNames(env(map[string]string{"QUEUE_URL": "http://127.0.0.1:1/000000000000/my-events", "DLQ_NAME": "my-dlq", "EVENTS_TABLE": "ev"}))
	if n.QueueName != "my-events" || n.DLQName != "my-dlq" || n.Tables.Events != "ev" || n.Tables.Transactions != "payments-hub-transactions" {
		t.Errorf("LoadNames = %+v", n)
	}
}

func TestSecretsAreTrimmed(t *testing.T) {
	t.Parallel()
	cfg, err := config.LoadIngest(context.Background(), env(map[string]string{
		"QUEUE_URL": "https://q/1/q", "STRIPE_WEBHOOK_SECRET": " whsec_a \n", "MONETBIL_SERVICE_SECRET": "  mb_secret\n",
	}), noStore)
	if err != nil || cfg.MonetbilSecret != "mb_secret" || cfg.StripeSecrets[0] != "whsec_a" {
		t.Fatalf("LoadIngest = %+v, %v", cfg, err)
	}
}

func TestAutoRedrive(t *testing.T) {
	t.Parallel()
	for value, want := range map[string][]time.Duration{
		"":       config.DefaultAutoRedrive,
		"off":    nil,
		"None":   nil,
		"2, 4,8": {2 * time.Second, 4 * time.Second, 8 * time.Second},
		"0.5":    {500 * time.Millisecond},
	} {
		got, err := config.AutoRedrive(env(map[string]string{"AUTO_REDRIVE_SECONDS": value}))
		if err != nil || len(got) != len(want) {
			t.Errorf("%q: %v, %v; want %v", value, got, err, want)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%q: %v, want %v", value, got, want)
			}
		}
	}
	for _, bad := range []string{"5,x", "0", "-1", "2000000"} {
		if _, err := config.AutoRedrive(env(map[string]string{"AUTO_REDRIVE_SECONDS": bad})); err == nil || !strings.Contains(err.Error(), "AUTO_REDRIVE_SECONDS") {
			t.Errorf("%q: %v, want an error naming the variable", bad, err)
		}
	}
	if _, err := config.LoadRedriver(env(map[string]string{"QUEUE_URL": "https://q/1/q"})); err == nil || !strings.Contains(err.Error(), "DLQ_URL") {
		t.Errorf("LoadRedriver without DLQ_URL: %v", err)
	}
}
