package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

// openStore opens the tables for the command labelled label.
func openStore(ctx context.Context, c *cli, label string) (store.Store, error) {
	a, err := app.LoadAWS(ctx, label)
	if err != nil {
		return nil, err
	}
	return app.Store(a, c.env.Tables())
}

func newTransactionsCmd(c *cli) *cobra.Command {
	var asJSON bool
	get := &cobra.Command{
		Use:   "get ID",
		Short: "show a transaction's state",
		Long: `Shows the stored transaction: its status (pending, succeeded, failed,
cancelled, refunded, partially_refunded), amount, the events applied to it
and the Stripe objects it is matched through. Exits 1 when there is no such
transaction.`,
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
				return fmt.Errorf("no transaction %q in table %s", args[0], c.env.Tables().Transactions)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, tx)
			}
			return printTransaction(c, tx)
		},
	}
	get.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return group(&cobra.Command{
		Use:   "transactions",
		Short: "a transaction's state (get ID), or the payment the hub should expect (expect ID ...)",
		Example: `  hubctl transactions get tx_1001 --json
  hubctl transactions expect tx_1001 --provider stripe --amount 2500 --currency eur`,
	}, get, newTransactionsExpectCmd(c))
}

func printTransaction(c *cli, tx transaction.Transaction) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("transaction_id", tx.ID)
	row("status", tx.Status)
	row("provider", tx.Provider)
	if tx.Amount != 0 {
		row("amount", fmt.Sprintf("%d %s", tx.Amount, tx.Currency))
	}
	if tx.Expected != nil {
		row("expected", fmt.Sprintf("%d %s", tx.Expected.Amount, tx.Expected.Currency))
	}
	row("last_event", tx.LastEventKey)
	row("last_event_at", formatTime(tx.LastEventAt))
	for i, e := range tx.Events {
		label := ""
		if i == 0 {
			label = "events"
		}
		row(label, fmt.Sprintf("%s  %s", e.Key, formatTime(e.At)))
	}
	if !tx.Stripe.IsZero() {
		row("stripe", fmt.Sprintf("payment_intent=%s checkout_session=%s charge=%s", orDash(tx.Stripe.PaymentIntent), orDash(tx.Stripe.CheckoutSession), orDash(tx.Stripe.Charge)))
	}
	row("updated_at", formatTime(tx.UpdatedAt))
	row("changes", tx.Version)
	return tw.Flush()
}
