package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/failedjobs"
	"github.com/payments-hub/hub/internal/logging"
)

func init() {
	register(command{name: "failed", summary: "the failed jobs in the DLQ: list, retry, retry --all, moves, forget, flush", run: runFailed})
	register(command{name: "status", summary: "queue and DLQ depth, oldest message, redrives, last failures [--watch]", run: runStatus})
}

const failedUsage = `
Usage:
  hubctl failed list [--limit N] [--json]         queue:failed
  hubctl failed retry ID... [--json]              queue:retry ID
  hubctl failed retry --all [--no-wait] [--rate N] queue:retry all (the console's "Start DLQ redrive")
  hubctl failed moves [--cancel HANDLE] [--json]  the DLQ's redrive tasks
  hubctl failed forget ID [--json]                queue:forget ID
  hubctl failed flush [--force]                   queue:flush

The dead-letter queue (DLQ_URL) is this hub's failed_jobs: an event lands
there after MAX_ATTEMPTS failed attempts, or at once when the failure is
permanent. Each row joins the DLQ message with the failure record the
processor wrote (attempts, time and error).

SQS cannot browse a queue: list, retry ID and forget read the DLQ by
receiving its messages, which raises each message's receive count by one and
hides it for a few seconds; list makes every message visible again at once.
Counts shown by "hubctl status" cost nothing and change nothing.

retry ID sends the message back to QUEUE_URL and deletes it from the DLQ.
retry --all starts a message move task from the DLQ to the queue each message
came from, exactly what the AWS console's "Start DLQ redrive" does, and shows
its progress; where the SQS server has no move tasks it moves the messages
itself and says so. Whatever path brings an event back, it is processed once:
events are deduplicated by their provider event key, not by message id.

forget deletes one message and marks its failure record forgotten. flush
purges the whole DLQ (failure records stay); SQS allows one purge per queue
every 60 seconds.

Examples:
  hubctl failed list
  hubctl failed retry 8d3c6f3e-5a4b-4c2d-9e1f-0a1b2c3d4e5f
  hubctl failed retry --all --rate 50
  hubctl failed forget 8d3c6f3e-5a4b-4c2d-9e1f-0a1b2c3d4e5f
  hubctl failed flush --force
`

func failedService(ctx context.Context, c *cli) (*failedjobs.Service, app.AWS, error) {
	a, err := app.LoadAWS(ctx, "hubctl failed")
	if err != nil {
		return nil, a, err
	}
	st, err := app.Store(a, config.LoadTables(c.getenv))
	if err != nil {
		return nil, a, err
	}
	// Only warnings (a message left hidden, a record not updated), and on
	// stderr: stdout carries the answer, --json included.
	svc, err := failedjobs.New(failedjobs.Config{SQS: a.SQS, QueueURL: c.getenv(config.EnvQueueURL), DLQURL: c.getenv(config.EnvDLQURL), Store: st,
		Logger: logging.New(c.stderr, logging.FormatText, slog.LevelWarn)})
	if err != nil {
		return nil, a, usagef("%v", err)
	}
	return svc, a, nil
}

func runFailed(ctx context.Context, c *cli, args []string) error {
	f := newFlags(c, "failed", failedUsage)
	asJSON := f.Bool("json", false, "print JSON (lists as arrays)")
	limit := f.Int("limit", 0, "list at most N messages (default: all, up to 10000)")
	all := f.Bool("all", false, "retry: every message in the DLQ, with a DLQ redrive")
	noWait := f.Bool("no-wait", false, "retry --all: return once the redrive has started")
	rate := f.Int("rate", 0, "retry --all: messages per second (1..500; default SQS's)")
	cancel := f.String("cancel", "", "moves: cancel the move task with this handle")
	force := f.Bool("force", false, "flush: do not ask for confirmation")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want a subcommand: list, retry, moves, forget or flush")
	}
	sub, ids := pos[0], pos[1:]
	if *rate < 0 || *rate > 500 {
		return usagef("--rate must be between 1 and 500")
	}
	check := func(ok bool, want string) error {
		if !ok {
			return usagef("want: failed %s", want)
		}
		return nil
	}
	switch sub {
	case "list":
		if err := check(len(ids) == 0, "list [--limit N] [--json]"); err != nil {
			return err
		}
	case "retry":
		if err := check((len(ids) > 0) != *all, "retry ID... or retry --all"); err != nil {
			return err
		}
	case "moves":
		if err := check(len(ids) == 0, "moves [--cancel HANDLE]"); err != nil {
			return err
		}
	case "forget":
		if err := check(len(ids) == 1, "forget ID"); err != nil {
			return err
		}
	case "flush":
		if err := check(len(ids) == 0, "flush [--force]"); err != nil {
			return err
		}
	default:
		return usagef("unknown subcommand %q: want list, retry, moves, forget or flush", sub)
	}
	svc, _, err := failedService(ctx, c)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		jobs, err := svc.List(ctx, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(c.stdout, jobs)
		}
		if len(jobs) == 0 {
			fmt.Fprintln(c.stdout, "No failed jobs: the DLQ is empty.")
			return nil
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "MESSAGE ID\tPROVIDER\tEVENT KEY\tTYPE\tTRANSACTION\tATTEMPTS\tFAILED AT\tERROR")
		for _, j := range jobs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", j.MessageID, j.Provider, j.EventKey, orDash(j.EventType), orDash(j.TransactionID), j.Attempts, formatTime(j.FailedAt), oneLine(j.Error, 100))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%d failed jobs. Listing raised each message's receive count by one.\n", len(jobs))
		return nil

	case "retry":
		if *all {
			return retryAll(ctx, c, svc, *asJSON, *noWait, *rate)
		}
		out, err := svc.Retry(ctx, ids)
		if *asJSON {
			if werr := writeJSON(c.stdout, out); werr != nil {
				return werr
			}
		} else {
			for _, o := range out {
				switch o.Result {
				case "retried":
					fmt.Fprintf(c.stdout, "retried %s (%s %s) as %s\n", o.MessageID, o.Provider, o.EventKey, o.NewMessageID)
				default:
					fmt.Fprintf(c.stdout, "%s %s: %s\n", o.Result, o.MessageID, o.Error)
				}
			}
		}
		return err

	case "moves":
		if *cancel != "" {
			moved, err := svc.CancelMove(ctx, *cancel)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "cancelled %s after %d messages moved (they stay moved)\n", *cancel, moved)
			return nil
		}
		tasks, err := svc.Moves(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(c.stdout, tasks)
		}
		if len(tasks) == 0 {
			fmt.Fprintln(c.stdout, "No move tasks for this DLQ.")
			return nil
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "STATUS\tMOVED\tTO MOVE\tSTARTED\tHANDLE\tFAILURE")
		for _, t := range tasks {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", t.Status, t.Moved, toMove(t), formatTime(t.Started), orDash(t.Handle), orDash(t.Failure))
		}
		return tw.Flush()

	case "forget":
		o, err := svc.Forget(ctx, ids[0])
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(c.stdout, o)
		}
		fmt.Fprintf(c.stdout, "forgot %s (%s %s)\n", o.MessageID, o.Provider, o.EventKey)
		if o.Error != "" {
			fmt.Fprintln(c.stderr, "warning:", o.Error)
		}
		return nil

	case "flush":
		if !*force {
			fmt.Fprintf(c.stderr, "This deletes every message in %s; their failure records stay. Type 'flush' to confirm: ", c.getenv(config.EnvDLQURL))
			line, _ := bufio.NewReader(c.stdin).ReadString('\n')
			if strings.TrimSpace(line) != "flush" {
				return errors.New("not confirmed; nothing deleted (use --force in scripts)")
			}
		}
		if err := svc.Flush(ctx); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "DLQ purged (SQS may take up to 60 s to finish).")
		return nil
	}
	return nil
}

func retryAll(ctx context.Context, c *cli, svc *failedjobs.Service, asJSON, noWait bool, rate int) error {
	task, err := svc.StartRedrive(ctx, rate)
	if errors.Is(err, failedjobs.ErrMoveTasksUnsupported) {
		fmt.Fprintln(c.stderr, "This SQS server does not implement StartMessageMoveTask: moving the messages client-side (receive, send to the source queue, delete), 10 at a time.")
		moved, err := svc.MoveClientSide(ctx, func(n int) {
			if !asJSON {
				fmt.Fprintf(c.stderr, "moved %d\n", n)
			}
		})
		task = failedjobs.MoveTask{Status: "COMPLETED", Moved: int64(moved), ClientSide: true}
		if err != nil {
			task.Status, task.Failure = "FAILED", err.Error()
		}
		if asJSON {
			if werr := writeJSON(c.stdout, task); werr != nil {
				return werr
			}
		} else {
			fmt.Fprintf(c.stdout, "%s: %d messages moved back to the queue (client-side)\n", task.Status, moved)
		}
		return err
	}
	if err != nil {
		return err
	}
	if noWait {
		if asJSON {
			return writeJSON(c.stdout, task)
		}
		fmt.Fprintf(c.stdout, "DLQ redrive started: %s\nFollow it with: hubctl failed moves\n", task.Handle)
		return nil
	}
	final, err := svc.Watch(ctx, task.Handle, time.Second, func(t failedjobs.MoveTask) {
		if !asJSON && t.Status != "" {
			fmt.Fprintf(c.stderr, "%s: moved %d / %s\n", t.Status, t.Moved, toMove(t))
		}
	})
	if err != nil {
		return err
	}
	if final.Handle == "" {
		final.Handle = task.Handle
	}
	if asJSON {
		if err := writeJSON(c.stdout, final); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "DLQ redrive %s: %d messages moved\n", strings.ToLower(orDash(final.Status)), final.Moved)
	}
	switch final.Status {
	case "FAILED":
		return fmt.Errorf("the redrive failed: %s", final.Failure)
	case "CANCELLED":
		return errors.New("the redrive was cancelled")
	}
	return nil
}

func runStatus(ctx context.Context, c *cli, args []string) error {
	f := newFlags(c, "status", `
Usage: hubctl status [--watch] [--interval D] [--failures N] [--json]

Shows, for the queue and the DLQ, the messages visible, in flight and delayed,
the age of the oldest message (from CloudWatch; unknown on local servers), the
DLQ redrives running, and the last failures recorded by the processor. Reading
the counts changes nothing. The last failures come from a scan of the events
table (read units in proportion to its size): --failures 0 skips it.

Examples:
  hubctl status
  hubctl status --watch --interval 5s
`)
	asJSON := f.Bool("json", false, "print JSON")
	watch := f.Bool("watch", false, "refresh until interrupted")
	interval := f.Duration("interval", 5*time.Second, "refresh interval with --watch")
	nFailures := f.Int("failures", 5, "how many of the last failures to show")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *interval < time.Second {
		return usagef("--interval must be at least 1s")
	}
	svc, a, err := failedService(ctx, c)
	if err != nil {
		return err
	}
	var ages failedjobs.AgeSource
	if c.getenv("AWS_ENDPOINT_URL_SQS") == "" || c.getenv("AWS_ENDPOINT_URL_CLOUDWATCH") != "" {
		ages = failedjobs.CloudWatchAges{Client: cloudwatch.NewFromConfig(a.Config)}
	}
	for {
		st, err := svc.Status(ctx, ages, *nFailures)
		if err != nil {
			return err
		}
		if *asJSON {
			if err := writeJSON(c.stdout, st); err != nil {
				return err
			}
		} else {
			if *watch {
				fmt.Fprint(c.stdout, "\033[H\033[2J")
			}
			printStatus(c, st)
		}
		if !*watch {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*interval):
		}
	}
}

func printStatus(c *cli, st failedjobs.Status) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tVISIBLE\tIN FLIGHT\tDELAYED\tOLDEST")
	for _, q := range []failedjobs.QueueStatus{st.Queue, st.DLQ} {
		age := q.OldestAgeNote
		if q.OldestAgeSeconds != nil {
			age = (time.Duration(*q.OldestAgeSeconds) * time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", q.Name, q.Visible, q.InFlight, q.Delayed, age)
	}
	_ = tw.Flush()
	switch {
	case st.MovesNote != "":
		fmt.Fprintf(c.stdout, "\nRedrives: %s\n", st.MovesNote)
	case len(st.ActiveMoves) == 0:
		fmt.Fprintln(c.stdout, "\nRedrives: none running")
	default:
		for _, m := range st.ActiveMoves {
			fmt.Fprintf(c.stdout, "\nRedrive %s: moved %d / %s\n", m.Handle, m.Moved, toMove(m))
		}
	}
	if st.FailuresNote != "" {
		fmt.Fprintf(c.stdout, "\nLast failures: %s\n", st.FailuresNote)
	} else if len(st.LastFailures) > 0 {
		fmt.Fprintln(c.stdout, "\nLast failures:")
		tw = tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		for _, r := range st.LastFailures {
			fmt.Fprintf(tw, "  %s\t%s %s\t%d attempts\t%s\n", formatTime(r.LastFailedAt), r.Provider, r.EventKey, r.Attempts, oneLine(r.LastError, 80))
		}
		_ = tw.Flush()
	}
	fmt.Fprintf(c.stdout, "\nas of %s\n", st.CollectedAt.Format(time.RFC3339))
}

func toMove(t failedjobs.MoveTask) string {
	if t.ToMove == nil {
		return "?"
	}
	return fmt.Sprint(*t.ToMove)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}
