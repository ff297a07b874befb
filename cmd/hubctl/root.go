package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

const rootLong = `hubctl operates the Payments Hub: Stripe and Monetbil webhooks, queued in SQS,
processed into transactions in DynamoDB, failures kept in the dead-letter queue.`

// rootFooter closes 'hubctl --help'.
const rootFooter = `
Coming from Laravel:
  php artisan queue:work          hubctl work
  php artisan queue:failed        hubctl failed list
  php artisan queue:retry ID      hubctl failed retry ID
  php artisan queue:retry all     hubctl failed retry --all   (= the console's "Start DLQ redrive")
  php artisan queue:forget ID     hubctl failed forget ID
  php artisan queue:flush         hubctl failed flush
  Horizon                         hubctl status --watch
  (3 tries, then failed_jobs)     3 tries, then 3 automatic rounds after 5 min, 30 min, 2 h
                                  (AUTO_REDRIVE_SECONDS; hubctl work and the redriver run them)

Configuration comes from the same environment as the functions: QUEUE_URL,
DLQ_URL, EVENTS_TABLE, TRANSACTIONS_TABLE, AWS_REGION, and AWS_ENDPOINT_URL or
AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_DYNAMODB for LocalStack or local servers.

Shell completion: source <(hubctl completion bash)   (also zsh, fish)

Exit codes: 0 ok, 1 the operation failed, 2 usage error.
`

// newRoot builds the command tree; every command is listed here.
func newRoot(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:           "hubctl",
		Short:         "operate the Payments Hub",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRun: func(*cobra.Command, []string) {
			c.started = true
		},
		// Cobra refuses unknown commands itself, with suggestions.
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Help()
			return errHelpShown
		},
	}
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err.Error()} })
	root.AddCommand(
		newWorkCmd(c),
		newSetupCmd(c),
		newDevCmd(c),
		newSendCmd(c),
		newFailedCmd(c),
		newStatusCmd(c),
		newTransactionsCmd(c),
		newEventsCmd(c),
	)
	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		defaultHelp(cmd, args)
		if cmd == root {
			fmt.Fprint(cmd.OutOrStdout(), rootFooter)
		}
	})
	return root
}
