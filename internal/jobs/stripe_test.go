package jobs_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/transaction"
)

// checkoutSession is Stripe's fixture of a paid Checkout session for txID.
func checkoutSession(t *testing.T, txID, pi string, amount int64, currency string) map[string]any {
	t.Helper()
	s := stripeFixture(t, "checkout.session")
	s["client_reference_id"] = txID
	s["payment_intent"] = pi
	s["amount_total"] = amount
	s["currency"] = currency
	s["payment_status"] = "paid"
	s["status"] = "complete"
	return s
}

// refundedCharge is Stripe's fixture of a charge fully refunded: as
// Checkout creates it, with the payment intent and none of the session's
// metadata.
func refundedCharge(t *testing.T, pi string, amount int64) map[string]any {
	t.Helper()
	c := stripeFixture(t, "charge")
	c["payment_intent"] = pi
	c["amount"], c["amount_refunded"], c["refunded"] = amount, amount, true
	c["metadata"] = map[string]any{}
	return c
}

func (r *rig) stripe(t *testing.T, id, typ string, created time.Time, livemode bool, object map[string]any) processing.Result {
	t.Helper()
	body, header := stripeEvent(t, id, typ, created, livemode, object)
	status, res := r.deliver(intake.PathStripe, body, header)
	if status != http.StatusOK {
		t.Fatalf("%s: the intake answered %d", id, status)
	}
	return res
}

// TestCheckoutAmountsAndARefundWithoutMetadata: a Checkout session's
// amount_total and currency are recorded, with its ids; the refund of the
// charge Checkout created carries no transaction id, and is matched through
// the payment intent.
func TestCheckoutAmountsAndARefundWithoutMetadata(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{})
	t0 := r.clock().Add(-time.Hour)
	session := checkoutSession(t, "tx_co", "pi_co1", 4200, "eur")
	if res := r.stripe(t, "evt_co1", "checkout.session.completed", t0, false, session); res.Outcome != "applied" {
		t.Fatalf("checkout.session.completed: %+v", res)
	}
	tx, _ := r.transaction("tx_co")
	if tx.Amount != 4200 || tx.Currency != "eur" || tx.Stripe.PaymentIntent != "pi_co1" || tx.Stripe.CheckoutSession != session["id"] {
		t.Fatalf("transaction %+v, want the session's amount, currency and ids", tx)
	}
	charge := refundedCharge(t, "pi_co1", 4200)
	if res := r.stripe(t, "evt_co2", "charge.refunded", t0.Add(time.Minute), false, charge); res.Outcome != "applied" {
		t.Fatalf("charge.refunded without metadata: %+v, want applied through its payment intent", res)
	}
	tx, _ = r.transaction("tx_co")
	if tx.Status != transaction.Refunded || tx.Stripe.Charge != charge["id"] {
		t.Fatalf("transaction %+v, want refunded with the charge recorded", tx)
	}
	// A refund of a payment the hub never saw stays unmatched.
	if res := r.stripe(t, "evt_co3", "charge.refunded", t0, false, refundedCharge(t, "pi_unknown", 100)); res.Outcome != "unmatched" {
		t.Fatalf("an unknown payment intent: %+v", res)
	}
}

// TestCheckoutAmountIsCheckedAgainstTheExpectation: a session paid for
// another amount than the transaction expects is not applied.
func TestCheckoutAmountIsCheckedAgainstTheExpectation(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{})
	if _, err := r.store.Expect(t.Context(), "tx_exp", "stripe", transaction.Expectation{Amount: 9900, Currency: "eur"}, r.clock()); err != nil {
		t.Fatal(err)
	}
	res := r.stripe(t, "evt_x1", "checkout.session.completed", r.clock(), false, checkoutSession(t, "tx_exp", "pi_x", 990, "eur"))
	if res.Outcome != processing.OutcomeAmountMismatch {
		t.Fatalf("%+v, want amount_mismatch", res)
	}
	if tx, _ := r.transaction("tx_exp"); tx.Status != transaction.Pending {
		t.Errorf("transaction %s, want still pending", tx.Status)
	}
	res = r.stripe(t, "evt_x2", "checkout.session.completed", r.clock(), false, checkoutSession(t, "tx_exp", "pi_x", 9900, "EUR"))
	if res.Outcome != "applied" {
		t.Fatalf("the expected amount: %+v", res)
	}
}

// TestLivemodeMismatchIsAcknowledgedNeverApplied: a test-mode event sent to
// a live hub (or the reverse) is acknowledged and recorded, and changes
// nothing.
func TestLivemodeMismatchIsAcknowledgedNeverApplied(t *testing.T) {
	t.Parallel()
	for _, live := range []bool{true, false} {
		r := newRig(t, rigOptions{live: live})
		pi := stripeFixture(t, "payment_intent")
		pi["metadata"] = map[string]any{"transaction_id": "tx_lm"}
		res := r.stripe(t, "evt_lm", "payment_intent.succeeded", r.clock(), !live, pi)
		if res.Action != processing.Ack || res.Outcome != processing.OutcomeLivemodeMismatch {
			t.Fatalf("hub live=%v, event livemode=%v: %+v", live, !live, res)
		}
		if _, exists := r.transaction("tx_lm"); exists {
			t.Fatal("a livemode mismatch changed a transaction")
		}
		if rec := r.event("stripe", "evt_lm"); rec.Outcome != processing.OutcomeLivemodeMismatch {
			t.Errorf("record %+v", rec)
		}
		if res := r.stripe(t, "evt_ok", "payment_intent.succeeded", r.clock(), live, pi); res.Outcome != "applied" {
			t.Errorf("hub live=%v, event of its own mode: %+v", live, res)
		}
	}
}
