package stripewebhook_test

import (
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/stripewebhook"
)

// benchPayload is a payment_intent.succeeded event shaped like a real one
// (about 2 KB): the size the intake verifies per webhook.
const benchPayload = `{
  "id": "evt_3QbenchA1b2C3d4E5f6G7h8",
  "object": "event",
  "api_version": "2025-10-29.clover",
  "created": 1764000000,
  "data": {
    "object": {
      "id": "pi_3QbenchA1b2C3d4E5f6G7h8",
      "object": "payment_intent",
      "amount": 1500,
      "amount_capturable": 0,
      "amount_details": {"tip": {}},
      "amount_received": 1500,
      "application": null,
      "application_fee_amount": null,
      "automatic_payment_methods": {"allow_redirects": "always", "enabled": true},
      "canceled_at": null,
      "cancellation_reason": null,
      "capture_method": "automatic_async",
      "client_secret": "pi_3QbenchA1b2C3d4E5f6G7h8_secret_XyZ0123456789abcdef",
      "confirmation_method": "automatic",
      "created": 1763999990,
      "currency": "eur",
      "customer": "cus_Rbench0123456789",
      "description": "Order 42",
      "last_payment_error": null,
      "latest_charge": "ch_3QbenchA1b2C3d4E5f6G7h8",
      "livemode": false,
      "metadata": {"transaction_id": "tx_42", "order_id": "ord_42"},
      "next_action": null,
      "on_behalf_of": null,
      "payment_method": "pm_1QbenchA1b2C3d4E5f6G7h8",
      "payment_method_configuration_details": {"id": "pmc_1Qbench0123456789", "parent": null},
      "payment_method_options": {"card": {"installments": null, "mandate_options": null, "network": null, "request_three_d_secure": "automatic"}},
      "payment_method_types": ["card"],
      "processing": null,
      "receipt_email": "buyer@example.com",
      "review": null,
      "setup_future_usage": null,
      "shipping": null,
      "source": null,
      "statement_descriptor": null,
      "statement_descriptor_suffix": null,
      "status": "succeeded",
      "transfer_data": null,
      "transfer_group": null
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": "req_bench0123456789", "idempotency_key": "2f0c8f3e-5b1d-4d0e-9a3b-0123456789ab"},
  "type": "payment_intent.succeeded"
}`

var benchNow = time.Unix(1764000000, 0)

func benchVerifier(b *testing.B, secrets ...string) *stripewebhook.Verifier {
	b.Helper()
	v, err := stripewebhook.NewVerifier(secrets, 0)
	if err != nil {
		b.Fatal(err)
	}
	return v.WithClock(func() time.Time { return benchNow })
}

func benchHeader(secret string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(benchPayload), Secret: secret, Timestamp: benchNow}).Header
}

// BenchmarkVerify measures what the intake does for every Stripe webhook
// before anything else: the Stripe-Signature check (HMAC-SHA256 over the
// timestamp and the 2 KB body).
func BenchmarkVerify(b *testing.B) {
	body := []byte(benchPayload)
	b.Run("valid", func(b *testing.B) {
		v, h := benchVerifier(b, "whsec_bench"), benchHeader("whsec_bench")
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := v.Verify(body, h); err != nil {
				b.Fatal(err)
			}
		}
	})
	// While a secret is rolled, the old one is tried after the new one.
	b.Run("rolled_secret_second", func(b *testing.B) {
		v, h := benchVerifier(b, "whsec_new", "whsec_bench"), benchHeader("whsec_bench")
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := v.Verify(body, h); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A forged request costs as much as a good one: no early exit.
	b.Run("bad_signature", func(b *testing.B) {
		v, h := benchVerifier(b, "whsec_bench"), benchHeader("whsec_other")
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := v.Verify(body, h); err == nil {
				b.Fatal("forged signature accepted")
			}
		}
	})
}

// BenchmarkParse measures decoding the fields the hub needs from the event,
// done once by the intake and once by the job.
func BenchmarkParse(b *testing.B) {
	body := []byte(benchPayload)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := stripewebhook.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
