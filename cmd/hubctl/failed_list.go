package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/failedjobs"
)

func newFailedListCmd(c *cli, asJSON *bool) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list the failed events: DLQ messages joined with their failure records",
		Long: `Reads every message of the DLQ once and joins it with the failure record the
processor wrote. Listing raises each message's receive count by one and
leaves every message visible again. On a terminal, a read that takes more
than a second shows its progress.`,
		Example: `  hubctl failed list
  hubctl failed list --limit 50
  hubctl failed list --json | jq -r '.[] | select(.permanent) | .message_id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return usagef("--limit must be positive")
			}
			svc, err := failedService(cmd.Context(), c, cmd)
			if err != nil {
				return err
			}
			p := c.progress()
			l, err := svc.List(cmd.Context(), failedjobs.ListOptions{Limit: limit, Progress: scanProgress(p, "listing")})
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
			return printJobs(c, l.Jobs)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most N messages (default: all)")
	return cmd
}

func printJobs(c *cli, jobs []failedjobs.FailedJob) error {
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
}
