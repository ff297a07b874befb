package jobs

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

// PaymentChecker confirms a Monetbil payment (monetbil.Client).
type PaymentChecker interface {
	CheckPayment(ctx context.Context, paymentID string) (monetbil.Payment, error)
}

// Monetbil treats a notification as a hint that something happened to a
// Monetbil transaction, and checkPayment's answer as the truth: the status,
// and whichever of the payment's transaction, reference, amount and
// currency the answer carries. A notification whose fields disagree with
// the answer is a mismatch and changes nothing. (Its signature is
// malleable: characters move between neighbouring fields without changing
// it, so one genuine notification is enough to forge others.)
//
// The event key is "<transaction_id>:<confirmed status>", so an altered copy
// of a notification is the same event as the original. When the answer does
// not say which transaction the payment pays, the payment is bound to the
// hub transaction it was first confirmed for (a Binding), so that one
// Monetbil payment never pays two transactions.
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
	p, err := j.Checker.CheckPayment(ctx, n.TransactionID)
	if err != nil {
		return processing.Decision{}, err // permanent or transient, as the error says
	}
	d, err := j.confirm(e, n, p)
	if other := p.OtherFields(); err == nil && other != "" {
		// Whatever else the answer says is kept, masked, in the record of
		// an outcome that changes nothing.
		d.Note = "checkPayment's other fields: " + other
	}
	return d, err
}

// confirm decides on a notification from checkPayment's answer p.
func (j Monetbil) confirm(e envelope.Envelope, n monetbil.Notification, p monetbil.Payment) (processing.Decision, error) {
	// The event's key holds the status checkPayment confirmed, never the
	// posted one.
	key := monetbil.EventKey(n.TransactionID, string(p.Status))
	if p.TestMode && !j.AllowTestMode {
		return processing.Decision{Outcome: "testmode_ignored", EventKey: key, Detail: "checkPayment says test mode (MONETBIL_ALLOW_TESTMODE is off)"}, nil
	}
	status, ok := confirmedStatus[p.Status]
	if !ok {
		return processing.Decision{}, fmt.Errorf("checkPayment gave status %q, not final yet", p.Status)
	}
	t, mismatch := truth(n, p)
	if len(mismatch) > 0 {
		return processing.Decision{Outcome: processing.OutcomeMismatch, Mismatch: mismatch, EventKey: key, TransactionID: t.transactionID,
			Detail: "the notification's " + strings.Join(mismatch, ", ") + " disagree with checkPayment's answer"}, nil
	}
	if t.transactionID == "" {
		return processing.Decision{Outcome: "unmatched", EventKey: key, Detail: "no payment_ref in the notification or in checkPayment's answer"}, nil
	}
	at := e.ReceivedAt
	if !p.At.IsZero() {
		at = p.At
	}
	var binding *store.Binding
	if p.PaymentRef == "" {
		// The answer does not say which transaction the payment pays: the
		// first confirmed pairing holds (one write). When it does say, the
		// answer itself was checked above, and a binding adds nothing.
		binding = &store.Binding{Provider: envelope.ProviderMonetbil, ProviderTransactionID: n.TransactionID, TransactionID: t.transactionID}
	}
	return processing.Decision{
		EventKey: key,
		Binding:  binding,
		Change: &transaction.Change{
			TransactionID: t.transactionID, Status: status, Provider: envelope.ProviderMonetbil, EventKey: key,
			EventAt: at, Amount: t.amount, Currency: t.currency,
		},
	}, nil
}

var confirmedStatus = map[monetbil.PaymentStatus]transaction.Status{
	monetbil.PaymentSuccess:   transaction.Succeeded,
	monetbil.PaymentFailed:    transaction.Failed,
	monetbil.PaymentCancelled: transaction.Cancelled,
}

// confirmed is what the hub takes as the truth of a payment.
type confirmed struct {
	transactionID string
	amount        int64
	currency      string
}

// truth takes each field from checkPayment's answer when it has it, and
// names every field of the notification that disagrees with the answer.
// Where the answer lacks a field, the notification's value stands, to be
// checked against what the hub knows: the binding of the payment to its
// transaction, and the transaction's expected amount and currency.
func truth(n monetbil.Notification, p monetbil.Payment) (confirmed, []string) {
	var mismatch []string
	differ := func(field, posted, answered string, fold bool) string {
		same := posted == answered || (fold && strings.EqualFold(posted, answered))
		if answered != "" && posted != "" && !same {
			mismatch = append(mismatch, field)
		}
		if answered != "" {
			return answered
		}
		return posted
	}
	differ("transaction_id", n.TransactionID, p.TransactionID, false)
	differ("item_ref", strings.TrimSpace(n.ItemRef), p.ItemRef, false)
	t := confirmed{
		transactionID: differ("payment_ref", n.PaymentRef, p.PaymentRef, false),
		currency:      differ("currency", strings.TrimSpace(n.Currency), p.Currency, true),
	}
	posted, perr := strconv.ParseInt(strings.TrimSpace(n.Amount), 10, 64)
	switch {
	case p.HasAmount && strings.TrimSpace(n.Amount) != "" && (perr != nil || posted != p.Amount):
		mismatch = append(mismatch, "amount")
		t.amount = p.Amount
	case p.HasAmount:
		t.amount = p.Amount
	case perr == nil:
		t.amount = posted
	}
	return t, mismatch
}
