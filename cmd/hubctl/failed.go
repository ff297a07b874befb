package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/failedjobs"
	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

func newFailedCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := group(&cobra.Command{
		Use:   "failed",
		Short: "the failed events in the DLQ: list, retry (by id, filter or all), moves, forget, flush",
		Long: `The dead-letter queue (DLQ_URL) holds the events that failed for good: an
event lands there after MAX_ATTEMPTS failed attempts, or at once when the
failure is permanent. Each row joins the DLQ message with the failure record
the processor wrote (attempts, time and error) and shows its automatic
redrive rounds (AUTO_REDRIVE_SECONDS): transient failures go back to the
queue by themselves after 5 min, 30 min and 2 h in the DLQ, unless the
provider's dependency still fails.

SQS cannot browse a queue: list, retry ID and forget read the DLQ by
receiving its messages, which raises each message's receive count by one and
hides it while it is read; each is made visible again as soon as the command
is done with it. A read stops at the end of the DLQ, when messages come round
again, or after a time budget, and says so. "hubctl status" counts messages
without touching them.

Whatever path brings an event back, it is processed once: events are
deduplicated by their provider event key, not by message id.`,
		Example: `  hubctl failed list
  hubctl failed list --provider monetbil --error-type transient --since 2h
  hubctl failed retry --provider monetbil --error-type transient --dry-run
  hubctl failed retry 8d3c6f3e-5a4b-4c2d-9e1f-0a1b2c3d4e5f
  hubctl failed retry --all --rate 50
  hubctl failed forget 8d3c6f3e-5a4b-4c2d-9e1f-0a1b2c3d4e5f
  hubctl failed flush --force`,
	},
		newFailedListCmd(c, &asJSON),
		newFailedRetryCmd(c, &asJSON),
		newFailedMovesCmd(c, &asJSON),
		newFailedForgetCmd(c, &asJSON),
		newFailedFlushCmd(c, &asJSON),
	)
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON (lists as arrays)")
	cmd.PersistentFlags().DurationVar(&c.scanHide, "hide", failedjobs.DefaultHide, "how long reading the DLQ hides each message it reads: what a killed hubctl, or a receive whose answer was lost, leaves hidden (at least 10s)")
	return cmd
}

// failedService wires the failed jobs for the command labelled cmd (the
// label names the AWS calls it makes).
func failedService(ctx context.Context, c *cli, cmd *cobra.Command) (*failedjobs.Service, error) {
	if err := c.env.RequireQueues(); err != nil {
		return nil, usagef("%v", err)
	}
	if c.scanHide < 10*time.Second {
		return nil, usagef("--hide must be at least 10s")
	}
	rounds, err := c.env.AutoRedrive()
	if err != nil {
		return nil, usagef("%v", err)
	}
	a, err := app.LoadAWS(ctx, cmd.CommandPath())
	if err != nil {
		return nil, err
	}
	st, err := app.Store(a, c.env.Tables())
	if err != nil {
		return nil, err
	}
	dlq, err := sqsqueue.NewQueue(a.SQS, c.env.DLQURL)
	if err != nil {
		return nil, err
	}
	source, err := sqsqueue.NewQueue(a.SQS, c.env.QueueURL)
	if err != nil {
		return nil, err
	}
	// Only warnings (a message left hidden, a record not updated), and on
	// stderr: stdout carries the answer, --json included.
	return failedjobs.New(failedjobs.Config{DLQ: dlq, Source: source, Records: st, Rounds: rounds, Hide: c.scanHide, Budget: min(failedjobs.DefaultBudget, c.scanHide*4/5), Logger: logging.New(c.stderr, logging.FormatText, slog.LevelWarn)})
}

// scanProgress renders a scan's progress on the terminal.
func scanProgress(p *progressLine, verb string) func(failedjobs.Progress) {
	return func(pr failedjobs.Progress) {
		if pr.Joined > 0 {
			p.show("%s: %d messages read, %d joined with their failure records", verb, pr.Read, pr.Joined)
			return
		}
		p.show("%s: %d messages read from the DLQ", verb, pr.Read)
	}
}
