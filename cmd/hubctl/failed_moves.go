package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newFailedMovesCmd(c *cli, asJSON *bool) *cobra.Command {
	var cancel string
	cmd := &cobra.Command{
		Use:   "moves",
		Short: "the DLQ's redrive tasks (the console's Dead-letter queue redrive tab)",
		Long: `Lists the DLQ's latest message move tasks (SQS keeps the last 10) with what
each moved. --cancel stops a running one; what it moved stays moved.`,
		Example: `  hubctl failed moves
  hubctl failed moves --cancel arn:aws:sqs:...`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := failedService(cmd.Context(), c, cmd)
			if err != nil {
				return err
			}
			if cancel != "" {
				moved, err := svc.CancelMove(cmd.Context(), cancel)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "cancelled %s after %d messages moved (they stay moved)\n", cancel, moved)
				return nil
			}
			tasks, err := svc.Moves(cmd.Context())
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
		},
	}
	cmd.Flags().StringVar(&cancel, "cancel", "", "cancel the move task with this handle")
	return cmd
}
