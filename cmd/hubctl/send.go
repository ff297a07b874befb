package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/sandbox"
	"github.com/payments-hub/hub/internal/webhooktest"
)

func init() {
	register(command{name: "send", summary: "send a signed test webhook: send stripe TYPE | send monetbil", run: runSend})
}

func runSend(ctx context.Context, c *cli, args []string) error {
	f := newFlags(c, "send", `
Usage:
  hubctl send stripe TYPE --transaction ID [--amount N] [--currency C] [--dup N] [--stale] [--bad-signature] [--url URL]
  hubctl send monetbil --transaction ID --status success|failed|cancelled [--fail-confirmations N] [--url URL]

Builds a realistic webhook as the provider sends it, signs it the provider's
way (STRIPE_WEBHOOK_SECRET, MONETBIL_SERVICE_SECRET), posts it to the intake
(--url, default $HUB_URL or http://127.0.0.1:8080) and prints the answer.
Exits 1 when the intake does not answer 2xx.

Stripe TYPE is one the hub maps (payment_intent.succeeded, .payment_failed,
.canceled, .processing, charge.refunded, checkout.session.completed,
.async_payment_succeeded, .async_payment_failed, .expired) or any other, which
the hub acknowledges and ignores. --dup N sends the same event N times, --stale
signs it with a timestamp 10 minutes old, --bad-signature corrupts the
signature.

For Monetbil, the local sandbox of 'hubctl dev' is first told to confirm the
payment with the same status; --fail-confirmations N makes its checkPayment
answer 500 N times first, to watch the retries.

Examples:
  hubctl send stripe payment_intent.succeeded --transaction tx_1001
  hubctl send stripe charge.refunded --transaction tx_1001 --amount 2500 --currency eur
  hubctl send monetbil --transaction tx_2001 --status success --fail-confirmations 2
`)
	txID := f.String("transaction", "", "the hub's transaction id")
	amount := f.Int64("amount", 0, "amount in minor units (default 2500 Stripe, 500 Monetbil)")
	currency := f.String("currency", "", "currency (default eur Stripe, XAF Monetbil)")
	target := f.String("url", "", "intake base URL (default $HUB_URL or http://127.0.0.1:8080)")
	dup := f.Int("dup", 1, "send the same webhook N times")
	stale := f.Bool("stale", false, "Stripe: sign with a timestamp older than the 300 s tolerance")
	bad := f.Bool("bad-signature", false, "corrupt the signature")
	status := f.String("status", "", "Monetbil: success, failed or cancelled")
	failConfirm := f.Int("fail-confirmations", 0, "Monetbil: the sandbox's checkPayment answers 500 this many times first")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want: send stripe TYPE ... or send monetbil ...")
	}
	if *txID == "" {
		return usagef("--transaction is required")
	}
	if *dup < 1 || *dup > 1000 {
		return usagef("--dup must be between 1 and 1000")
	}
	base := *target
	if base == "" {
		base = c.getenv("HUB_URL")
	}
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	base = strings.TrimSuffix(base, "/")
	client := &http.Client{Timeout: 30 * time.Second}

	var (
		key, path, contentType string
		body                   []byte
		header                 = http.Header{}
	)
	switch pos[0] {
	case "stripe":
		if len(pos) != 2 {
			return usagef("want: send stripe TYPE --transaction ID")
		}
		if *status != "" || *failConfirm != 0 {
			return usagef("--status and --fail-confirmations are for monetbil")
		}
		secrets, err := config.SplitSecrets(c.getenv(config.EnvStripeSecret))
		if err != nil || c.getenv(config.EnvStripeSecret) == "" {
			return usagef("STRIPE_WEBHOOK_SECRET is not set: source the env file 'hubctl dev' wrote (source build/dev.env)")
		}
		ev, err := webhooktest.BuildStripe(webhooktest.Stripe{Type: pos[1], TransactionID: *txID, Amount: *amount, Currency: *currency, Secret: secrets[0], Stale: *stale, BadSignature: *bad})
		if err != nil {
			return usagef("%v", err)
		}
		key, path, contentType, body = ev.ID, intake.PathStripe, "application/json; charset=utf-8", ev.Body
		header.Set("Stripe-Signature", ev.Header)
		header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks) hubctl-send")
	case "monetbil":
		if len(pos) != 1 {
			return usagef("want: send monetbil --transaction ID --status STATUS")
		}
		if *stale {
			return usagef("--stale is for stripe: Monetbil signatures carry no timestamp")
		}
		secret := c.getenv(config.EnvMonetbilSecret)
		if secret == "" {
			return usagef("MONETBIL_SERVICE_SECRET is not set: source the env file 'hubctl dev' wrote (source build/dev.env)")
		}
		form, err := webhooktest.BuildMonetbil(webhooktest.Monetbil{TransactionID: *txID, Status: *status, Amount: *amount, Currency: *currency, Secret: secret, BadSignature: *bad})
		if err != nil {
			return usagef("%v", err)
		}
		paymentID := form.Get("transaction_id")
		key, path, contentType, body = paymentID+":"+*status, intake.PathMonetbil, "application/x-www-form-urlencoded", []byte(form.Encode())
		header.Set("User-Agent", "Monetbil hubctl-send")
		// Tell the dev sandbox how to confirm this payment. Against any other
		// intake there is no sandbox: say so and carry on.
		reg := url.Values{"paymentId": {paymentID}, "status": {*status}, "fail": {fmt.Sprint(*failConfirm)},
			"payment_ref": {form.Get("payment_ref")}, "amount": {form.Get("amount")}, "currency": {form.Get("currency")}}
		resp, err := webhooktest.Post(ctx, client, base+sandbox.Prefix+sandbox.RegisterPath, "application/x-www-form-urlencoded", []byte(reg.Encode()), nil)
		if err != nil || resp.Status != http.StatusNoContent {
			if *failConfirm > 0 {
				if err == nil {
					err = fmt.Errorf("HTTP %d", resp.Status)
				}
				return fmt.Errorf("--fail-confirmations needs the local sandbox of 'hubctl dev' at %s, which did not answer: %w", base, err)
			}
			fmt.Fprintf(c.stderr, "note: no local Monetbil sandbox at %s; the processor confirms with MONETBIL_API_URL\n", base)
		}
	default:
		return usagef("unknown provider %q: want stripe or monetbil", pos[0])
	}

	var answers []webhooktest.Response
	failed := 0
	for range *dup {
		resp, err := webhooktest.Post(ctx, client, base+path, contentType, body, header)
		if err != nil {
			return fmt.Errorf("%w (is 'hubctl dev' or 'make run' running?)", err)
		}
		answers = append(answers, resp)
		if resp.Status < 200 || resp.Status > 299 {
			failed++
		}
	}
	if *asJSON {
		if err := writeJSON(c.stdout, map[string]any{"provider": pos[0], "event_key": key, "transaction_id": *txID, "responses": answers}); err != nil {
			return err
		}
	} else {
		for _, a := range answers {
			fmt.Fprintf(c.stdout, "%s %s -> %d %s\n", pos[0], key, a.Status, strings.TrimSpace(a.Body))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d deliveries were not accepted", failed, len(answers))
	}
	return nil
}
