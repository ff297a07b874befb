// Command hubctl is the Payments Hub's operator CLI: the worker, local setup,
// and the failed-jobs routine Laravel's artisan gave (queue:work,
// queue:failed, queue:retry, queue:forget, queue:flush).
//
// Exit codes: 0 ok, 1 the operation failed, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one hubctl subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cli, args []string) error
}

// cli carries what every command writes to and reads from.
type cli struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
}

// usageError makes hubctl exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

var commands []command

func register(c command) { commands = append(commands, c) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, &cli{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, c *cli, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(c.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, cmd := range commands {
		if cmd.name == args[0] {
			err := cmd.run(ctx, c, args[1:])
			var ue *usageError
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.As(err, &ue):
				fmt.Fprintf(c.stderr, "hubctl %s: %s\nRun 'hubctl %s --help' for usage.\n", cmd.name, ue.msg, cmd.name)
				return 2
			default:
				fmt.Fprintf(c.stderr, "hubctl %s: %s\n", cmd.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(c.stderr, "hubctl: unknown command %q\nRun 'hubctl --help' for the commands.\n", args[0])
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `hubctl operates the Payments Hub: Stripe and Monetbil webhooks, queued in SQS,
processed into transactions in DynamoDB, failures kept in the dead-letter queue.

Usage: hubctl COMMAND [ARGS] [FLAGS]    (hubctl COMMAND --help for each)

Commands:
`)
	sorted := append([]command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Coming from Laravel:
  php artisan queue:work          hubctl work
  php artisan queue:failed        hubctl failed list
  php artisan queue:retry ID      hubctl failed retry ID
  php artisan queue:retry all     hubctl failed retry --all   (= the console's "Start DLQ redrive")
  php artisan queue:forget ID     hubctl failed forget ID
  php artisan queue:flush         hubctl failed flush
  Horizon                         hubctl status --watch

Configuration comes from the same environment as the functions: QUEUE_URL,
DLQ_URL, EVENTS_TABLE, TRANSACTIONS_TABLE, AWS_REGION, and AWS_ENDPOINT_URL or
AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_DYNAMODB for LocalStack or local servers.

Exit codes: 0 ok, 1 the operation failed, 2 usage error.
`)
}

// flags is a FlagSet that accepts flags before and after positional
// arguments (hubctl transactions get ID --json).
type flags struct {
	*flag.FlagSet
	usage string
}

func newFlags(c *cli, name, usage string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	f := &flags{FlagSet: fs, usage: usage}
	fs.Usage = func() {
		fmt.Fprint(c.stdout, strings.TrimLeft(usage, "\n"))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(c.stdout, "\nFlags:")
			fs.SetOutput(c.stdout)
			fs.PrintDefaults()
			fs.SetOutput(c.stderr)
		}
	}
	return f
}

// parse parses interleaved flags and returns the positional arguments.
func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
