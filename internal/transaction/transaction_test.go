package transaction_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/transaction"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func change(status transaction.Status, key string, at time.Time) transaction.Change {
	return transaction.Change{TransactionID: "tx_1", Status: status, Provider: "stripe", EventKey: key, EventAt: at}
}

// replay applies history, failing the test if any of it does not apply.
func replay(t *testing.T, history []transaction.Change) *transaction.Transaction {
	t.Helper()
	var cur *transaction.Transaction
	for _, h := range history {
		v, next := transaction.Decide(cur, h, t0)
		if !v.Changed() {
			t.Fatalf("history %+v: %s", h, v)
		}
		cur = &next
	}
	return cur
}

func TestDecide(t *testing.T) {
	t.Parallel()
	type C = transaction.Change
	S, F, P, X := transaction.Succeeded, transaction.Failed, transaction.Pending, transaction.Cancelled
	R, PR := transaction.Refunded, transaction.PartiallyRefunded
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tests := []struct {
		name    string
		history []C
		next    C
		verdict transaction.Verdict
		status  transaction.Status
	}{
		{"create", nil, change(P, "e1", t0), transaction.Applied, P},
		{"pending to succeeded", []C{change(P, "e1", t0)}, change(S, "e2", at(time.Second)), transaction.Applied, S},
		{"same event again", []C{change(S, "e1", t0)}, change(S, "e1", t0), transaction.AlreadyApplied, S},
		{"an earlier event again", []C{change(P, "e1", t0), change(S, "e2", at(time.Second))}, change(P, "e1", t0), transaction.AlreadyApplied, S},
		{"failed after succeeded never regresses", []C{change(S, "e1", t0)}, change(F, "e2", at(time.Minute)), transaction.Refused, S},
		{"older failed after succeeded is stale", []C{change(S, "e2", at(time.Minute))}, change(F, "e1", t0), transaction.Stale, S},
		{"succeeded after refunded never regresses", []C{change(S, "e1", t0), change(R, "e2", at(time.Hour))}, change(S, "e3", at(2*time.Hour)), transaction.Refused, R},
		{"failed then succeeded (customer retried)", []C{change(F, "e1", t0)}, change(S, "e2", at(time.Minute)), transaction.Applied, S},
		{"partial refund then full refund", []C{change(S, "e1", t0), change(PR, "e2", at(time.Hour))}, change(R, "e3", at(2*time.Hour)), transaction.Applied, R},
		{"a second partial refund applies", []C{change(S, "e1", t0), change(PR, "e2", at(time.Hour))}, change(PR, "e3", at(2*time.Hour)), transaction.Applied, PR},
		{"same status again is unchanged", []C{change(P, "e1", t0)}, change(P, "e2", at(time.Second)), transaction.Unchanged, P},
		{"an older event of the same status is stale", []C{change(S, "e1", at(time.Second))}, change(S, "e2", t0), transaction.Stale, S},
		{"same second, succeeded then processing", []C{change(S, "e2", t0)}, change(P, "e1", t0), transaction.Refused, S},
		{"older pending after failed is stale", []C{change(F, "e2", at(time.Minute))}, change(P, "e1", t0), transaction.Stale, F},
		// A confirmed success wins over pending, failed and cancelled,
		// whatever the order it arrives in.
		{"late success after a later failure", []C{change(F, "e2", at(time.Minute))}, change(S, "e1", t0), transaction.Applied, S},
		{"late success after a later cancellation", []C{change(X, "e2", at(time.Minute))}, change(S, "e1", t0), transaction.Applied, S},
		{"late success after a later pending", []C{change(P, "e2", at(time.Minute))}, change(S, "e1", t0), transaction.Applied, S},
		{"success after cancellation", []C{change(X, "e1", t0)}, change(S, "e2", at(time.Second)), transaction.Applied, S},
		{"cancelled is final but for a success", []C{change(X, "e1", t0)}, change(F, "e2", at(time.Second)), transaction.Refused, X},
		{"a success never wins over a refund", []C{change(S, "e1", t0), change(R, "e2", at(time.Hour))}, change(S, "e3", t0), transaction.Stale, R},
		{"refund before any success is refused", []C{change(P, "e1", t0)}, change(R, "e2", at(time.Hour)), transaction.Refused, P},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cur := replay(t, tc.history)
			before := int64(0)
			if cur != nil {
				before = cur.Version
			}
			v, got := transaction.Decide(cur, tc.next, t0.Add(time.Hour))
			if v != tc.verdict || got.Status != tc.status {
				t.Fatalf("Decide = %s %s, want %s %s", v, got.Status, tc.verdict, tc.status)
			}
			if v.Changed() != (got.Version == before+1) {
				t.Fatalf("version %d after %s (was %d): only a change that writes bumps it", got.Version, v, before)
			}
			if v.Changed() && (!got.HasEvent(tc.next.EventKey) || got.LastEventKey != tc.next.EventKey) {
				t.Fatalf("applied change %s not remembered: %+v", tc.next.EventKey, got.Events)
			}
		})
	}
}

// TestRuleMatchesDecide: the rule the stores encode in their conditional
// writes gives the same answer as Decide for every pair of statuses, in and
// out of time order.
func TestRuleMatchesDecide(t *testing.T) {
	t.Parallel()
	all := []transaction.Status{transaction.Pending, transaction.Succeeded, transaction.Failed, transaction.Cancelled, transaction.Refunded, transaction.PartiallyRefunded}
	for _, from := range all {
		for _, to := range all {
			for _, older := range []bool{false, true} {
				cur := transaction.Transaction{ID: "tx_1", Status: from, LastEventAt: t0, Version: 1}
				at := t0.Add(time.Second)
				if older {
					at = t0.Add(-time.Second)
				}
				v, _ := transaction.Decide(&cur, change(to, "e", at), t0)
				rule := transaction.RuleFor(to)
				want := contains(rule.Unordered, from) || (!older && contains(rule.Ordered, from))
				if v.Changed() != want {
					t.Errorf("%s -> %s (older %v): Decide %s, rule says applies=%v", from, to, older, v, want)
				}
			}
		}
	}
}

func contains(list []transaction.Status, s transaction.Status) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestHistoryIsBoundedWithAFloor: a transaction remembers at most
// HistorySize events; a forgotten one redelivered is stale, never applied
// again, even from the same second as events it still remembers.
func TestHistoryIsBoundedWithAFloor(t *testing.T) {
	t.Parallel()
	var cur *transaction.Transaction
	// Partial refunds, one a second: each applies.
	history := []transaction.Change{change(transaction.Succeeded, "s", t0)}
	for i := range 3 * transaction.HistorySize {
		history = append(history, change(transaction.PartiallyRefunded, fmt.Sprintf("r%d", i), t0.Add(time.Duration(i)*time.Second)))
	}
	for _, h := range history {
		v, next := transaction.Decide(cur, h, t0)
		if v != transaction.Applied {
			t.Fatalf("%s: %s", h.EventKey, v)
		}
		cur = &next
		if len(cur.Events) > transaction.HistorySize {
			t.Fatalf("%d events remembered, want at most %d", len(cur.Events), transaction.HistorySize)
		}
	}
	for _, h := range history {
		v, _ := transaction.Decide(cur, h, t0)
		if v.Changed() {
			t.Errorf("redelivered %s (at %s, floor %s): %s, want it not applied", h.EventKey, h.EventAt, cur.Floor, v)
		}
	}
	last := history[len(history)-1]
	if v, _ := transaction.Decide(cur, change(transaction.PartiallyRefunded, "new", last.EventAt.Add(time.Second)), t0); v != transaction.Applied {
		t.Errorf("a new, later refund: %s, want applied", v)
	}
}

// TestSameSecondBurst: events of one second are never forgotten behind a
// floor their own second would make stale: each of a burst applies, and
// each redelivered is a duplicate.
func TestSameSecondBurst(t *testing.T) {
	t.Parallel()
	history := []transaction.Change{change(transaction.Succeeded, "s", t0)}
	for i := range 3 * transaction.HistorySize {
		history = append(history, change(transaction.PartiallyRefunded, fmt.Sprintf("r%d", i), t0.Add(time.Duration(i/10)*time.Second)))
	}
	cur := replay(t, history)
	for _, h := range history {
		if v, _ := transaction.Decide(cur, h, t0); v.Changed() {
			t.Errorf("redelivered %s: %s", h.EventKey, v)
		}
	}
}

func TestExpectation(t *testing.T) {
	t.Parallel()
	exp, err := transaction.Expect(nil, "tx_1", "monetbil", transaction.Expectation{Amount: 5000, Currency: "xaf"}, t0)
	if err != nil || exp.Status != transaction.Pending || exp.Expected.Currency != "XAF" {
		t.Fatalf("Expect = %+v, %v", exp, err)
	}
	success := transaction.Change{TransactionID: "tx_1", Status: transaction.Succeeded, Provider: "monetbil", EventKey: "MB1:success", EventAt: t0, Amount: 5000, Currency: "XAF"}
	if v, got := transaction.Decide(&exp, success, t0); v != transaction.Applied || got.Status != transaction.Succeeded {
		t.Fatalf("expected amount: %s %s", v, got.Status)
	}
	for _, bad := range []transaction.Change{
		{TransactionID: "tx_1", Status: transaction.Succeeded, EventKey: "a", EventAt: t0, Amount: 50, Currency: "XAF"},
		{TransactionID: "tx_1", Status: transaction.Succeeded, EventKey: "b", EventAt: t0, Amount: 5000, Currency: "EUR"},
		{TransactionID: "tx_1", Status: transaction.Succeeded, EventKey: "c", EventAt: t0},
	} {
		if v, got := transaction.Decide(&exp, bad, t0); v != transaction.AmountMismatch || got.Status != transaction.Pending {
			t.Errorf("%d %q: %s %s, want amount_mismatch and still pending", bad.Amount, bad.Currency, v, got.Status)
		}
	}
	// A failure for another amount is not a payment: it applies.
	failed := transaction.Change{TransactionID: "tx_1", Status: transaction.Failed, EventKey: "d", EventAt: t0, Amount: 1}
	if v, _ := transaction.Decide(&exp, failed, t0); v != transaction.Applied {
		t.Errorf("failure: %s", v)
	}
	if again, err := transaction.Expect(&exp, "tx_1", "monetbil", transaction.Expectation{Amount: 5000, Currency: "XAF"}, t0); err != nil || again.Version != exp.Version {
		t.Errorf("the same expectation again: %+v, %v", again, err)
	}
	if _, err := transaction.Expect(&exp, "tx_1", "monetbil", transaction.Expectation{Amount: 1, Currency: "XAF"}, t0); err == nil {
		t.Error("a different expectation was accepted")
	}
	if v, _ := transaction.Decide(nil, transaction.Change{TransactionID: "tx_2", Status: transaction.Succeeded, EventKey: "e", EventAt: t0, MustExist: true}, t0); v != transaction.UnknownTransaction {
		t.Errorf("unknown transaction with MustExist: %s", v)
	}
}

func TestChangeValidate(t *testing.T) {
	t.Parallel()
	good := change(transaction.Succeeded, "e1", t0)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []transaction.Change{
		{Status: transaction.Succeeded, EventKey: "e", EventAt: t0},
		{TransactionID: "t", Status: "SUCCEEDED", EventKey: "e", EventAt: t0},
		{TransactionID: "t", Status: transaction.Succeeded, EventAt: t0},
		{TransactionID: "t", Status: transaction.Succeeded, EventKey: "e"},
	} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) accepted", bad)
		}
	}
}
