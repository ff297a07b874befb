package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newFailedFlushCmd(c *cli, asJSON *bool) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "flush",
		Short: "purge the whole DLQ (failure records stay)",
		Long: `Purges every message of the DLQ after a confirmation (--force in scripts).
The failure records stay in the events table, for the record. SQS allows one
purge per queue every 60 seconds, and may take that long to finish it.`,
		Example: `  hubctl failed flush
  hubctl failed flush --force`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := failedService(cmd.Context(), c, cmd)
			if err != nil {
				return err
			}
			if !force {
				fmt.Fprintf(c.stderr, "This deletes every message in %s; their failure records stay. Type 'flush' to confirm: ", svc.DLQURL())
				line, _ := bufio.NewReader(c.stdin).ReadString('\n')
				if strings.TrimSpace(line) != "flush" {
					return errors.New("not confirmed; nothing deleted (use --force in scripts)")
				}
			}
			if err := svc.Flush(cmd.Context()); err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(c.stdout, map[string]any{"purged": true, "dlq_url": svc.DLQURL()})
			}
			fmt.Fprintln(c.stdout, "DLQ purged (SQS may take up to 60 s to finish).")
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "do not ask for confirmation")
	return cmd
}
