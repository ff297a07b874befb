package transaction_test

import (
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/transaction"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func change(status transaction.Status, key string, at time.Time) transaction.Change {
	return transaction.Change{TransactionID: "tx_1", Status: status, Provider: "stripe", EventKey: key, EventAt: at}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		history []transaction.Change
		next    transaction.Change
		verdict transaction.Verdict
		status  transaction.Status
	}{
		{"create", nil, change(transaction.Pending, "e1", t0), transaction.Applied, transaction.Pending},
		{"pending to succeeded", []transaction.Change{change(transaction.Pending, "e1", t0)}, change(transaction.Succeeded, "e2", t0.Add(time.Second)), transaction.Applied, transaction.Succeeded},
		{"same event again", []transaction.Change{change(transaction.Succeeded, "e1", t0)}, change(transaction.Succeeded, "e1", t0), transaction.AlreadyApplied, transaction.Succeeded},
		{"failed after succeeded never regresses", []transaction.Change{change(transaction.Succeeded, "e1", t0)}, change(transaction.Failed, "e2", t0.Add(time.Minute)), transaction.Refused, transaction.Succeeded},
		{"older failed after succeeded is stale", []transaction.Change{change(transaction.Succeeded, "e2", t0.Add(time.Minute))}, change(transaction.Failed, "e1", t0), transaction.Stale, transaction.Succeeded},
		{"succeeded after refunded never regresses", []transaction.Change{change(transaction.Succeeded, "e1", t0), change(transaction.Refunded, "e2", t0.Add(time.Hour))}, change(transaction.Succeeded, "e3", t0.Add(2*time.Hour)), transaction.Refused, transaction.Refunded},
		{"failed then succeeded (customer retried)", []transaction.Change{change(transaction.Failed, "e1", t0)}, change(transaction.Succeeded, "e2", t0.Add(time.Minute)), transaction.Applied, transaction.Succeeded},
		{"partial refund then full refund", []transaction.Change{change(transaction.Succeeded, "e1", t0), change(transaction.PartiallyRefunded, "e2", t0.Add(time.Hour))}, change(transaction.Refunded, "e3", t0.Add(2*time.Hour)), transaction.Applied, transaction.Refunded},
		{"a second partial refund applies", []transaction.Change{change(transaction.Succeeded, "e1", t0), change(transaction.PartiallyRefunded, "e2", t0.Add(time.Hour))}, change(transaction.PartiallyRefunded, "e3", t0.Add(2*time.Hour)), transaction.Applied, transaction.PartiallyRefunded},
		{"same status again is unchanged", []transaction.Change{change(transaction.Pending, "e1", t0)}, change(transaction.Pending, "e2", t0.Add(time.Second)), transaction.Unchanged, transaction.Pending},
		{"cancelled is final", []transaction.Change{change(transaction.Cancelled, "e1", t0)}, change(transaction.Succeeded, "e2", t0.Add(time.Second)), transaction.Refused, transaction.Cancelled},
		{"same second, succeeded then processing", []transaction.Change{change(transaction.Succeeded, "e2", t0)}, change(transaction.Pending, "e1", t0), transaction.Refused, transaction.Succeeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var cur *transaction.Transaction
			for _, h := range tc.history {
				v, next := transaction.Decide(cur, h, t0)
				if v != transaction.Applied {
					t.Fatalf("history %+v: %s", h, v)
				}
				cur = &next
			}
			before := int64(0)
			if cur != nil {
				before = cur.Version
			}
			v, got := transaction.Decide(cur, tc.next, t0.Add(time.Hour))
			if v != tc.verdict || got.Status != tc.status {
				t.Fatalf("Decide = %s %s, want %s %s", v, got.Status, tc.verdict, tc.status)
			}
			if (v == transaction.Applied) != (got.Version == before+1) {
				t.Fatalf("version %d after %s (was %d): only an applied change bumps it", got.Version, v, before)
			}
		})
	}
}

func TestChangeValidate(t *testing.T) {
	t.Parallel()
	good := change(transaction.Succeeded, "e1", t0)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []transaction.Change{
		{Status: transaction.Succeeded, EventKey: "e"},
		{TransactionID: "t", Status: "SUCCEEDED", EventKey: "e"},
		{TransactionID: "t", Status: transaction.Succeeded},
	} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) accepted", bad)
		}
	}
}
