package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/payments-hub/hub/internal/failedjobs"
)

// Bounds of a filtered retry.
const (
	// confirmAbove is how many messages a filtered retry moves without
	// asking.
	confirmAbove = 100
	// sampleSize is how many matching messages a preview shows.
	sampleSize = 10
)

// preview is what --dry-run prints with --json.
type preview struct {
	DryRun   bool                   `json:"dry_run"`
	Filter   string                 `json:"filter"`
	Read     int                    `json:"read"`
	Matching int                    `json:"matching"`
	Sample   []failedjobs.FailedJob `json:"sample"`
}

// previewRetry lists what a retry with f would move, and moves nothing.
func previewRetry(ctx context.Context, c *cli, svc *failedjobs.Service, asJSON bool, f failedjobs.Filter) error {
	p := c.progress()
	l, err := svc.List(ctx, failedjobs.ListOptions{Filter: f, Progress: scanProgress(p, "previewing")})
	p.done()
	if err != nil {
		return err
	}
	if note := l.Note(svc.Budget(), svc.Hide()); note != "" {
		fmt.Fprintln(c.stderr, "note: the preview "+note)
	}
	sample := l.Jobs[:min(sampleSize, len(l.Jobs))]
	if asJSON {
		return writeJSON(c.stdout, preview{DryRun: true, Filter: describeFilter(f), Read: l.Read, Matching: len(l.Jobs), Sample: sample})
	}
	fmt.Fprintf(c.stdout, "Dry run: %d of the %d messages in the DLQ match (%s) and would move back to the queue.\n", len(l.Jobs), l.Read, describeFilter(f))
	if len(sample) > 0 {
		if len(sample) < len(l.Jobs) {
			fmt.Fprintf(c.stdout, "A sample of %d:\n", len(sample))
		}
		if err := printJobs(c, sample); err != nil {
			return err
		}
	}
	fmt.Fprintln(c.stdout, "Nothing was moved. Run the same command without --dry-run to move them.")
	return nil
}

// filteredResult is what a filtered retry prints with --json.
type filteredResult struct {
	Filter   string               `json:"filter"`
	Read     int                  `json:"read"`
	Matching int                  `json:"matching"`
	Moved    int                  `json:"moved"`
	Outcomes []failedjobs.Outcome `json:"outcomes"`
}

// retryFiltered moves exactly the messages f selects, after asking when
// there are more than confirmAbove.
func retryFiltered(ctx context.Context, c *cli, svc *failedjobs.Service, asJSON bool, f failedjobs.Filter, yes bool) error {
	p := c.progress()
	sel, err := svc.Select(ctx, f, scanProgress(p, "selecting"))
	p.done()
	if err != nil {
		return err
	}
	if note := sel.Stopped.Note(sel.Read, svc.Budget()); note != "" {
		fmt.Fprintln(c.stderr, "note: the selection "+note)
	}
	if err := confirmMove(c, len(sel.Jobs), yes); err != nil {
		if rerr := svc.Release(ctx, sel); rerr != nil {
			fmt.Fprintln(c.stderr, "warning:", rerr)
		}
		return err
	}
	p = c.progress()
	out, err := svc.Move(ctx, sel, func(pr failedjobs.Progress) {
		p.show("moved %d of %d messages back to the queue", pr.Moved, len(sel.Jobs))
	})
	p.done()
	moved := 0
	for _, o := range out {
		if o.Result == "retried" {
			moved++
		}
	}
	if asJSON {
		if werr := writeJSON(c.stdout, filteredResult{Filter: describeFilter(f), Read: sel.Read, Matching: len(sel.Jobs), Moved: moved, Outcomes: out}); werr != nil {
			return werr
		}
		return err
	}
	for _, o := range out {
		if o.Result != "retried" {
			fmt.Fprintf(c.stdout, "%s %s (%s %s): %s\n", o.Result, o.MessageID, o.Provider, o.EventKey, o.Error)
		}
	}
	fmt.Fprintf(c.stdout, "Moved %d of the %d matching messages (%s) back to the queue.\n", moved, len(sel.Jobs), describeFilter(f))
	return err
}

// confirmMove asks before moving more than confirmAbove messages: on a
// terminal it asks; elsewhere it is a usage error that names --yes.
func confirmMove(c *cli, n int, yes bool) error {
	if n <= confirmAbove || yes {
		return nil
	}
	if !c.interactive {
		return usagef("%d messages match: moving more than %d needs --yes (preview them with --dry-run); nothing was moved", n, confirmAbove)
	}
	fmt.Fprintf(c.stderr, "Move %d messages back to the queue? Type 'yes' to confirm: ", n)
	line, _ := bufio.NewReader(c.stdin).ReadString('\n')
	if strings.TrimSpace(strings.ToLower(line)) != "yes" {
		return errors.New("not confirmed; nothing was moved")
	}
	return nil
}
