package main

import (
	"context"
	"os"

	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/devserver"
)

func init() {
	register(command{name: "dev", summary: "run the whole pipeline locally: intake, worker, Monetbil sandbox (make run)", run: runDev})
}

func runDev(ctx context.Context, c *cli, args []string) error {
	f := newFlags(c, "dev", `
Usage: hubctl dev [--addr 127.0.0.1:8080] [--env-file build/dev.env] [--log-format auto|text|json]

Runs the Payments Hub on this machine against local servers (make run starts
them) or LocalStack (AWS_ENDPOINT_URL): creates the queue, the DLQ and the
tables with the production settings when missing, serves the intake on the
same routes as API Gateway, runs the worker, and, unless MONETBIL_API_URL is
set, serves a clearly labelled local sandbox of Monetbil's checkPayment that
confirms what 'hubctl send monetbil' asks for.

It writes the environment other terminals need (endpoints, queue URLs, table
names, the webhook secrets) to --env-file: 'source' it, then use hubctl send,
hubctl transactions get, hubctl failed list. Secrets not set in the
environment are generated for the run. Ctrl-C stops it cleanly.

Example:
  make run
  # in another terminal:
  source build/dev.env
  hubctl send stripe payment_intent.succeeded --transaction tx_1001
`)
	addr := f.String("addr", "127.0.0.1:8080", "address the intake listens on")
	envFile := f.String("env-file", "build/dev.env", "file to write the environment for other terminals to (empty: print it)")
	logFormat := f.String("log-format", "auto", "auto (text at a terminal, JSON otherwise), text or json")
	concurrency := f.Int("concurrency", 2, "worker concurrency")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	level, err := config.LogLevel(c.getenv)
	if err != nil {
		return usagef("%v", err)
	}
	out := os.Stdout
	if f, ok := c.stdout.(*os.File); ok {
		out = f
	}
	log, err := devserver.Logger(out, *logFormat, level)
	if err != nil {
		return usagef("%v", err)
	}
	return devserver.Run(ctx, devserver.Config{Addr: *addr, EnvFile: *envFile, Concurrency: *concurrency, Getenv: c.getenv, Logger: log, Out: c.stderr})
}
