package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/failedjobs"
)

func newFailedListCmd(c *cli, asJSON *bool) *cobra.Command {
	var limit int
	var ff filterFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list the failed events: DLQ messages joined with their failure records",
		Long: `Reads every message of the DLQ once and joins it with the failure record the
processor wrote. Listing raises each message's receive count by one and
leaves every message visible again. On a terminal, a read that takes more
than a second shows its progress.

ROUNDS shows the automatic redrive rounds spent (AUTO_REDRIVE_SECONDS) and
NEXT when the next one is due ("due": at the next pass, unless the
provider's dependency still fails; "-": none will come, for a permanent
failure, a forgotten event, or every round spent).

The filters select what is listed: --provider, --error-type (transient,
permanent, or an error class as in error_type), --since and --until (the
failure time: RFC 3339, or a duration ago such as 2h) and --transaction.`,
		Example: `  hubctl failed list
  hubctl failed list --limit 50
  hubctl failed list --provider monetbil --error-type transient --since 2h
  hubctl failed list --json | jq -r '.[] | select(.permanent) | .message_id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return usagef("--limit must be positive")
			}
			f, err := ff.filter(time.Now())
			if err != nil {
				return err
			}
			svc, err := failedService(cmd.Context(), c, cmd)
			if err != nil {
				return err
			}
			p := c.progress()
			l, err := svc.List(cmd.Context(), failedjobs.ListOptions{Limit: limit, Filter: f, Progress: scanProgress(p, "listing")})
			p.done()
			if err != nil {
				return err
			}
			if note := l.Note(svc.Budget(), svc.Hide()); note != "" {
				fmt.Fprintln(c.stderr, "note: the listing "+note)
			}
			if *asJSON {
				return writeJSON(c.stdout, l.Jobs)
			}
			return printListing(c, l, f)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "read at most N messages (default: all)")
	ff.add(cmd.Flags())
	return cmd
}

func printListing(c *cli, l failedjobs.Listing, f failedjobs.Filter) error {
	switch {
	case l.Read == 0:
		fmt.Fprintln(c.stdout, "No failed jobs: the DLQ is empty.")
		return nil
	case len(l.Jobs) == 0:
		fmt.Fprintf(c.stdout, "No failed jobs match (%s) among the %d read.\n", describeFilter(f), l.Read)
		return nil
	}
	if err := printJobs(c, l.Jobs); err != nil {
		return err
	}
	if f.IsZero() {
		fmt.Fprintf(c.stdout, "%d failed jobs. Listing raised each message's receive count by one.\n", len(l.Jobs))
	} else {
		fmt.Fprintf(c.stdout, "%d of %d failed jobs match (%s). Listing raised each message's receive count by one.\n", len(l.Jobs), l.Read, describeFilter(f))
	}
	return nil
}

func printJobs(c *cli, jobs []failedjobs.FailedJob) error {
	now := time.Now()
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MESSAGE ID\tPROVIDER\tEVENT KEY\tTYPE\tTRANSACTION\tATTEMPTS\tFAILED AT\tROUNDS\tNEXT\tERROR")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", j.MessageID, j.Provider, j.EventKey, orDash(j.EventType), orDash(j.TransactionID),
			j.Attempts, formatTime(j.FailedAt), roundsOf(j), nextRound(j, now), oneLine(j.Error, 100))
	}
	return tw.Flush()
}
