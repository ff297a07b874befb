// Command hubctl is the Payments Hub's operator CLI: the worker, local
// setup and the whole pipeline on one machine, test webhooks, the failed
// events in the dead-letter queue, the hub's status, and its records.
//
// Exit codes: 0 ok, 1 the operation failed, 2 usage error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/payments-hub/hub/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: config.LoadHubctl(os.Getenv), terminal: isTerminal(os.Stderr), interactive: isTerminal(os.Stdin) && isTerminal(os.Stderr)}
	code := run(ctx, c, os.Args[1:])
	stop()
	os.Exit(code)
}

// isTerminal reports whether f is a terminal (progress lines go there).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
