package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newFailedForgetCmd(c *cli, asJSON *bool) *cobra.Command {
	return &cobra.Command{
		Use:   "forget ID",
		Short: "drop a failed event: delete its DLQ messages, mark its record forgotten",
		Long: `Deletes the DLQ message ID and every other DLQ message of the same event
(duplicate deliveries, or an original a retry could not delete), so that no
later redrive applies a copy, and marks the event's failure record FORGOTTEN.
It reads the whole DLQ to find the copies, and says how many it deleted.`,
		Example: `  hubctl failed forget 8d3c6f3e-5a4b-4c2d-9e1f-0a1b2c3d4e5f`,
		Args:    wantArgs(1, "failed forget ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := failedService(cmd.Context(), c, cmd)
			if err != nil {
				return err
			}
			p := c.progress()
			o, err := svc.Forget(cmd.Context(), args[0], scanProgress(p, "looking for the event's messages"))
			p.done()
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(c.stdout, o)
			}
			fmt.Fprintf(c.stdout, "forgot %s (%s %s): %d DLQ messages of the event deleted\n", o.MessageID, o.Provider, o.EventKey, o.Deleted)
			if o.Error != "" {
				fmt.Fprintln(c.stderr, "warning:", o.Error)
			}
			return nil
		},
	}
}
