package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/app/boot"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/provision"
)

// TestTheDefaultsAreQuiet: a processor started with every default on a
// queue with the default visibility timeout logs no warning; a job timeout
// the user set past the rule (visibility timeout less 5 s) is warned about.
func TestTheDefaultsAreQuiet(t *testing.T) {
	a := app.AWS{Config: hubtest.Config(t), SQS: hubtest.SQS(t), DynamoDB: hubtest.DynamoDB(t)}
	ctx := context.Background()
	names := config.Names{QueueName: hubtest.Name("quiet"), DLQName: hubtest.Name("quiet-dlq"),
		Tables: config.Tables{Events: hubtest.Name("quiet-events"), Transactions: hubtest.Name("quiet-tx")}}
	env, err := provision.Setup(ctx, a.SQS, a.DynamoDB, names, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		jobTimeout string
		warns      bool
	}{{"", false}, {"55", false}, {"58", true}} {
		vars := map[string]string{"QUEUE_URL": env.QueueURL, "EVENTS_TABLE": env.Tables.Events, "TRANSACTIONS_TABLE": env.Tables.Transactions, "JOB_TIMEOUT_SECONDS": tc.jobTimeout}
		cfg, err := config.LoadProcessor(func(k string) string { return vars[k] })
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		if _, _, err := app.Processor(ctx, a, cfg, boot.Logger(&logs, slog.LevelInfo, nil)); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), `"level":"WARN"`); got != tc.warns {
			t.Errorf("JOB_TIMEOUT_SECONDS=%q: warned %v, want %v:\n%s", tc.jobTimeout, got, tc.warns, logs.String())
		}
	}
}
