// Package jobs holds the provider jobs the processor runs, the Go
// counterparts of Laravel's ProcessStripeWebhookEventJob and
// ProcessMonetbilCallbackEventJob: each turns a verified event into a change
// of the hub's transaction state.
package jobs

import (
	"context"
	"fmt"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/stripewebhook"
	"github.com/payments-hub/hub/internal/transaction"
)

// Stripe maps Stripe events onto the transaction state machine.
type Stripe struct{}

// Decide implements processing.Job.
func (Stripe) Decide(_ context.Context, e envelope.Envelope) (processing.Decision, error) {
	ev, err := stripewebhook.Parse([]byte(e.Payload))
	if err != nil {
		// The intake verified and parsed this payload; if it no longer
		// parses, no retry will change that.
		return processing.Decision{}, processing.Permanent(fmt.Errorf("stripe payload: %w", err))
	}
	if ev.ID != e.EventKey {
		return processing.Decision{}, processing.Permanent(fmt.Errorf("stripe payload id %q does not match the envelope's event key %q", ev.ID, e.EventKey))
	}
	status, ok := StripeStatus(ev)
	if !ok {
		return processing.Decision{Outcome: "ignored"}, nil
	}
	if ev.Object.TransactionID == "" {
		return processing.Decision{Outcome: "unmatched"}, nil
	}
	return processing.Decision{Change: &transaction.Change{
		TransactionID: ev.Object.TransactionID,
		Status:        status,
		Provider:      envelope.ProviderStripe,
		EventKey:      ev.ID,
		EventAt:       ev.Created,
		Amount:        ev.Object.Amount,
		Currency:      ev.Object.Currency,
	}}, nil
}

// StripeStatus maps an event type to the transaction status it means, and
// false for types the hub does not handle.
func StripeStatus(ev stripewebhook.Event) (transaction.Status, bool) {
	switch ev.Type {
	case "payment_intent.succeeded", "checkout.session.async_payment_succeeded":
		return transaction.Succeeded, true
	case "payment_intent.payment_failed", "checkout.session.async_payment_failed":
		return transaction.Failed, true
	case "payment_intent.canceled", "checkout.session.expired":
		return transaction.Cancelled, true
	case "payment_intent.processing":
		return transaction.Pending, true
	case "checkout.session.completed":
		// A delayed payment method completes the session before the money
		// arrives: payment_status says which.
		if ev.Object.PaymentStatus == "paid" || ev.Object.PaymentStatus == "no_payment_required" {
			return transaction.Succeeded, true
		}
		return transaction.Pending, true
	case "charge.refunded":
		if ev.Object.Refunded || (ev.Object.Amount > 0 && ev.Object.AmountRefunded >= ev.Object.Amount) {
			return transaction.Refunded, true
		}
		return transaction.PartiallyRefunded, true
	}
	return "", false
}
