package provision

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/store/dynamostore"
)

// Env is the environment for the functions and hubctl after Setup.
type Env struct {
	QueueURL, DLQURL string
	Tables           config.Tables
	Created          []string
}

// Lines renders env as KEY=value lines for `eval "$(hubctl setup)"`.
func (e Env) Lines() string {
	return fmt.Sprintf("%s=%s\n%s=%s\n%s=%s\n%s=%s\n",
		config.EnvQueueURL, e.QueueURL, config.EnvDLQURL, e.DLQURL,
		config.EnvEventsTable, e.Tables.Events, config.EnvTransactionsTable, e.Tables.Transactions)
}

// Setup creates, when missing, the queue, its DLQ (production settings:
// visibility 60 s, maxReceiveCount maxReceive, DLQ retention 14 days,
// RedriveAllowPolicy) and the tables, for local servers and LocalStack
// (Terraform creates the deployed ones). Running it twice changes nothing.
func Setup(ctx context.Context, sqsAPI SQSAPI, ddb dynamostore.TableAPI, n config.Names, maxReceive int) (Env, error) {
	spec := QueueSpec{Name: n.QueueName, DLQName: n.DLQName, MaxReceiveCount: maxReceive}
	spec.SetDefaults()
	q, err := Queues(ctx, sqsAPI, spec)
	if err != nil {
		return Env{}, err
	}
	if err := dynamostore.CreateTables(ctx, ddb, n.Tables.Events, n.Tables.Transactions); err != nil {
		return Env{}, err
	}
	return Env{QueueURL: q.URL, DLQURL: q.DLQURL, Tables: n.Tables, Created: q.Created}, nil
}

// CheckRedrive verifies a queue's attributes (as GetQueueAttributes returns
// them) against maxAttempts and returns its visibility timeout. The
// processor refuses to start when the queue does not dead-letter after
// exactly MAX_ATTEMPTS receives: otherwise the retry schedule and SQS would
// disagree on when an event has failed for good.
func CheckRedrive(queueURL string, attrs map[string]string, maxAttempts int) (time.Duration, error) {
	raw := attrs[attrRedrivePolicy]
	if raw == "" {
		return 0, fmt.Errorf("queue %s has no RedrivePolicy: failed events would never reach a DLQ; create the queue with `terraform apply` or `hubctl setup`", queueURL)
	}
	_, n, err := ParseRedrivePolicy(raw)
	if err != nil {
		return 0, fmt.Errorf("queue %s: %w", queueURL, err)
	}
	if n != maxAttempts {
		return 0, fmt.Errorf("queue %s dead-letters after maxReceiveCount %d receives but MAX_ATTEMPTS is %d: set MAX_ATTEMPTS=%d, or change the queue's redrive policy (terraform variable max_receive_count) to %d", queueURL, n, maxAttempts, n, maxAttempts)
	}
	secs, _ := strconv.Atoi(attrs[attrVisibilityTimeout])
	return time.Duration(secs) * time.Second, nil
}
