package jobs_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

// shift moves the last n characters of field a to the front of field b.
// When a and b are neighbours in key order, Monetbil's sign (md5 of the
// secret and the values concatenated in key order) does not change.
func shift(t *testing.T, form map[string][]string, a, b string, n int) {
	t.Helper()
	va, vb := form[a][0], form[b][0]
	form[a] = []string{va[:len(va)-n]}
	form[b] = []string{va[len(va)-n:] + vb}
}

// forged is the attack: from one genuine success notification for
// payment_ref tx_…21, one character moved from payment_ref into its
// neighbour and one from service into status. The signature still holds.
func forged(t *testing.T, genuineForm map[string][]string) map[string][]string {
	t.Helper()
	f := map[string][]string{}
	for k, v := range genuineForm {
		f[k] = slices.Clone(v)
	}
	shift(t, f, "payment_ref", "service", 1)
	shift(t, f, "service", "status", 1)
	if err := monetbil.Verify(monetbilSecret, f); err != nil {
		t.Fatalf("the forged notification does not verify, so this test proves nothing: %v", err)
	}
	if f["payment_ref"][0] != "tx_2" {
		t.Fatalf("forged payment_ref %q", f["payment_ref"][0])
	}
	return f
}

// TestFieldShiftAttackChangesNothing: an altered copy of a real, signed
// success notification never moves another transaction, whether
// checkPayment's answer names the payment's reference (the answer is the
// truth) or says nothing but its status (the payment is bound to the
// transaction it paid first).
func TestFieldShiftAttackChangesNothing(t *testing.T) {
	t.Parallel()
	for _, answerNamesRef := range []bool{true, false} {
		t.Run(map[bool]string{true: "answer with payment_ref", false: "answer with the status only"}[answerNamesRef], func(t *testing.T) {
			t.Parallel()
			r := newRig(t, rigOptions{})
			answer := map[string]any{"status": 1, "testmode": 0}
			if answerNamesRef {
				answer = map[string]any{"status": 1, "transaction_id": "MB1", "payment_ref": "tx_21", "amount": 500, "currency": "XAF"}
			}
			r.monetbil.set("MB1", answer)
			real := genuine(t, "tx_21", "MB1", "success", 500)
			if _, res := r.monetbilForm(real); res.Outcome != "applied" {
				t.Fatalf("the genuine notification: %+v", res)
			}
			status, res := r.monetbilForm(forged(t, real))
			if status != http.StatusOK {
				t.Fatalf("the intake answered %d to a validly signed notification", status)
			}
			if res.Action != processing.Ack || res.Outcome != processing.OutcomeMismatch {
				t.Fatalf("the forged notification: %+v, want an acknowledged mismatch", res)
			}
			if _, exists := r.transaction("tx_2"); exists {
				t.Fatal("the forged notification created or moved tx_2")
			}
			if tx, _ := r.transaction("tx_21"); tx.Version != 1 || tx.Status != transaction.Succeeded {
				t.Fatalf("tx_21 = %+v, want succeeded once", tx)
			}
			rec := r.event("monetbil", "MB1:success")
			if rec.Outcome != processing.OutcomeMismatch || !slices.Contains(rec.Mismatch, "payment_ref") {
				t.Errorf("record %+v, want outcome mismatch naming payment_ref", rec)
			}
			lines := r.logLines("mismatch: the event disagrees with the provider's confirmation or an earlier binding; nothing changed")
			if len(lines) != 1 || lines[0]["level"] != "WARN" || lines[0][processing.MetricMismatch] != 1.0 {
				t.Errorf("want one WARN line counting the mismatch, got %v", lines)
			}
		})
	}
}

// TestTheForgedCopyFirstStillPaysOnlyOnce: the forger sends the altered
// copy before Monetbil's own notification arrives, and checkPayment says
// nothing but the status. The expected amounts stop it: the forged copy is
// an amount mismatch (and its binding is released), and the genuine
// notification then pays the transaction it was for.
func TestTheForgedCopyFirstStillPaysOnlyOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{})
	r.monetbil.set("MB1", map[string]any{"status": 1})
	expect(t, r, "tx_2", 50000, "XAF")
	expect(t, r, "tx_21", 500, "XAF")
	real := genuine(t, "tx_21", "MB1", "success", 500)
	if _, res := r.monetbilForm(forged(t, real)); res.Outcome != processing.OutcomeAmountMismatch {
		t.Fatalf("the forged copy: %+v, want amount_mismatch", res)
	}
	if _, res := r.monetbilForm(real); res.Outcome != "applied" {
		t.Fatalf("the genuine notification after it: %+v, want applied", res)
	}
	if tx, _ := r.transaction("tx_2"); tx.Status != transaction.Pending {
		t.Errorf("tx_2 is %s, want still pending", tx.Status)
	}
	if tx, _ := r.transaction("tx_21"); tx.Status != transaction.Succeeded {
		t.Errorf("tx_21 is %s, want succeeded", tx.Status)
	}
}

func expect(t *testing.T, r *rig, id string, amount int64, currency string) {
	t.Helper()
	if _, err := r.store.Expect(t.Context(), id, "monetbil", transaction.Expectation{Amount: amount, Currency: currency}, r.clock()); err != nil {
		t.Fatal(err)
	}
}

// TestTheEventKeyIsTheConfirmedStatus: a copy whose posted status was
// altered is the same event as the original (its key holds the status
// checkPayment confirmed), so it is a duplicate.
func TestTheEventKeyIsTheConfirmedStatus(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{})
	r.monetbil.set("MB1", map[string]any{"status": 1, "payment_ref": "tx_1"})
	real := genuine(t, "tx_1", "MB1", "success", 500)
	r.monetbilForm(real)
	f := map[string][]string{}
	for k, v := range real {
		f[k] = slices.Clone(v)
	}
	shift(t, f, "service", "status", 2) // status "cesuccess", same sign
	if _, res := r.monetbilForm(f); res.Outcome != processing.OutcomeDuplicate {
		t.Fatalf("altered status: %+v, want a duplicate", res)
	}
	if tx, _ := r.transaction("tx_1"); tx.Version != 1 || !tx.HasEvent("MB1:success") {
		t.Fatalf("tx_1 %+v", tx)
	}
}

// TestANotificationThatDisagreesWithTheAnswerIsAMismatch: every field the
// answer carries is checked; the disagreeing ones are named.
func TestANotificationThatDisagreesWithTheAnswerIsAMismatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		answer map[string]any
		want   []string
	}{
		{"amount", map[string]any{"status": 1, "amount": "600"}, []string{"amount"}},
		{"currency", map[string]any{"status": 1, "currency": "EUR"}, []string{"currency"}},
		{"transaction", map[string]any{"status": 1, "transaction_id": "MB9"}, []string{"transaction_id"}},
		{"reference and amount", map[string]any{"status": 1, "payment_ref": "tx_other", "amount": 1}, []string{"payment_ref", "amount"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, rigOptions{})
			r.monetbil.set("MB1", tc.answer)
			_, res := r.monetbilForm(genuine(t, "tx_1", "MB1", "success", 500))
			rec := r.event("monetbil", "MB1:success")
			slices.Sort(rec.Mismatch)
			slices.Sort(tc.want)
			if res.Outcome != processing.OutcomeMismatch || !slices.Equal(rec.Mismatch, tc.want) {
				t.Errorf("%+v, record mismatch %v; want mismatch of %v", res, rec.Mismatch, tc.want)
			}
			if _, exists := r.transaction("tx_1"); exists {
				t.Error("a mismatch changed a transaction")
			}
		})
	}
	// Same currency written differently is no mismatch; the answer's
	// amount and currency are what is recorded.
	r := newRig(t, rigOptions{})
	r.monetbil.set("MB2", map[string]any{"status": 1, "amount": "500.00", "currency": "xaf"})
	if _, res := r.monetbilForm(genuine(t, "tx_2", "MB2", "success", 500)); res.Outcome != "applied" {
		t.Fatalf("%+v", res)
	}
	if tx, _ := r.transaction("tx_2"); tx.Amount != 500 || tx.Currency != "xaf" {
		t.Errorf("tx_2 %+v, want the answer's amount and currency", tx)
	}
}

// TestALateConfirmedSuccessWins: Monetbil gives each attempt of a payment
// its own transaction; a success whose confirmation came late (it waited
// out its backoff, or sat in the DLQ) still wins over a later attempt's
// failure or cancellation.
func TestALateConfirmedSuccessWins(t *testing.T) {
	t.Parallel()
	for _, later := range []string{"failed", "cancelled"} {
		r := newRig(t, rigOptions{})
		code := map[string]int{"failed": 0, "cancelled": -1}[later]
		// The success happened first (Monetbil's own date, before the
		// failure's delivery), and is confirmed last: out of order.
		r.monetbil.set("MB_A", map[string]any{"status": 1, "date": r.clock().Format("2006-01-02 15:04:05")})
		r.monetbil.set("MB_B", map[string]any{"status": code})
		success := genuine(t, "tx_7", "MB_A", "success", 500) // arrived first, confirmed last
		r.tick(time.Minute)
		if _, res := r.monetbilForm(genuine(t, "tx_7", "MB_B", later, 500)); res.Outcome != "applied" {
			t.Fatalf("the later attempt's %s: %+v", later, res)
		}
		r.tick(time.Minute)
		if _, res := r.monetbilForm(success); res.Outcome != "applied" {
			t.Fatalf("the late success after a %s: %+v, want applied", later, res)
		}
		if tx, _ := r.transaction("tx_7"); tx.Status != transaction.Succeeded {
			t.Errorf("after a late success over a %s: %s", later, tx.Status)
		}
	}
}

func TestTestModeAndUnmatched(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{})
	r.monetbil.set("MB_T", map[string]any{"status": 7})
	if _, res := r.monetbilForm(genuine(t, "tx_t", "MB_T", "success", 500)); res.Outcome != "testmode_ignored" {
		t.Errorf("test mode: %+v", res)
	}
	r.monetbil.set("MB_U", map[string]any{"status": 1})
	f := genuine(t, "", "MB_U", "success", 500)
	if _, res := r.monetbilForm(f); res.Outcome != "unmatched" || !strings.Contains(r.event("monetbil", "MB_U:success").Detail, "payment_ref") {
		t.Errorf("no payment_ref: %+v", res)
	}
}

// TestTheAnswersOtherFieldsAreKeptInTheRecord: fields of checkPayment's
// answer the hub does not read are not refused but kept, masked and in name
// order, in the record of an outcome that changes nothing, the job's own
// (a mismatch) or the one its change came to (an amount mismatch).
func TestTheAnswersOtherFieldsAreKeptInTheRecord(t *testing.T) {
	t.Parallel()
	other := map[string]any{"operator": "MTN", "msisdn": "237670123456", "customer_email": "jane@example.com", "first_name": "Jane", "fee": 12}
	want := `checkPayment's other fields: customer_email="***@example.com", fee="12", first_name="***", msisdn="237*******56", operator="MTN"`
	answer := func(fields map[string]any) map[string]any {
		a := map[string]any{"status": 1}
		for k, v := range other {
			a[k] = v
		}
		for k, v := range fields {
			a[k] = v
		}
		return a
	}
	check := func(t *testing.T, rec store.EventRecord, outcome string) {
		t.Helper()
		if rec.Outcome != outcome || !strings.Contains(rec.Detail, want) {
			t.Errorf("record %+v; want outcome %s, detail with %s", rec, outcome, want)
		}
		for _, clear := range []string{"670123", "jane@", "Jane"} {
			if strings.Contains(rec.Detail, clear) {
				t.Errorf("the record's detail holds %q in clear: %s", clear, rec.Detail)
			}
		}
	}
	t.Run("mismatch", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, rigOptions{})
		r.monetbil.set("MB1", answer(map[string]any{"amount": 600}))
		if _, res := r.monetbilForm(genuine(t, "tx_1", "MB1", "success", 500)); res.Outcome != processing.OutcomeMismatch {
			t.Fatalf("%+v, want a mismatch", res)
		}
		check(t, r.event("monetbil", "MB1:success"), processing.OutcomeMismatch)
	})
	t.Run("amount mismatch", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, rigOptions{})
		expect(t, r, "tx_1", 900, "XAF")
		r.monetbil.set("MB1", answer(nil))
		if _, res := r.monetbilForm(genuine(t, "tx_1", "MB1", "success", 500)); res.Outcome != processing.OutcomeAmountMismatch {
			t.Fatalf("%+v, want an amount mismatch", res)
		}
		check(t, r.event("monetbil", "MB1:success"), processing.OutcomeAmountMismatch)
	})
}
