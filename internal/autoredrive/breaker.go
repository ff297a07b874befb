package autoredrive

import (
	"context"
	"errors"
	"fmt"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/monetbil"
)

// PaymentChecker confirms a Monetbil payment (monetbil.Client).
type PaymentChecker interface {
	CheckPayment(ctx context.Context, paymentID string) (monetbil.Payment, error)
}

// MonetbilBreaker probes Monetbil's checkPayment, the call a Monetbil job
// fails on: it asks about the probed notification's payment.
type MonetbilBreaker struct{ Checker PaymentChecker }

// Probe implements Breaker: only a transient failure (ErrTransient) keeps
// the breaker open. A notification it cannot read has nothing to ask
// about: the round goes, and the processor says what is wrong with it.
func (b MonetbilBreaker) Probe(ctx context.Context, e envelope.Envelope) error {
	form, err := monetbil.ParseForm(e.Payload)
	if err != nil {
		return nil
	}
	n, err := monetbil.ParseNotification(form)
	if err != nil {
		return nil
	}
	if _, err := b.Checker.CheckPayment(ctx, n.TransactionID); errors.Is(err, monetbil.ErrTransient) {
		return fmt.Errorf("checkPayment about %s: %w", n.TransactionID, err)
	}
	return nil
}
