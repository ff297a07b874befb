package main

import (
	"context"
	"fmt"
	"time"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/worker"
)

func init() {
	register(command{name: "work", summary: "process the queue (queue:work): long polling, retries, DLQ", run: runWork})
}

func runWork(ctx context.Context, c *cli, args []string) error {
	f := newFlags(c, "work", `
Usage: hubctl work [--concurrency N] [--max-time D] [--once]

Processes events from QUEUE_URL, the counterpart of Laravel's queue:work and
of the processor Lambda (same core, same retry schedule). A failed attempt n
is retried after BACKOFF_SECONDS[n-1] (default 10,30,60); after MAX_ATTEMPTS
(default 3) the queue's redrive moves the event to the DLQ.

SIGINT or SIGTERM stops receiving, lets running jobs finish within
JOB_TIMEOUT_SECONDS, and makes messages not yet started visible again.

Logs are JSON lines on stdout (LOG_LEVEL: debug, info, warn, error).

Example:
  eval "$(hubctl setup)"; hubctl work --concurrency 4
`)
	concurrency := f.Int("concurrency", 2, "jobs run at once (Supervisor's numprocs=2 in the seed)")
	maxTime := f.Duration("max-time", 0, "stop after this long, e.g. 1h (0: run until stopped)")
	once := f.Bool("once", false, "process what one receive returns, then exit")
	wait := f.Duration("wait", 20*time.Second, "long-polling wait per receive (1s..20s)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *concurrency < 1 || *concurrency > 100 {
		return usagef("--concurrency must be between 1 and 100")
	}
	if *wait < time.Second || *wait > 20*time.Second {
		return usagef("--wait must be between 1s and 20s")
	}
	cfg, err := config.LoadProcessor(c.getenv)
	if err != nil {
		return usagef("%v", err)
	}
	log := newLogger(c)
	a, err := app.LoadAWS(ctx, "hubctl work")
	if err != nil {
		return err
	}
	proc, consumer, err := app.Processor(ctx, a, cfg, log)
	if err != nil {
		return err
	}
	w, err := worker.New(worker.Config{Queue: consumer, Processor: proc, Concurrency: *concurrency, Wait: *wait, MaxTime: *maxTime, Once: *once, Logger: log})
	if err != nil {
		return err
	}
	log.Info("worker started", "queue_url", cfg.QueueURL, "concurrency", *concurrency, "schedule", cfg.Policy.String(), "job_timeout", cfg.JobTimeout.String())
	err = w.Run(ctx)
	st := w.Stats()
	log.Info("worker stopped", "received", st.Received, "acked", st.Acked, "retried", st.Retried, "dead_lettered", st.DeadLettered, "released", st.Released)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}
