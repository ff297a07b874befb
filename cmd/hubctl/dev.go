package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/devserver"
)

func newDevCmd(c *cli) *cobra.Command {
	cfg := devserver.Config{}
	var logFormat string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "run the whole pipeline locally: intake, worker, Monetbil sandbox (make run)",
		Long: `Runs the Payments Hub on this machine against local servers (make run starts
them) or LocalStack (AWS_ENDPOINT_URL): creates the queue, the DLQ and the
tables with the production settings when missing, serves the intake on the
same routes as API Gateway, runs the worker, and, unless MONETBIL_API_URL is
set, serves a clearly labelled local sandbox of Monetbil's checkPayment that
confirms what 'hubctl send monetbil' asks for. Like 'hubctl work', it runs
the automatic redrive (AUTO_REDRIVE_SECONDS; off disables) and serves the
flow of the last 15 minutes on GET /metrics for 'hubctl status --watch'.

It writes the environment other terminals need (endpoints, queue URLs, table
names, the webhook secrets) to --env-file: 'source' it, then use hubctl send,
hubctl transactions get, hubctl failed list. Secrets not set in the
environment are generated for the run. Ctrl-C stops it cleanly.`,
		Example: `  make run
  # in another terminal:
  source build/dev.env
  hubctl send stripe payment_intent.succeeded --transaction tx_1001`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level, err := c.env.LogLevel()
			if err != nil {
				return usagef("%v", err)
			}
			out := os.Stdout
			if f, ok := c.stdout.(*os.File); ok {
				out = f
			}
			if cfg.Logger, err = devserver.Logger(out, logFormat, level); err != nil {
				return usagef("%v", err)
			}
			if cfg.RedriveEvery < 100*time.Millisecond {
				return usagef("--redrive-every must be at least 100ms")
			}
			cfg.Env, cfg.Out = c.env, c.stderr
			return devserver.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address the intake listens on")
	f.StringVar(&cfg.EnvFile, "env-file", "build/dev.env", "file to write the environment for other terminals to (empty: print it)")
	f.StringVar(&logFormat, "log-format", "auto", "auto (text at a terminal, JSON otherwise), text or json")
	f.IntVar(&cfg.Concurrency, "concurrency", 2, "worker concurrency")
	f.DurationVar(&cfg.RedriveEvery, "redrive-every", 30*time.Second, "time between two automatic redrive passes")
	return cmd
}
