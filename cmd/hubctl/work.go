package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/app/boot"
	"github.com/payments-hub/hub/internal/autoredrive"
	"github.com/payments-hub/hub/internal/flowmetrics"
	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/worker"
)

// workOptions are `work`'s flags.
type workOptions struct {
	worker.Config
	redriveEvery time.Duration
	metricsAddr  string
}

func newWorkCmd(c *cli) *cobra.Command {
	var o workOptions
	cmd := &cobra.Command{
		Use:   "work",
		Short: "process the queue: long polling, retries on the schedule, DLQ, automatic redrives",
		Long: `Processes events from QUEUE_URL, as the processor Lambda does (same core, same
retry schedule). A failed attempt n is retried after BACKOFF_SECONDS[n-1]
(default 10,30,60); after MAX_ATTEMPTS (default 3) the queue's redrive moves
the event to the DLQ.

With DLQ_URL set it also runs the automatic redrive, as the redriver function
does on AWS: every --redrive-every, a pass moves the transient failures whose
next round is due (AUTO_REDRIVE_SECONDS, default 300,1800,7200; off disables)
back to the queue, unless the provider's dependency still fails.

--metrics-addr serves the flow of the last 15 minutes (GET /metrics, the
values of the log lines' metrics) on a loopback address, for
'hubctl status --watch' (HUB_METRICS_URL=http://ADDR/metrics).

SIGINT or SIGTERM stops receiving (a receive in flight is let finish and what
it returns made visible again), lets running jobs finish within
JOB_TIMEOUT_SECONDS, and makes messages not yet started visible again.

Logs are JSON lines on stdout (LOG_LEVEL: debug, info, warn, error).`,
		Example: `  eval "$(hubctl setup)"; hubctl work --concurrency 4
  hubctl work --once --wait 5s
  hubctl work --metrics-addr 127.0.0.1:9091 --redrive-every 10s`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			return runWork(cmd, c, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Concurrency, "concurrency", 2, "jobs run at once")
	f.DurationVar(&o.MaxTime, "max-time", 0, "stop after this long, e.g. 1h (0: run until stopped)")
	f.BoolVar(&o.Once, "once", false, "process what one receive returns, then exit (no automatic redrive)")
	f.DurationVar(&o.Wait, "wait", 20*time.Second, "long-polling wait per receive (1s..20s)")
	f.DurationVar(&o.redriveEvery, "redrive-every", 30*time.Second, "time between two automatic redrive passes")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "serve GET /metrics on this loopback address, e.g. 127.0.0.1:9091")
	return cmd
}

func (o workOptions) check() error {
	switch {
	case o.Concurrency < 1 || o.Concurrency > 100:
		return usagef("--concurrency must be between 1 and 100")
	case o.Wait < time.Second || o.Wait > 20*time.Second:
		return usagef("--wait must be between 1s and 20s")
	case o.redriveEvery < 100*time.Millisecond:
		return usagef("--redrive-every must be at least 100ms")
	}
	if o.metricsAddr != "" {
		host, _, err := net.SplitHostPort(o.metricsAddr)
		if err != nil || !monetbil.IsLoopback(host) {
			return usagef("--metrics-addr %q: want a loopback address and port, e.g. 127.0.0.1:9091", o.metricsAddr)
		}
	}
	return nil
}

func runWork(cmd *cobra.Command, c *cli, o workOptions) error {
	ctx := cmd.Context()
	cfg, err := c.env.Processor()
	if err != nil {
		return usagef("%v", err)
	}
	level, levelErr := c.env.LogLevel()
	log := boot.Logger(c.stdout, level, levelErr)
	// The sink counts the log lines' metrics for --metrics-addr only: its
	// handler builds every Info line, whatever LOG_LEVEL.
	var sink *flowmetrics.Sink
	if o.metricsAddr != "" {
		sink = flowmetrics.NewSink(nil)
		log = sink.Logger(log)
	}
	redriver, err := workRedriver(ctx, c, o, log)
	if err != nil {
		return err
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
	w, err := worker.New(o.Config)
	if err != nil {
		return err
	}
	stopMetrics, err := serveMetrics(o.metricsAddr, sink, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	log.Info("worker started", "queue_url", cfg.QueueURL, "concurrency", o.Concurrency, "schedule", cfg.Policy.String(), "job_timeout", cfg.JobTimeout.String())
	err = runWithRedrive(ctx, w, redriver, o.redriveEvery)
	st := w.Stats()
	log.Info("worker stopped", slog.Int("received", st.Received), slog.Int("acked", st.Acked), slog.Int("retried", st.Retried), slog.Int("dead_lettered", st.DeadLettered), slog.Int("released", st.Released))
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}

// workRedriver builds the automatic redrive `hubctl work` runs, with its
// AWS configuration labelled "redriver" as the function's; nil when it is
// off, with --once, or without DLQ_URL (said in the log).
func workRedriver(ctx context.Context, c *cli, o workOptions, log *slog.Logger) (*autoredrive.Redriver, error) {
	schedule, err := c.env.AutoRedrive()
	switch {
	case err != nil:
		return nil, usagef("%v", err)
	case o.Once:
		return nil, nil
	case len(schedule) == 0:
		log.Info("automatic redrive off (AUTO_REDRIVE_SECONDS=off)")
		return nil, nil
	case c.env.DLQURL == "":
		log.Warn("automatic redrive not running: DLQ_URL is not set (eval \"$(hubctl setup)\" sets it)")
		return nil, nil
	}
	cfg, err := c.env.Redriver()
	if err != nil {
		return nil, usagef("%v", err)
	}
	a, err := app.LoadAWS(ctx, "redriver")
	if err != nil {
		return nil, err
	}
	log = log.With("component", "redriver")
	r, err := app.Redriver(a, cfg, log)
	if err != nil {
		return nil, err
	}
	log.Info("automatic redrive on", "rounds", autoredrive.Schedule(cfg.Schedule).String(), "every", o.redriveEvery.String(), "dlq_url", cfg.DLQURL)
	return r, nil
}

// runWithRedrive runs the worker and, beside it, the redrive's passes
// until the worker stops.
func runWithRedrive(ctx context.Context, w *worker.Worker, r *autoredrive.Redriver, every time.Duration) error {
	if r == nil {
		return w.Run(ctx)
	}
	ctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(ctx, every) })
	err := w.Run(ctx)
	stop()
	wg.Wait()
	return err
}

// serveMetrics serves the sink on addr ("": not at all) until stopped.
func serveMetrics(addr string, sink *flowmetrics.Sink, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", sink)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped", logging.Err(err))
		}
	}()
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() { _ = srv.Close() }, nil
}
