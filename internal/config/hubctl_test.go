package config_test

import (
	"strings"
	"testing"

	"github.com/payments-hub/hub/internal/config"
)

func hubctlEnv(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadHubctlDefaultsAndNames(t *testing.T) {
	t.Parallel()
	h := config.LoadHubctl(hubctlEnv(nil))
	if h.Names.QueueName != "payments-hub-events" || h.Names.DLQName != "payments-hub-failed-jobs" || h.Tables().Events != "payments-hub-events" || h.Tables().Transactions != "payments-hub-transactions" || h.HubURL != "http://127.0.0.1:8080" {
		t.Fatalf("defaults %+v", h)
	}
	h = config.LoadHubctl(hubctlEnv(map[string]string{
		"QUEUE_URL": "http://sqs.us-east-1.localhost:4566/000000000000/q1", "DLQ_URL": "http://sqs.us-east-1.localhost:4566/000000000000/d1",
		"QUEUE_NAME": "ignored", "HUB_URL": "http://127.0.0.1:9090/",
	}))
	if h.Names.QueueName != "q1" || h.Names.DLQName != "d1" || h.HubURL != "http://127.0.0.1:9090" {
		t.Fatalf("names from the URLs: %+v", h)
	}
	if err := h.RequireQueues(); err != nil {
		t.Fatal(err)
	}
}

func TestEachNeedReportsItsProblemsAtOnceWithTheFix(t *testing.T) {
	t.Parallel()
	h := config.LoadHubctl(hubctlEnv(map[string]string{"BACKOFF_SECONDS": "10,x", "LOG_LEVEL": "loud"}))
	err := h.RequireQueues()
	if err == nil || !strings.Contains(err.Error(), "QUEUE_URL is not set") || !strings.Contains(err.Error(), "DLQ_URL is not set") || !strings.Contains(err.Error(), "hubctl setup") {
		t.Fatalf("RequireQueues: %v", err)
	}
	if _, err := h.StripeSecrets(); err == nil || !strings.Contains(err.Error(), "source build/dev.env") {
		t.Fatalf("StripeSecrets: %v", err)
	}
	if _, err := h.MonetbilSecret(); err == nil || !strings.Contains(err.Error(), "MONETBIL_SERVICE_SECRET") {
		t.Fatalf("MonetbilSecret: %v", err)
	}
	if _, err := h.Policy(); err == nil || !strings.Contains(err.Error(), "BACKOFF_SECONDS") {
		t.Fatalf("Policy: %v", err)
	}
	if _, err := h.LogLevel(); err == nil {
		t.Fatal("LOG_LEVEL loud accepted")
	}
	if err := h.RequireLocal(); err == nil || !strings.Contains(err.Error(), "make run") {
		t.Fatalf("RequireLocal on AWS: %v", err)
	}
}

func TestDevProcessorUsesWhatDevSetUp(t *testing.T) {
	t.Parallel()
	h := config.LoadHubctl(hubctlEnv(map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:2", "BACKOFF_SECONDS": "1,2,3"}))
	if err := h.RequireLocal(); err != nil || h.Endpoints.CloudWatchAvailable() {
		t.Fatalf("local endpoints: %v, CloudWatch %t", err, h.Endpoints.CloudWatchAvailable())
	}
	p, err := h.DevProcessor(config.DevResources{QueueURL: "http://127.0.0.1:1/000000000000/dev-q", EventsTable: "ev", TransactionsTable: "tx", MonetbilAPIURL: "http://127.0.0.1:8080/sandbox/monetbil"})
	if err != nil || p.QueueURL != "http://127.0.0.1:1/000000000000/dev-q" || p.Tables.Events != "ev" || p.MonetbilAPIURL != "http://127.0.0.1:8080/sandbox/monetbil" || p.Policy.Backoff[0].Seconds() != 1 || p.StripeLive {
		t.Fatalf("%+v %v", p, err)
	}
	if s, err := config.LoadHubctl(hubctlEnv(map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a,whsec_b"})).StripeSecrets(); err != nil || len(s) != 2 {
		t.Fatalf("rolled secrets %v %v", s, err)
	}
}
