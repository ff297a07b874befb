package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/worker"
)

func newWorkCmd(c *cli) *cobra.Command {
	var o worker.Config
	cmd := &cobra.Command{
		Use:   "work",
		Short: "process the queue: long polling, retries on the schedule, DLQ",
		Long: `Processes events from QUEUE_URL, as the processor Lambda does (same core, same
retry schedule). A failed attempt n is retried after BACKOFF_SECONDS[n-1]
(default 10,30,60); after MAX_ATTEMPTS (default 3) the queue's redrive moves
the event to the DLQ.

SIGINT or SIGTERM stops receiving (a receive in flight is let finish and what
it returns made visible again), lets running jobs finish within
JOB_TIMEOUT_SECONDS, and makes messages not yet started visible again.

Logs are JSON lines on stdout (LOG_LEVEL: debug, info, warn, error).`,
		Example: `  eval "$(hubctl setup)"; hubctl work --concurrency 4
  hubctl work --once --wait 5s`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Concurrency < 1 || o.Concurrency > 100 {
				return usagef("--concurrency must be between 1 and 100")
			}
			if o.Wait < time.Second || o.Wait > 20*time.Second {
				return usagef("--wait must be between 1s and 20s")
			}
			return runWork(cmd, c, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Concurrency, "concurrency", 2, "jobs run at once")
	f.DurationVar(&o.MaxTime, "max-time", 0, "stop after this long, e.g. 1h (0: run until stopped)")
	f.BoolVar(&o.Once, "once", false, "process what one receive returns, then exit")
	f.DurationVar(&o.Wait, "wait", 20*time.Second, "long-polling wait per receive (1s..20s)")
	return cmd
}

func runWork(cmd *cobra.Command, c *cli, o worker.Config) error {
	ctx := cmd.Context()
	cfg, err := c.env.Processor()
	if err != nil {
		return usagef("%v", err)
	}
	level, levelErr := c.env.LogLevel()
	log := logging.New(c.stdout, logging.FormatJSON, level)
	if levelErr != nil {
		// A typo in LOG_LEVEL must not silence the worker.
		log.Warn("invalid LOG_LEVEL, using info", logging.Err(levelErr))
	}
	a, err := app.LoadAWS(ctx, cmd.CommandPath())
	if err != nil {
		return err
	}
	proc, consumer, err := app.Processor(ctx, a, cfg, log)
	if err != nil {
		return err
	}
	o.Queue, o.Processor, o.Logger = consumer, proc, log
	w, err := worker.New(o)
	if err != nil {
		return err
	}
	log.Info("worker started", "queue_url", cfg.QueueURL, "concurrency", o.Concurrency, "schedule", cfg.Policy.String(), "job_timeout", cfg.JobTimeout.String())
	err = w.Run(ctx)
	st := w.Stats()
	log.Info("worker stopped", slog.Int("received", st.Received), slog.Int("acked", st.Acked), slog.Int("retried", st.Retried), slog.Int("dead_lettered", st.DeadLettered), slog.Int("released", st.Released))
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}
