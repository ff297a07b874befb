package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/provision"
)

func newSetupCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "create the queue, the DLQ and the tables on local servers or LocalStack",
		Long: `Creates, when missing, the queue, its dead-letter queue and the DynamoDB tables
with the production settings (visibility timeout 60 s, RedrivePolicy
maxReceiveCount MAX_ATTEMPTS (default 3), DLQ retention 14 days,
RedriveAllowPolicy), against the endpoints the environment names. Running it
twice changes nothing. Deploy to AWS with Terraform instead.

Names come from QUEUE_URL or QUEUE_NAME (default payments-hub-events), DLQ_URL
or DLQ_NAME (default payments-hub-failed-jobs), EVENTS_TABLE (default
payments-hub-events) and TRANSACTIONS_TABLE (default payments-hub-transactions).

It prints the resulting environment as KEY=value lines, so that this works:

  eval "$(hubctl setup)"`,
		Example: `  AWS_ENDPOINT_URL=http://localhost:4566 hubctl setup
  hubctl setup --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			policy, err := c.env.Policy()
			if err != nil {
				return usagef("%v", err)
			}
			a, err := app.LoadAWS(cmd.Context(), cmd.CommandPath())
			if err != nil {
				return err
			}
			env, err := provision.Setup(cmd.Context(), a.SQS, a.DynamoDB, c.env.Names, policy.MaxAttempts)
			if err != nil {
				return err
			}
			if len(env.Created) > 0 {
				fmt.Fprintf(c.stderr, "hubctl setup: created %s\n", strings.Join(env.Created, ", "))
			}
			if asJSON {
				return writeJSON(c.stdout, map[string]any{
					"QUEUE_URL": env.QueueURL, "DLQ_URL": env.DLQURL, "EVENTS_TABLE": env.Tables.Events,
					"TRANSACTIONS_TABLE": env.Tables.Transactions, "created": append([]string{}, env.Created...),
				})
			}
			fmt.Fprint(c.stdout, env.Lines())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the environment as a JSON object instead of KEY=value lines")
	return cmd
}
