package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/transaction"
)

func newTransactionsExpectCmd(c *cli) *cobra.Command {
	var provider, currency string
	var amount int64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "expect ID --provider P --amount N --currency C",
		Short: "tell the hub which payment to expect: a pending transaction with its amount and currency",
		Long: `Records the transaction ID as pending, with the amount (in the currency's
smallest unit, as the providers send it) and currency the application that
created the payment expects; or adds the expectation to a transaction the
hub already knows. A confirmed success for another amount or currency is
then an amount_mismatch, never applied; with
REQUIRE_EXPECTED_TRANSACTIONS=true, events for transactions nobody expected
change nothing.

The same expectation twice changes nothing; a different one for the same
transaction is refused (exit 1). This is the application's operation, run
with its own role (terraform output -raw application_policy_json).`,
		Example: `  hubctl transactions expect tx_1001 --provider stripe --amount 2500 --currency eur
  hubctl transactions expect tx_2001 --provider monetbil --amount 5000 --currency XAF --json`,
		Args: wantArgs(1, "transactions expect ID --provider P --amount N --currency C"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if provider != envelope.ProviderStripe && provider != envelope.ProviderMonetbil {
				return usagef("--provider %q: want stripe or monetbil", provider)
			}
			if amount <= 0 {
				return usagef("--amount must be a positive whole number of the currency's smallest unit (2500 for 25.00 EUR)")
			}
			if c3 := strings.TrimSpace(currency); len(c3) != 3 || strings.Trim(strings.ToUpper(c3), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
				return usagef("--currency %q: want a 3-letter ISO 4217 code (eur, XAF)", currency)
			}
			st, err := openStore(cmd.Context(), c, cmd.CommandPath())
			if err != nil {
				return err
			}
			tx, err := st.Expect(cmd.Context(), args[0], provider, transaction.Expectation{Amount: amount, Currency: currency}, time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, tx)
			}
			fmt.Fprintf(c.stdout, "transaction %s (%s) expects %d %s; status %s\n", tx.ID, tx.Provider, tx.Expected.Amount, tx.Expected.Currency, tx.Status)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&provider, "provider", "", "stripe or monetbil (required)")
	f.Int64Var(&amount, "amount", 0, "the amount expected, in the currency's smallest unit (required)")
	f.StringVar(&currency, "currency", "", "the currency expected, a 3-letter code (required)")
	f.BoolVar(&asJSON, "json", false, "print the transaction as JSON")
	return cmd
}
