package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

func change(id string, status transaction.Status, key string, at time.Time) transaction.Change {
	return transaction.Change{TransactionID: id, Status: status, Provider: provider, EventKey: key, EventAt: at}
}

func mustApply(t *testing.T, s store.Store, c transaction.Change, now time.Time, want transaction.Verdict) transaction.Transaction {
	t.Helper()
	v, tx, err := s.Apply(context.Background(), c, now)
	if err != nil {
		t.Fatalf("Apply %s %s: %v", c.EventKey, c.Status, err)
	}
	if v != want {
		t.Fatalf("Apply %s %s: verdict %s, want %s (transaction %+v)", c.EventKey, c.Status, v, want, tx)
	}
	return tx
}

func mustTransaction(t *testing.T, s store.Store, id string) transaction.Transaction {
	t.Helper()
	tx, err := s.Transaction(context.Background(), id)
	if err != nil {
		t.Fatalf("Transaction %s: %v", id, err)
	}
	return tx
}

// sameTransaction compares what a store returned with the model's
// transaction, field by field.
func sameTransaction(t *testing.T, what string, got, want transaction.Transaction) {
	t.Helper()
	if got.ID != want.ID || got.Status != want.Status || got.Provider != want.Provider || got.Amount != want.Amount ||
		got.Currency != want.Currency || got.LastEventKey != want.LastEventKey || !got.LastEventAt.Equal(want.LastEventAt) ||
		got.Version != want.Version || !got.Floor.Equal(want.Floor) || got.Stripe != want.Stripe ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) ||
		(got.Expected == nil) != (want.Expected == nil) || (got.Expected != nil && *got.Expected != *want.Expected) ||
		!slices.EqualFunc(got.Events, want.Events, func(a, b transaction.AppliedEvent) bool { return a.Key == b.Key && a.At.Equal(b.At) }) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testApplyCreates(t *testing.T, s store.Store) {
	now := base()
	c := change("tx_create", transaction.Succeeded, "evt_1", now.Add(-time.Minute))
	c.Amount, c.Currency = 2500, "eur"
	got := mustApply(t, s, c, now, transaction.Applied)
	_, want := transaction.Decide(nil, c, now)
	sameTransaction(t, "returned", got, want)
	sameTransaction(t, "stored", mustTransaction(t, s, "tx_create"), want)
}

func testDuplicate(t *testing.T, s store.Store) {
	now := base()
	c := change("tx_dup", transaction.Succeeded, "evt_1", now)
	first := mustApply(t, s, c, now, transaction.Applied)
	again := mustApply(t, s, c, now.Add(time.Second), transaction.AlreadyApplied)
	sameTransaction(t, "a duplicate returns the transaction as it is", again, first)
	sameTransaction(t, "stored", mustTransaction(t, s, "tx_dup"), first)
}

// setup brings a new transaction to status from through changes that
// apply, and returns it with the model's view of it.
func setup(t *testing.T, s store.Store, id string, from transaction.Status, at time.Time, expect *transaction.Expectation) transaction.Transaction {
	t.Helper()
	ctx := context.Background()
	var model *transaction.Transaction
	if expect != nil {
		tx, err := s.Expect(ctx, id, provider, *expect, at)
		if err != nil {
			t.Fatalf("Expect: %v", err)
		}
		model = &tx
	}
	path := map[transaction.Status][]transaction.Status{
		transaction.Pending: {transaction.Pending}, transaction.Failed: {transaction.Failed},
		transaction.Cancelled: {transaction.Cancelled}, transaction.Succeeded: {transaction.Succeeded},
		transaction.Refunded:          {transaction.Succeeded, transaction.Refunded},
		transaction.PartiallyRefunded: {transaction.Succeeded, transaction.PartiallyRefunded},
	}[from]
	for i, st := range path {
		c := change(id, st, fmt.Sprintf("setup_%d", i), at)
		if expect != nil {
			c.Amount, c.Currency = expect.Amount, expect.Currency
		}
		v, tx, err := s.Apply(ctx, c, at)
		if err != nil || !v.Changed() {
			t.Fatalf("setup %s via %v: step %s: %s %v", from, path, st, v, err)
		}
		model = &tx
	}
	return *model
}

func testApplyMatchesDecide(t *testing.T, s store.Store) {
	now := base()
	statuses := []transaction.Status{transaction.Pending, transaction.Succeeded, transaction.Failed, transaction.Cancelled, transaction.Refunded, transaction.PartiallyRefunded}
	n := 0
	for _, from := range statuses {
		for _, to := range statuses {
			for _, older := range []bool{false, true} {
				for _, expectation := range []string{"none", "match", "other amount"} {
					n++
					id := fmt.Sprintf("tx_matrix_%d", n)
					var exp *transaction.Expectation
					if expectation != "none" {
						exp = &transaction.Expectation{Amount: 700, Currency: "EUR"}
					}
					current := setup(t, s, id, from, now.Add(-time.Hour), exp)
					at := now.Add(-time.Hour + time.Minute)
					if older {
						at = now.Add(-2 * time.Hour)
					}
					c := change(id, to, "evt_next", at)
					c.Amount, c.Currency = 700, "eur"
					if expectation == "other amount" {
						c.Amount = 701
					}
					wantVerdict, want := transaction.Decide(&current, c, now)
					v, got, err := s.Apply(context.Background(), c, now)
					what := fmt.Sprintf("%s -> %s (older %v, expectation %s)", from, to, older, expectation)
					if err != nil {
						t.Errorf("%s: %v", what, err)
						continue
					}
					if v != wantVerdict {
						t.Errorf("%s: verdict %s, the state machine says %s", what, v, wantVerdict)
						continue
					}
					sameTransaction(t, what+": returned", got, want)
					sameTransaction(t, what+": stored", mustTransaction(t, s, id), want)
				}
			}
		}
	}
}

func testHistoryBounded(t *testing.T, s store.Store) {
	now := base()
	id := "tx_history"
	var model *transaction.Transaction
	var changes []transaction.Change
	add := func(c transaction.Change) {
		t.Helper()
		wantV, want := transaction.Decide(model, c, now)
		got := mustApply(t, s, c, now, wantV)
		sameTransaction(t, "after "+c.EventKey, got, want)
		model = &want
		changes = append(changes, c)
	}
	add(change(id, transaction.Succeeded, "evt_s", now.Add(-time.Hour)))
	for i := range 3 * transaction.HistorySize {
		add(change(id, transaction.PartiallyRefunded, fmt.Sprintf("evt_r%d", i), now.Add(-time.Hour+time.Duration(i)*time.Second)))
	}
	for _, c := range changes {
		v, _, err := s.Apply(context.Background(), c, now)
		if err != nil || v.Changed() {
			t.Errorf("redelivered %s: %s %v, want it not applied", c.EventKey, v, err)
		}
	}
	sameTransaction(t, "after the redeliveries", mustTransaction(t, s, id), *model)
}

func testExpectations(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	exp := transaction.Expectation{Amount: 5000, Currency: "xaf"}
	tx, err := s.Expect(ctx, "tx_exp", "monetbil", exp, now)
	if err != nil || tx.Status != transaction.Pending || tx.Expected == nil || tx.Expected.Currency != "XAF" || tx.Version != 1 {
		t.Fatalf("Expect = %+v, %v", tx, err)
	}
	if again, err := s.Expect(ctx, "tx_exp", "monetbil", exp, now.Add(time.Second)); err != nil || again.Version != 1 {
		t.Errorf("the same expectation again: %+v, %v", again, err)
	}
	if _, err := s.Expect(ctx, "tx_exp", "monetbil", transaction.Expectation{Amount: 1, Currency: "XAF"}, now); err == nil {
		t.Error("a different expectation was accepted")
	}
	bad := transaction.Change{TransactionID: "tx_exp", Status: transaction.Succeeded, Provider: "monetbil", EventKey: "MB1:success", EventAt: now, Amount: 50, Currency: "XAF"}
	if got := mustApply(t, s, bad, now, transaction.AmountMismatch); got.Status != transaction.Pending {
		t.Errorf("after an amount mismatch: %s, want pending", got.Status)
	}
	good := bad
	good.Amount, good.EventKey = 5000, "MB2:success"
	mustApply(t, s, good, now, transaction.Applied)
	// An expectation added to a transaction that exists.
	mustApply(t, s, change("tx_late_exp", transaction.Pending, "evt_p", now), now, transaction.Applied)
	tx, err = s.Expect(ctx, "tx_late_exp", provider, transaction.Expectation{Amount: 10, Currency: "EUR"}, now)
	if err != nil || tx.Expected == nil || tx.Status != transaction.Pending || tx.LastEventKey != "evt_p" {
		t.Errorf("expectation added to an existing transaction: %+v, %v", tx, err)
	}
}

func testMustExist(t *testing.T, s store.Store) {
	now := base()
	c := change("tx_unknown", transaction.Succeeded, "evt_1", now)
	c.MustExist = true
	mustApply(t, s, c, now, transaction.UnknownTransaction)
	_, err := s.Transaction(context.Background(), "tx_unknown")
	wantErr(t, "an unknown transaction was created", err, store.ErrNotFound)
	if _, err := s.Expect(context.Background(), "tx_unknown", provider, transaction.Expectation{Amount: 1, Currency: "EUR"}, now); err != nil {
		t.Fatal(err)
	}
	c.Amount, c.Currency = 1, "eur"
	mustApply(t, s, c, now, transaction.Applied)
}

func testStripeRefs(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	c := change("tx_refs", transaction.Succeeded, "evt_1", now)
	c.Stripe = transaction.StripeRefs{PaymentIntent: "pi_1", CheckoutSession: "cs_1"}
	mustApply(t, s, c, now, transaction.Applied)
	c2 := change("tx_refs", transaction.Refunded, "evt_2", now.Add(time.Second))
	c2.Stripe = transaction.StripeRefs{PaymentIntent: "pi_other", Charge: "ch_1"}
	got := mustApply(t, s, c2, now, transaction.Applied)
	if want := (transaction.StripeRefs{PaymentIntent: "pi_1", CheckoutSession: "cs_1", Charge: "ch_1"}); got.Stripe != want {
		t.Errorf("references %+v, want %+v (the first of each kept)", got.Stripe, want)
	}
	waitFor := func(pi string, want string, wantErr error) {
		t.Helper()
		// A secondary index is eventually consistent: allow it a moment.
		var id string
		var err error
		for range 50 {
			id, err = s.TransactionByStripePaymentIntent(ctx, pi)
			if id == want && errors.Is(err, wantErr) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("TransactionByStripePaymentIntent(%s) = %q, %v; want %q, %v", pi, id, err, want, wantErr)
	}
	waitFor("pi_1", "tx_refs", nil)
	waitFor("pi_none", "", store.ErrNotFound)
	d := change("tx_refs_2", transaction.Succeeded, "evt_3", now)
	d.Stripe.PaymentIntent = "pi_1"
	mustApply(t, s, d, now, transaction.Applied)
	waitFor("pi_1", "", store.ErrAmbiguous)
}

func testConcurrentDuplicates(t *testing.T, s store.Store) {
	const n = 20
	now := base()
	c := change("tx_race", transaction.Succeeded, "evt_race", now)
	verdicts := make([]transaction.Verdict, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			verdicts[i], _, errs[i] = s.Apply(context.Background(), c, now)
		})
	}
	close(start)
	wg.Wait()
	applied := 0
	for i := range n {
		switch {
		case errs[i] != nil:
			t.Errorf("delivery %d: %v", i, errs[i])
		case verdicts[i] == transaction.Applied:
			applied++
		case verdicts[i] != transaction.AlreadyApplied:
			t.Errorf("delivery %d: %s", i, verdicts[i])
		}
	}
	if applied != 1 {
		t.Errorf("%d deliveries applied the event, want 1", applied)
	}
	if tx := mustTransaction(t, s, "tx_race"); tx.Version != 1 {
		t.Errorf("version %d, want 1", tx.Version)
	}
}

// testConcurrentChanges: distinct events racing on one transaction, enough
// of them to trim its history meanwhile, all apply and none is lost.
func testConcurrentChanges(t *testing.T, s store.Store) {
	const n = 2*transaction.HistorySize + 3
	now := base()
	id := "tx_busy"
	mustApply(t, s, change(id, transaction.Succeeded, "evt_s", now.Add(-time.Hour)), now, transaction.Applied)
	errs := make([]error, n)
	verdicts := make([]transaction.Verdict, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			// All in one second, after the success: every one applies.
			verdicts[i], _, errs[i] = s.Apply(context.Background(), change(id, transaction.PartiallyRefunded, fmt.Sprintf("evt_r%d", i), now), now)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || verdicts[i] != transaction.Applied {
			t.Errorf("refund %d: %s %v, want applied", i, verdicts[i], errs[i])
		}
	}
	if tx := mustTransaction(t, s, id); tx.Version != n+1 {
		t.Errorf("version %d, want %d: a change was lost or applied twice", tx.Version, n+1)
	}
}

func testTransactionMissing(t *testing.T, s store.Store) {
	_, err := s.Transaction(context.Background(), "tx_missing")
	wantErr(t, "Transaction of a missing transaction", err, store.ErrNotFound)
}
