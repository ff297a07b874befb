// Package jobs holds the provider jobs the processor runs: each turns a
// verified event into a decision about the hub's transaction state. Jobs
// only read (Monetbil's job asks checkPayment); the processor writes.
package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/stripewebhook"
	"github.com/payments-hub/hub/internal/transaction"
)

// StripeMode is the Stripe mode the hub serves (STRIPE_MODE): an event of
// the other mode is acknowledged and recorded, never applied.
type StripeMode string

// Stripe modes. The zero value is live: a test event never moves a live
// payment by default.
const (
	StripeLive StripeMode = "live"
	StripeTest StripeMode = "test"
)

// TransactionFinder finds the transaction a Stripe payment intent paid
// (store.Store).
type TransactionFinder interface {
	TransactionByStripePaymentIntent(ctx context.Context, paymentIntent string) (string, error)
}

// Stripe maps Stripe events onto the transaction state machine.
type Stripe struct {
	Mode StripeMode
	// Finder matches an event that lacks the hub's transaction id (a
	// refund of a charge Checkout created) through its payment intent;
	// nil: such events are unmatched.
	Finder TransactionFinder
}

// Decide implements processing.Job.
func (j Stripe) Decide(ctx context.Context, e envelope.Envelope) (processing.Decision, error) {
	ev, err := stripewebhook.Parse([]byte(e.Payload))
	if err != nil {
		// The intake verified and parsed this payload; if it no longer
		// parses, no retry will change that.
		return processing.Decision{}, processing.Permanent(fmt.Errorf("stripe payload: %w", err))
	}
	if ev.ID != e.EventKey {
		return processing.Decision{}, processing.Permanent(fmt.Errorf("stripe payload id %q does not match the envelope's event key %q", ev.ID, e.EventKey))
	}
	if live := j.Mode != StripeTest; ev.Livemode != live {
		return processing.Decision{Outcome: processing.OutcomeLivemodeMismatch, TransactionID: ev.Object.TransactionID,
			Detail: fmt.Sprintf("a livemode=%v event on a hub in %s mode (STRIPE_MODE)", ev.Livemode, j.mode())}, nil
	}
	status, ok := StripeStatus(ev)
	if !ok {
		return processing.Decision{Outcome: processing.OutcomeIgnored}, nil
	}
	txID, err := j.transactionID(ctx, ev)
	if err != nil {
		return processing.Decision{}, err
	}
	if txID == "" {
		return processing.Decision{Outcome: "unmatched", Detail: "no metadata.transaction_id or client_reference_id, and no transaction knows its payment intent"}, nil
	}
	return processing.Decision{Change: &transaction.Change{
		TransactionID: txID,
		Status:        status,
		Provider:      envelope.ProviderStripe,
		EventKey:      ev.ID,
		EventAt:       ev.Created,
		Amount:        ev.Object.Amount,
		Currency:      ev.Object.Currency,
		Stripe:        refs(ev.Object),
	}}, nil
}

func (j Stripe) mode() StripeMode {
	if j.Mode == "" {
		return StripeLive
	}
	return j.Mode
}

// transactionID is the hub transaction an event concerns: the one it names,
// or the one its payment intent paid.
func (j Stripe) transactionID(ctx context.Context, ev stripewebhook.Event) (string, error) {
	if ev.Object.TransactionID != "" || ev.Object.PaymentIntent == "" || j.Finder == nil {
		return ev.Object.TransactionID, nil
	}
	id, err := j.Finder.TransactionByStripePaymentIntent(ctx, ev.Object.PaymentIntent)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrAmbiguous):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("find the transaction of payment intent %s: %w", ev.Object.PaymentIntent, err)
	}
	return id, nil
}

// refs are the Stripe objects an event shows the transaction was paid
// through.
func refs(o stripewebhook.Object) transaction.StripeRefs {
	r := transaction.StripeRefs{PaymentIntent: o.PaymentIntent}
	switch o.Object {
	case "checkout.session":
		r.CheckoutSession = o.ID
	case "charge":
		r.Charge = o.ID
	}
	return r
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
