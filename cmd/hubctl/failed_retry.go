package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/failedjobs"
)

// retryOptions are `failed retry`'s flags.
type retryOptions struct {
	all         bool
	noWait      bool
	rate        int
	filters     filterFlags
	dryRun, yes bool
}

// check validates the combination of ids and flags.
func (o retryOptions) check(ids []string) error {
	byFilter := o.filters.set()
	switch {
	case len(ids) > 0 && (o.all || byFilter):
		return usagef("want: failed retry ID..., failed retry --all, or failed retry with filters; not several")
	case o.all && byFilter:
		return usagef("--all moves every message; to move a slice, give the filters without --all")
	case len(ids) == 0 && !o.all && !byFilter:
		return usagef("want: failed retry ID... or failed retry --all, or filters (--provider, --error-type, --since, --until, --transaction)")
	case o.dryRun && len(ids) > 0:
		return usagef("--dry-run previews --all or filters, not message ids")
	case o.rate < 0 || o.rate > 500:
		return usagef("--rate must be between 1 and 500")
	}
	return nil
}

func newFailedRetryCmd(c *cli, asJSON *bool) *cobra.Command {
	var o retryOptions
	cmd := &cobra.Command{
		Use:   "retry {ID...|--all|filters}",
		Short: "put failed events back on the queue: by message id, a filtered slice, or all",
		Long: `retry ID sends each message back to QUEUE_URL and deletes it from the DLQ; it
stops reading the DLQ as soon as every id is found.

retry with filters (--provider, --error-type, --since, --until,
--transaction, as in 'failed list') moves exactly the messages that match,
the same way. --dry-run prints how many match and a sample of up to 10, and
changes nothing. On a terminal it asks before moving more than 100 messages
(--yes does not ask); elsewhere, more than 100 need --yes.

retry --all starts a message move task from the DLQ to the queue each message
came from, exactly what the AWS console's "Start DLQ redrive" does, and shows
its progress; where the SQS server has no move tasks it moves the messages
itself and says so.

A retried event is a new message: its attempts start again at 1.`,
		Example: `  hubctl failed retry 8d3c6f3e-5a4b-4c2d-9e1f-0a1b2c3d4e5f
  hubctl failed retry --provider monetbil --error-type transient --dry-run
  hubctl failed retry --provider monetbil --error-type transient --since 3h --yes
  hubctl failed retry --all --dry-run
  hubctl failed retry --all --rate 50
  hubctl failed retry --all --no-wait && hubctl failed moves`,
		RunE: func(cmd *cobra.Command, ids []string) error {
			if err := o.check(ids); err != nil {
				return err
			}
			f, err := o.filters.filter(time.Now())
			if err != nil {
				return err
			}
			svc, err := failedService(cmd.Context(), c, cmd)
			if err != nil {
				return err
			}
			switch {
			case o.dryRun:
				return previewRetry(cmd.Context(), c, svc, *asJSON, f)
			case o.all:
				return retryAll(cmd.Context(), c, svc, *asJSON, o)
			case len(ids) == 0:
				return retryFiltered(cmd.Context(), c, svc, *asJSON, f, o.yes)
			}
			return retryIDs(cmd.Context(), c, svc, *asJSON, ids)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.all, "all", false, "every message in the DLQ, with a DLQ redrive")
	f.BoolVar(&o.noWait, "no-wait", false, "with --all: return once the redrive has started")
	f.IntVar(&o.rate, "rate", 0, "with --all: messages per second (1..500; default SQS's)")
	f.BoolVar(&o.dryRun, "dry-run", false, "with filters or --all: print what would move (count and a sample) and change nothing")
	f.BoolVar(&o.yes, "yes", false, "with filters: move more than 100 messages without asking")
	o.filters.add(f)
	return cmd
}

func retryIDs(ctx context.Context, c *cli, svc *failedjobs.Service, asJSON bool, ids []string) error {
	p := c.progress()
	out, err := svc.Retry(ctx, ids, scanProgress(p, "looking for the messages"))
	p.done()
	if asJSON {
		if werr := writeJSON(c.stdout, out); werr != nil {
			return werr
		}
		return err
	}
	for _, o := range out {
		switch o.Result {
		case "retried":
			fmt.Fprintf(c.stdout, "retried %s (%s %s) as %s\n", o.MessageID, o.Provider, o.EventKey, o.NewMessageID)
			if o.Error != "" {
				fmt.Fprintln(c.stderr, "warning:", o.Error)
			}
		default:
			fmt.Fprintf(c.stdout, "%s %s: %s\n", o.Result, o.MessageID, o.Error)
		}
	}
	return err
}

func retryAll(ctx context.Context, c *cli, svc *failedjobs.Service, asJSON bool, o retryOptions) error {
	task, err := svc.StartRedrive(ctx, o.rate)
	if errors.Is(err, failedjobs.ErrMoveTasksUnsupported) {
		return moveClientSide(ctx, c, svc, asJSON)
	}
	if err != nil {
		return err
	}
	if o.noWait {
		if asJSON {
			return writeJSON(c.stdout, task)
		}
		fmt.Fprintf(c.stdout, "DLQ redrive started: %s\nFollow it with: hubctl failed moves\n", task.Handle)
		return nil
	}
	return watchRedrive(ctx, c, svc, asJSON, task)
}

func watchRedrive(ctx context.Context, c *cli, svc *failedjobs.Service, asJSON bool, task failedjobs.MoveTask) error {
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

func moveClientSide(ctx context.Context, c *cli, svc *failedjobs.Service, asJSON bool) error {
	fmt.Fprintln(c.stderr, "This SQS server does not implement StartMessageMoveTask: moving the messages client-side (receive, send to the source queue, delete), 10 at a time.")
	p := c.progress()
	moved, err := svc.MoveClientSide(ctx, func(pr failedjobs.Progress) { p.show("moved %d messages back to the queue", pr.Moved) })
	p.done()
	task := failedjobs.MoveTask{Status: "COMPLETED", Moved: int64(moved), ClientSide: true}
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
