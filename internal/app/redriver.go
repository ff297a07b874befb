package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/payments-hub/hub/internal/autoredrive"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

// Redriver builds the automatic redrive: the DLQ, the queue, the event
// records, and Monetbil's checkPayment as the Monetbil breaker's probe.
// Callers load a with the label "redriver" wherever it runs (the
// function, hubctl work, hubctl dev): the IAM check holds it to one set.
func Redriver(a AWS, cfg config.Redriver, log *slog.Logger) (*autoredrive.Redriver, error) {
	dlq, err := sqsqueue.NewQueue(a.SQS, cfg.DLQURL)
	if err != nil {
		return nil, err
	}
	queue, err := sqsqueue.NewQueue(a.SQS, cfg.QueueURL)
	if err != nil {
		return nil, err
	}
	st, err := Store(a, cfg.Tables)
	if err != nil {
		return nil, err
	}
	checker, err := monetbil.NewClient(cfg.MonetbilAPIURL, nil)
	if err != nil {
		return nil, err
	}
	return autoredrive.New(autoredrive.Config{
		DLQ: dlq, Queue: queue, Records: st, Schedule: cfg.Schedule, Logger: log,
		Breakers: map[string]autoredrive.Breaker{envelope.ProviderMonetbil: autoredrive.MonetbilBreaker{Checker: checker}},
	})
}

// RedriverHandler is the redriver Lambda's handler, from the environment:
// whatever the payload (EventBridge Scheduler's), one pass within the
// invocation's deadline. A pass that could not do its work fails the
// invocation, which the redriver-errors alarm counts.
func RedriverHandler(ctx context.Context, getenv config.Getenv, log *slog.Logger) (func(context.Context, json.RawMessage) (autoredrive.Summary, error), error) {
	cfg, err := config.LoadRedriver(getenv)
	if err != nil {
		return nil, err
	}
	a, err := LoadAWS(ctx, "redriver")
	if err != nil {
		return nil, err
	}
	r, err := Redriver(a, cfg, log)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ json.RawMessage) (autoredrive.Summary, error) {
		sum, err := r.Pass(ctx)
		if err != nil {
			return sum, fmt.Errorf("automatic redrive pass: %w", err)
		}
		return sum, nil
	}, nil
}
