package main

import (
	"net/http"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/webhooktest"
)

func newSendStripeCmd(c *cli) *cobra.Command {
	var o sendFlags
	var stale bool
	cmd := &cobra.Command{
		Use:   "stripe TYPE --transaction ID",
		Short: "send a signed Stripe event",
		Long: `Sends a Stripe event of TYPE signed with STRIPE_WEBHOOK_SECRET.

TYPE is one the hub maps (payment_intent.succeeded, .payment_failed,
.canceled, .processing, charge.refunded, checkout.session.completed,
.async_payment_succeeded, .async_payment_failed, .expired) or any other, which
the hub acknowledges and ignores. --dup N sends the same event N times, --stale
signs it with a timestamp 10 minutes old, --bad-signature corrupts the
signature.`,
		Example: `  hubctl send stripe payment_intent.succeeded --transaction tx_1001
  hubctl send stripe charge.refunded --transaction tx_1001 --amount 2500 --currency eur
  hubctl send stripe payment_intent.succeeded --transaction tx_1002 --dup 3`,
		Args: wantArgs(1, "send stripe TYPE --transaction ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			secrets, err := c.env.StripeSecrets()
			if err != nil {
				return usagef("%v", err)
			}
			ev, err := webhooktest.BuildStripe(webhooktest.Stripe{Type: args[0], TransactionID: o.txID, Amount: o.amount, Currency: o.currency, Secret: secrets[0], Stale: stale, BadSignature: o.bad})
			if err != nil {
				return usagef("%v", err)
			}
			header := http.Header{}
			header.Set("Stripe-Signature", ev.Header)
			header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks) hubctl-send")
			return deliver(cmd.Context(), c, httpClient(), &o, delivery{provider: "stripe", key: ev.ID, path: intake.PathStripe, contentType: "application/json; charset=utf-8", body: ev.Body, header: header})
		},
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&stale, "stale", false, "sign with a timestamp older than the 300 s tolerance")
	return cmd
}
