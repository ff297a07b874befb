package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/transaction"
)

// PaymentChecker confirms a Monetbil payment (monetbil.Client).
type PaymentChecker interface {
	CheckPayment(ctx context.Context, paymentID string) (monetbil.Payment, error)
}

// Monetbil confirms a notification with checkPayment, as the official
// handlers do (the posted status is never trusted), and applies the
// confirmed status.
type Monetbil struct {
	Checker PaymentChecker
	// AllowTestMode applies test-mode payments (codes 7, 8, 9); otherwise
	// they are recorded and ignored, so that a test payment can never mark a
	// live transaction paid.
	AllowTestMode bool
}

// Decide implements processing.Job.
func (j Monetbil) Decide(ctx context.Context, e envelope.Envelope) (processing.Decision, error) {
	form, err := monetbil.ParseForm(e.Payload)
	if err != nil {
		return processing.Decision{}, processing.Permanent(fmt.Errorf("monetbil payload: %w", err))
	}
	n, err := monetbil.ParseNotification(form)
	if err != nil {
		return processing.Decision{}, processing.Permanent(fmt.Errorf("monetbil payload: %w", err))
	}
	if n.PaymentRef == "" {
		return processing.Decision{Outcome: "unmatched"}, nil
	}
	p, err := j.Checker.CheckPayment(ctx, n.TransactionID)
	if err != nil {
		if errors.Is(err, monetbil.ErrPermanent) {
			return processing.Decision{}, processing.Permanent(err)
		}
		return processing.Decision{}, err // transient: what the backoff is for
	}
	if p.TestMode && !j.AllowTestMode {
		return processing.Decision{Outcome: "testmode_ignored"}, nil
	}
	var status transaction.Status
	switch p.Status {
	case monetbil.PaymentSuccess:
		status = transaction.Succeeded
	case monetbil.PaymentFailed:
		status = transaction.Failed
	case monetbil.PaymentCancelled:
		status = transaction.Cancelled
	default:
		return processing.Decision{}, fmt.Errorf("checkPayment gave status %q, not final yet", p.Status)
	}
	amount := int64(0)
	_, _ = fmt.Sscan(n.Amount, &amount)
	return processing.Decision{Change: &transaction.Change{
		TransactionID: n.PaymentRef,
		Status:        status,
		Provider:      envelope.ProviderMonetbil,
		EventKey:      e.EventKey,
		EventAt:       e.ReceivedAt,
		Amount:        amount,
		Currency:      n.Currency,
	}}, nil
}
