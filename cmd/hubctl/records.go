package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/store/dynamostore"
)

// openStore opens the tables for the command labelled label.
func openStore(ctx context.Context, c *cli, label string) (store.Store, error) {
	a, err := app.LoadAWS(ctx, label)
	if err != nil {
		return nil, err
	}
	return dynamostore.New(a.DynamoDB, c.env.EventsTable, c.env.TransactionsTable)
}

func newTransactionsCmd(c *cli) *cobra.Command {
	var asJSON bool
	get := &cobra.Command{
		Use:   "get ID",
		Short: "show a transaction's state",
		Long: `Shows the stored transaction: its status (pending, succeeded, failed,
cancelled, refunded, partially_refunded), amount, and the last event applied.
Exits 1 when there is no such transaction.`,
		Example: `  hubctl transactions get tx_1001
  hubctl transactions get tx_1001 --json`,
		Args: wantArgs(1, "transactions get ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd.Context(), c, cmd.CommandPath())
			if err != nil {
				return err
			}
			tx, err := st.Transaction(cmd.Context(), args[0])
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no transaction %q in table %s", args[0], c.env.TransactionsTable)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, tx)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
			row("transaction_id", tx.ID)
			row("status", tx.Status)
			row("provider", tx.Provider)
			if tx.Amount != 0 {
				row("amount", fmt.Sprintf("%d %s", tx.Amount, tx.Currency))
			}
			row("last_event", tx.LastEventKey)
			row("last_event_at", formatTime(tx.LastEventAt))
			row("updated_at", formatTime(tx.UpdatedAt))
			row("changes", tx.Version)
			return tw.Flush()
		},
	}
	get.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return group(&cobra.Command{
		Use:     "transactions",
		Short:   "show a transaction's state: transactions get ID [--json]",
		Example: "  hubctl transactions get tx_1001 --json",
	}, get)
}

func newEventsCmd(c *cli) *cobra.Command {
	var asJSON bool
	get := &cobra.Command{
		Use:   "get PROVIDER KEY",
		Short: "show an event's record",
		Long: `Shows the stored record of one provider event: status (IN_PROGRESS, PROCESSED,
FAILED, FORGOTTEN), attempts, outcome and the last error. PROVIDER is stripe or
monetbil; KEY is the Stripe event id (evt_...) or the Monetbil key
(<transaction_id>:<status>). Exits 1 when there is no such record.`,
		Example: `  hubctl events get stripe evt_1Q2w3E4r5T6y
  hubctl events get monetbil MB1234:success --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := wantArgs(2, "events get PROVIDER KEY")(cmd, args); err != nil {
				return err
			}
			if args[0] != "stripe" && args[0] != "monetbil" {
				return usagef("provider %q: want stripe or monetbil", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd.Context(), c, cmd.CommandPath())
			if err != nil {
				return err
			}
			rec, err := st.Event(cmd.Context(), args[0], args[1])
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no %s event %q in table %s", args[0], args[1], c.env.EventsTable)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, rec)
			}
			return printEvent(c, rec)
		},
	}
	get.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return group(&cobra.Command{
		Use:     "events",
		Short:   "show an event's record: events get PROVIDER KEY [--json]",
		Example: "  hubctl events get stripe evt_1Q2w3E4r5T6y",
	}, get)
}

func printEvent(c *cli, rec store.EventRecord) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("provider", rec.Provider)
	row("event_key", rec.EventKey)
	row("event_type", rec.EventType)
	row("transaction_id", rec.TransactionID)
	row("status", rec.Status)
	row("attempts", rec.Attempts)
	row("outcome", rec.Outcome)
	if rec.LastError != "" {
		row("last_error", rec.LastError)
		row("error_type", rec.ErrorType)
		row("permanent", rec.Permanent)
		row("first_failed_at", formatTime(rec.FirstFailedAt))
		row("last_failed_at", formatTime(rec.LastFailedAt))
	}
	row("updated_at", formatTime(rec.UpdatedAt))
	return tw.Flush()
}
