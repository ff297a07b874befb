package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/webhooktest"
)

// sendFlags are the flags both providers' send commands take.
type sendFlags struct {
	txID     string
	amount   int64
	currency string
	url      string
	dup      int
	bad      bool
	asJSON   bool
}

func (o *sendFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.txID, "transaction", "", "the hub's transaction id (required)")
	f.Int64Var(&o.amount, "amount", 0, "amount in minor units (default 2500 Stripe, 500 Monetbil)")
	f.StringVar(&o.currency, "currency", "", "currency (default eur Stripe, XAF Monetbil)")
	f.StringVar(&o.url, "url", "", "intake base URL (default $HUB_URL or http://127.0.0.1:8080)")
	f.IntVar(&o.dup, "dup", 1, "send the same webhook N times")
	f.BoolVar(&o.bad, "bad-signature", false, "corrupt the signature")
	f.BoolVar(&o.asJSON, "json", false, "print JSON")
}

func (o *sendFlags) validate() error {
	if o.txID == "" {
		return usagef("--transaction is required")
	}
	if o.dup < 1 || o.dup > 1000 {
		return usagef("--dup must be between 1 and 1000")
	}
	return nil
}

func (o *sendFlags) base(c *cli) string {
	if o.url != "" {
		return strings.TrimSuffix(o.url, "/")
	}
	return c.env.HubURL
}

func newSendCmd(c *cli) *cobra.Command {
	return group(&cobra.Command{
		Use:   "send",
		Short: "send a signed test webhook: send stripe TYPE | send monetbil",
		Long: `Builds a realistic webhook as the provider sends it, signs it the provider's
way (STRIPE_WEBHOOK_SECRET, MONETBIL_SERVICE_SECRET), posts it to the intake
(--url, default $HUB_URL or http://127.0.0.1:8080) and prints the answer.
Exits 1 when the intake does not answer 2xx.`,
		Example: `  hubctl send stripe payment_intent.succeeded --transaction tx_1001
  hubctl send monetbil --transaction tx_2001 --status success --fail-confirmations 2`,
	}, newSendStripeCmd(c), newSendMonetbilCmd(c))
}

// delivery is one webhook to post.
type delivery struct {
	provider, key, path, contentType string
	body                             []byte
	header                           http.Header
}

// deliver posts d dup times and prints the answers.
func deliver(ctx context.Context, c *cli, client *http.Client, o *sendFlags, d delivery) error {
	var answers []webhooktest.Response
	failed := 0
	for range o.dup {
		resp, err := webhooktest.Post(ctx, client, o.base(c)+d.path, d.contentType, d.body, d.header)
		if err != nil {
			return fmt.Errorf("%w (is 'hubctl dev' or 'make run' running?)", err)
		}
		answers = append(answers, resp)
		if resp.Status < 200 || resp.Status > 299 {
			failed++
		}
	}
	if o.asJSON {
		if err := writeJSON(c.stdout, map[string]any{"provider": d.provider, "event_key": d.key, "transaction_id": o.txID, "responses": answers}); err != nil {
			return err
		}
	} else {
		for _, a := range answers {
			fmt.Fprintf(c.stdout, "%s %s -> %d %s\n", d.provider, d.key, a.Status, strings.TrimSpace(a.Body))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d deliveries were not accepted", failed, len(answers))
	}
	return nil
}

func httpClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }
