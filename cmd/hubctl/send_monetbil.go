package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/sandbox"
	"github.com/payments-hub/hub/internal/webhooktest"
)

func newSendMonetbilCmd(c *cli) *cobra.Command {
	var o sendFlags
	var status string
	var failConfirm int
	cmd := &cobra.Command{
		Use:   "monetbil --transaction ID --status success|failed|cancelled",
		Short: "send a signed Monetbil payment notification",
		Long: `Sends a Monetbil payment notification signed with MONETBIL_SERVICE_SECRET.

The local sandbox of 'hubctl dev' is first told to confirm the payment with
the same status; --fail-confirmations N makes its checkPayment answer 500 N
times first, to watch the retries.`,
		Example: `  hubctl send monetbil --transaction tx_2001 --status success
  hubctl send monetbil --transaction tx_2001 --status success --fail-confirmations 2`,
		Args: wantArgs(0, "send monetbil --transaction ID --status STATUS"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			secret, err := c.env.MonetbilSecret()
			if err != nil {
				return usagef("%v", err)
			}
			form, err := webhooktest.BuildMonetbil(webhooktest.Monetbil{TransactionID: o.txID, Status: status, Amount: o.amount, Currency: o.currency, Secret: secret, BadSignature: o.bad})
			if err != nil {
				return usagef("%v", err)
			}
			paymentID, client := form.Get("transaction_id"), httpClient()
			if err := tellSandbox(cmd.Context(), c, client, o.base(c), form, status, failConfirm); err != nil {
				return err
			}
			header := http.Header{}
			header.Set("User-Agent", "Monetbil hubctl-send")
			return deliver(cmd.Context(), c, client, &o, delivery{provider: "monetbil", key: paymentID + ":" + status, path: intake.PathMonetbil, contentType: "application/x-www-form-urlencoded", body: []byte(form.Encode()), header: header})
		},
	}
	o.register(cmd)
	cmd.Flags().StringVar(&status, "status", "", "success, failed or cancelled")
	cmd.Flags().IntVar(&failConfirm, "fail-confirmations", 0, "the sandbox's checkPayment answers 500 this many times first")
	return cmd
}

// tellSandbox asks the dev sandbox to confirm the payment. Against any
// other intake there is no sandbox: say so and carry on, unless failures
// were asked for.
func tellSandbox(ctx context.Context, c *cli, client *http.Client, base string, form url.Values, status string, fails int) error {
	// checkPayment answers with the payment's reference, amount and
	// currency: the hub checks them against the notification.
	reg := url.Values{"paymentId": {form.Get("transaction_id")}, "status": {status}, "fail": {fmt.Sprint(fails)},
		"payment_ref": {form.Get("payment_ref")}, "amount": {form.Get("amount")}, "currency": {form.Get("currency")}}
	resp, err := webhooktest.Post(ctx, client, base+sandbox.Prefix+sandbox.RegisterPath, "application/x-www-form-urlencoded", []byte(reg.Encode()), nil)
	if err == nil && resp.Status == http.StatusNoContent {
		return nil
	}
	if fails > 0 {
		if err == nil {
			err = fmt.Errorf("HTTP %d", resp.Status)
		}
		return fmt.Errorf("--fail-confirmations needs the local sandbox of 'hubctl dev' at %s, which did not answer: %w", base, err)
	}
	fmt.Fprintf(c.stderr, "note: no local Monetbil sandbox at %s; the processor confirms with MONETBIL_API_URL\n", base)
	return nil
}
