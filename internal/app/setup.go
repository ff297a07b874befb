package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/store/dynamostore"
)

// Names are the resources `hubctl setup` creates, from the same variables
// the functions read.
type Names struct {
	QueueName, DLQName             string
	EventsTable, TransactionsTable string
}

// NamesFromEnv reads QUEUE_URL or QUEUE_NAME, DLQ_URL or DLQ_NAME, and the
// table variables, with the documented defaults.
func NamesFromEnv(getenv func(string) string) Names {
	n := Names{
		QueueName:         orDefault(getenv("QUEUE_NAME"), config.DefaultQueueName),
		DLQName:           orDefault(getenv("DLQ_NAME"), config.DefaultDLQName),
		EventsTable:       orDefault(getenv(config.EnvEventsTable), config.DefaultEventsTable),
		TransactionsTable: orDefault(getenv(config.EnvTransactionsTable), config.DefaultTransactionsTable),
	}
	if u := getenv(config.EnvQueueURL); u != "" {
		n.QueueName = provision.QueueNameFromURL(u)
	}
	if u := getenv(config.EnvDLQURL); u != "" {
		n.DLQName = provision.QueueNameFromURL(u)
	}
	return n
}

// Env is the environment for the functions and hubctl after setup.
type Env struct {
	QueueURL, DLQURL               string
	EventsTable, TransactionsTable string
	Created                        []string
}

// Lines renders env as KEY=value lines for `eval "$(hubctl setup)"`.
func (e Env) Lines() string {
	return fmt.Sprintf("%s=%s\n%s=%s\n%s=%s\n%s=%s\n",
		config.EnvQueueURL, e.QueueURL, config.EnvDLQURL, e.DLQURL,
		config.EnvEventsTable, e.EventsTable, config.EnvTransactionsTable, e.TransactionsTable)
}

// Setup creates, when missing, the queue, its DLQ (production settings:
// visibility 60 s, maxReceiveCount maxReceive, DLQ retention 14 days,
// RedriveAllowPolicy) and the tables. Running it twice changes nothing.
func Setup(ctx context.Context, a AWS, n Names, maxReceive int) (Env, error) {
	spec := provision.QueueSpec{Name: n.QueueName, DLQName: n.DLQName, MaxReceiveCount: maxReceive}
	spec.SetDefaults()
	q, err := provision.Queues(ctx, a.SQS, spec)
	if err != nil {
		return Env{}, err
	}
	if err := dynamostore.CreateTables(ctx, a.DynamoDB, n.EventsTable, n.TransactionsTable); err != nil {
		return Env{}, err
	}
	return Env{QueueURL: q.URL, DLQURL: q.DLQURL, EventsTable: n.EventsTable, TransactionsTable: n.TransactionsTable, Created: q.Created}, nil
}

func orDefault(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}
