// Package storetest is the conformance suite every store.Store must pass, so
// that the in-memory store the domain's unit tests use behaves exactly like
// the DynamoDB one in production. Each store's own package runs it
// (memstore, dynamostore), as go-cloud's drivers run their drivertest.
//
// The heart of it is ApplyMatchesTheStateMachine: every status, every target
// status, in and out of time order, with and without an expectation, applied
// to the store and to transaction.Decide, must give the same verdict. The
// DynamoDB store encodes the rules in a condition expression; this is what
// holds that expression to the state machine.
//
// The suite passes explicit times and never sleeps. The one exception is
// expiry, which Event can only judge by the clock: the suite ages records by
// writing them further in the past than Retention.
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

// Retention is the retention of PROCESSED and FORGOTTEN records that the
// stores under test must be built with.
const Retention = 24 * time.Hour

const provider = "stripe"

// Run runs the suite. newStore returns an empty store built with Retention;
// it is called once per subtest, and subtests run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		test func(t *testing.T, s store.Store)
	}{
		{"ApplyCreates", testApplyCreates},
		{"DuplicateReturnsTheTransaction", testDuplicate},
		{"ApplyMatchesTheStateMachine", testApplyMatchesDecide},
		{"HistoryIsBounded", testHistoryBounded},
		{"Expectations", testExpectations},
		{"MustExist", testMustExist},
		{"StripeReferences", testStripeRefs},
		{"ConcurrentDuplicatesApplyOnce", testConcurrentDuplicates},
		{"ConcurrentChangesLoseNothing", testConcurrentChanges},
		{"TransactionMissing", testTransactionMissing},
		{"Bind", testBind},
		{"Lookup", testLookup},
		{"Record", testRecord},
		{"FailureHistory", testFailureHistory},
		{"FailDoesNotOverwriteProcessed", testFailOnProcessed},
		{"Resolve", testResolve},
		{"RedriveRounds", testRounds},
		{"Forget", testForget},
		{"EventMissing", testEventMissing},
		{"ExpiredRecordCountsAsAbsent", testExpired},
		{"FailuresNewestFirst", testFailures},
		{"InvalidInput", testInvalidInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, newStore(t))
		})
	}
}

// base is a time on a whole second, the precision of expiry, and near the
// real clock, by which Event judges expiry.
func base() time.Time { return time.Now().UTC().Truncate(time.Second) }

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

func mustEvent(t *testing.T, s store.Store, key string) store.EventRecord {
	t.Helper()
	rec, err := s.Event(context.Background(), provider, key)
	if err != nil {
		t.Fatalf("Event %s: %v", key, err)
	}
	return rec
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s: %s, want %s", what, got, want)
	}
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

func testBind(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	b := store.Binding{Provider: "monetbil", ProviderTransactionID: "MB1", TransactionID: "tx_1", Now: now}
	for i := range 2 {
		if to, created, err := s.Bind(ctx, b); err != nil || to != "tx_1" || created != (i == 0) {
			t.Fatalf("Bind #%d = %q, created %v, %v", i+1, to, created, err)
		}
	}
	other := b
	other.TransactionID = "tx_2"
	to, created, err := s.Bind(ctx, other)
	wantErr(t, "binding to another transaction", err, store.ErrBoundElsewhere)
	if to != "tx_1" || created {
		t.Errorf("bound to %q (created %v), want tx_1", to, created)
	}
	if _, _, err := s.Bind(ctx, store.Binding{Provider: "monetbil", TransactionID: "tx", Now: now}); err == nil {
		t.Error("Bind without a provider transaction id: no error")
	}
	// Unbind leaves another transaction's binding alone, and drops its own.
	if err := s.Unbind(ctx, other); err != nil {
		t.Fatal(err)
	}
	if id, err := s.Bound(ctx, "monetbil", "MB1"); err != nil || id != "tx_1" {
		t.Errorf("after unbinding another transaction: %q, %v", id, err)
	}
	if err := s.Unbind(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, created, err := s.Bind(ctx, other); err != nil || !created {
		t.Errorf("Bind after Unbind: created %v, %v", created, err)
	}
	if id, err := s.Bound(ctx, "monetbil", "MB1"); err != nil || id != "tx_2" {
		t.Errorf("Bound = %q, %v", id, err)
	}
	_, err = s.Bound(ctx, "monetbil", "MB_unbound")
	wantErr(t, "Bound of an unbound payment", err, store.ErrNotFound)
}

func testLookup(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	// Applied at its first attempt: no record; the transaction knows it.
	mustApply(t, s, change("tx_look", transaction.Succeeded, "evt_look", now), now, transaction.Applied)
	rec, err := store.Lookup(ctx, s, provider, "evt_look", "tx_look")
	if err != nil || rec.Status != store.Processed || rec.Outcome != "applied" || rec.TransactionID != "tx_look" {
		t.Errorf("Lookup of an applied event = %+v, %v", rec, err)
	}
	_, err = store.Lookup(ctx, s, provider, "evt_look", "")
	wantErr(t, "Lookup without the transaction", err, store.ErrNotFound)
	// A Monetbil event is found through its binding.
	c := transaction.Change{TransactionID: "tx_mb", Status: transaction.Succeeded, Provider: "monetbil", EventKey: "MB9:success", EventAt: now}
	mustApply(t, s, c, now, transaction.Applied)
	if _, _, err := s.Bind(ctx, store.Binding{Provider: "monetbil", ProviderTransactionID: "MB9", TransactionID: "tx_mb", Now: now}); err != nil {
		t.Fatal(err)
	}
	if rec, err := store.Lookup(ctx, s, "monetbil", "MB9:success", ""); err != nil || rec.TransactionID != "tx_mb" || rec.Outcome != "applied" {
		t.Errorf("Lookup of a Monetbil event = %+v, %v", rec, err)
	}
	// A failure record closed by nobody, for an event since applied (a
	// redrive from the console): the transaction's memory wins.
	if err := s.Fail(ctx, store.Failure{Provider: provider, EventKey: "evt_redriven", TransactionID: "tx_redriven", Error: "down", Now: now}); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, change("tx_redriven", transaction.Succeeded, "evt_redriven", now), now, transaction.Applied)
	if rec, err := store.Lookup(ctx, s, provider, "evt_redriven", ""); err != nil || rec.Outcome != "applied" || rec.LastError != "down" {
		t.Errorf("Lookup of a redriven event = %+v, %v", rec, err)
	}
	// A failing event is its failure record.
	if err := s.Fail(ctx, store.Failure{Provider: provider, EventKey: "evt_failing", TransactionID: "tx_none", Error: "down", Now: now}); err != nil {
		t.Fatal(err)
	}
	if rec, err := store.Lookup(ctx, s, provider, "evt_failing", ""); err != nil || rec.Status != store.Failed {
		t.Errorf("Lookup of a failing event = %+v, %v", rec, err)
	}
}

func testRecord(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	if err := s.Fail(ctx, store.Failure{Provider: provider, EventKey: "evt_rec", EventType: "charge.refunded", Attempt: 1, Error: "boom", ErrorType: "x", Now: now}); err != nil {
		t.Fatal(err)
	}
	o := store.Outcome{Provider: provider, EventKey: "evt_rec", TransactionID: "tx_9", MessageID: "m2", Outcome: "mismatch", Mismatch: []string{"amount", "payment_ref"}, Detail: "checkPayment disagrees", Now: now.Add(time.Second)}
	if err := s.Record(ctx, o); err != nil {
		t.Fatal(err)
	}
	rec := mustEvent(t, s, "evt_rec")
	if rec.Status != store.Processed || rec.Outcome != "mismatch" || !slices.Equal(rec.Mismatch, o.Mismatch) || rec.Detail != o.Detail ||
		rec.Attempts != 2 || rec.LastError != "boom" || rec.EventType != "charge.refunded" || rec.TransactionID != "tx_9" || rec.MessageID != "m2" {
		t.Errorf("record %+v", rec)
	}
	wantTime(t, "processed at", rec.ProcessedAt, now.Add(time.Second))
	wantTime(t, "expires at", rec.ExpiresAt, now.Add(time.Second).Add(Retention))
}

func testFailureHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	for i := range 3 {
		f := store.Failure{Provider: provider, EventKey: "evt_f", EventType: "payment_intent.succeeded", TransactionID: "tx_f", MessageID: "m1",
			Attempt: i + 1, Error: fmt.Sprintf("err %d", i+1), ErrorType: "transient", DeadLettered: i == 2, Now: now.Add(time.Duration(i) * time.Second)}
		if err := s.Fail(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	rec := mustEvent(t, s, "evt_f")
	if rec.Status != store.Failed || rec.Attempts != 3 || rec.LastError != "err 3" || !rec.DeadLettered || rec.DLQMessageID != "m1" || !rec.ExpiresAt.IsZero() {
		t.Errorf("record %+v", rec)
	}
	wantTime(t, "first failure", rec.FirstFailedAt, now)
	wantTime(t, "last failure", rec.LastFailedAt, now.Add(2*time.Second))
}

func testFailOnProcessed(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	if err := s.Record(ctx, store.Outcome{Provider: provider, EventKey: "evt_p", Outcome: "ignored", Now: now}); err != nil {
		t.Fatal(err)
	}
	err := s.Fail(ctx, store.Failure{Provider: provider, EventKey: "evt_p", Error: "late", Now: now.Add(time.Second)})
	wantErr(t, "Fail on a processed event", err, store.ErrAlreadyProcessed)
	if rec := mustEvent(t, s, "evt_p"); rec.Status != store.Processed || rec.LastError != "" {
		t.Errorf("record %+v", rec)
	}
}

func testResolve(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	if err := s.Resolve(ctx, provider, "evt_never_failed", "applied", 0, now); err != nil {
		t.Errorf("Resolve without a failure record: %v", err)
	}
	_, err := s.Event(ctx, provider, "evt_never_failed")
	wantErr(t, "Resolve created a record", err, store.ErrNotFound)
	if err := s.Fail(ctx, store.Failure{Provider: provider, EventKey: "evt_r", Error: "down", DeadLettered: true, MessageID: "m1", Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(ctx, provider, "evt_r", "applied", 0, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	rec := mustEvent(t, s, "evt_r")
	if rec.Status != store.Processed || rec.Outcome != "applied" || rec.Attempts != 2 || rec.LastError != "down" {
		t.Errorf("record %+v", rec)
	}
	wantTime(t, "expires at", rec.ExpiresAt, now.Add(time.Minute).Add(Retention))
}

func testForget(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	wantErr(t, "Forget of a missing event", s.Forget(ctx, provider, "evt_none", now), store.ErrNotFound)
	if err := s.Record(ctx, store.Outcome{Provider: provider, EventKey: "evt_done", Outcome: "ignored", Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget(ctx, provider, "evt_done", now); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Forget of a processed event: %v, want an error saying it is not FAILED", err)
	}
	if err := s.Fail(ctx, store.Failure{Provider: provider, EventKey: "evt_forget", Error: "x", Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget(ctx, provider, "evt_forget", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	rec := mustEvent(t, s, "evt_forget")
	if rec.Status != store.Forgotten || rec.LastError != "x" {
		t.Errorf("record %+v", rec)
	}
	wantTime(t, "forgotten at", rec.ForgottenAt, now.Add(time.Second))
	// A new delivery of a forgotten event that fails is a failure again.
	if err := s.Fail(ctx, store.Failure{Provider: provider, EventKey: "evt_forget", Error: "y", Now: now.Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if rec := mustEvent(t, s, "evt_forget"); rec.Status != store.Failed || rec.Attempts != 2 {
		t.Errorf("record %+v", rec)
	}
}

func testEventMissing(t *testing.T, s store.Store) {
	_, err := s.Event(context.Background(), provider, "evt_missing")
	wantErr(t, "Event of a missing event", err, store.ErrNotFound)
}

func testExpired(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	old := now.Add(-2 * Retention)
	if err := s.Record(ctx, store.Outcome{Provider: provider, EventKey: "evt_old", Outcome: "ignored", Now: old}); err != nil {
		t.Fatal(err)
	}
	// Recorded longer ago than the retention: DynamoDB's TTL may not have
	// deleted it yet, but it reads as absent, and a failure may be recorded.
	_, err := s.Event(ctx, provider, "evt_old")
	wantErr(t, "Event of an expired record", err, store.ErrNotFound)
	if err := s.Fail(ctx, store.Failure{Provider: provider, EventKey: "evt_old", Error: "x", Now: now}); err != nil {
		t.Errorf("Fail on an expired record: %v", err)
	}
	if rec := mustEvent(t, s, "evt_old"); rec.Status != store.Failed || !rec.ExpiresAt.IsZero() {
		t.Errorf("record %+v", rec)
	}
	// An old binding no longer holds.
	if _, _, err := s.Bind(ctx, store.Binding{Provider: "monetbil", ProviderTransactionID: "MB_old", TransactionID: "tx_a", Now: old}); err != nil {
		t.Fatal(err)
	}
	if to, created, err := s.Bind(ctx, store.Binding{Provider: "monetbil", ProviderTransactionID: "MB_old", TransactionID: "tx_b", Now: now}); err != nil || to != "tx_b" || !created {
		t.Errorf("binding after the old one expired: %q, %v, %v", to, created, err)
	}
}

func testFailures(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	for i, key := range []string{"evt_a", "evt_b", "evt_c"} {
		if err := s.Fail(ctx, store.Failure{Provider: provider, EventKey: key, Error: "x", Now: now.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Record(ctx, store.Outcome{Provider: provider, EventKey: "evt_ok", Outcome: "ignored", Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Bind(ctx, store.Binding{Provider: "monetbil", ProviderTransactionID: "MB1", TransactionID: "tx", Now: now}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Failures(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].EventKey != "evt_c" || got[1].EventKey != "evt_b" {
		t.Errorf("Failures(2) = %+v, want evt_c, evt_b", got)
	}
}

func testInvalidInput(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	for name, c := range map[string]transaction.Change{
		"unknown status": {TransactionID: "tx", Status: "paid", EventKey: "e", EventAt: now},
		"no event key":   {TransactionID: "tx", Status: transaction.Pending, EventAt: now},
		"no event time":  {TransactionID: "tx", Status: transaction.Pending, EventKey: "e"},
		"no transaction": {Status: transaction.Pending, EventKey: "e", EventAt: now},
	} {
		if _, _, err := s.Apply(ctx, c, now); err == nil {
			t.Errorf("Apply with %s: no error", name)
		}
	}
	for name, f := range map[string]store.Failure{
		"no event key": {Provider: provider, Now: now},
		"'#' provider": {Provider: "a#b", EventKey: "e", Now: now},
		"no time":      {Provider: provider, EventKey: "e"},
	} {
		if err := s.Fail(ctx, f); err == nil {
			t.Errorf("Fail with %s: no error", name)
		}
	}
	if err := s.Record(ctx, store.Outcome{Provider: provider, EventKey: "e", Now: now}); err == nil {
		t.Error("Record without an outcome: no error")
	}
	if _, err := s.Event(ctx, provider, "e"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("invalid calls left a record: Event error %v, want ErrNotFound", err)
	}
	if _, err := s.Transaction(ctx, "tx"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("invalid calls left a transaction: %v", err)
	}
}

func testRounds(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	dead := func(key string, round int, permanent bool, at time.Time) {
		t.Helper()
		if err := s.Fail(ctx, store.Failure{Provider: provider, EventKey: key, Error: "down", DeadLettered: true, Permanent: permanent, Round: round, Now: at}); err != nil {
			t.Fatal(err)
		}
	}
	dead("evt_rounds", 0, false, now)
	if err := s.BeginRound(ctx, provider, "evt_rounds", 2, now); !errors.Is(err, store.ErrRoundTaken) {
		t.Errorf("round 2 before round 1: %v", err)
	}
	if err := s.BeginRound(ctx, provider, "evt_rounds", 1, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginRound(ctx, provider, "evt_rounds", 1, now.Add(time.Minute)); !errors.Is(err, store.ErrRoundTaken) {
		t.Errorf("round 1 twice (two redrivers): %v", err)
	}
	dead("evt_rounds", 1, false, now.Add(2*time.Minute))
	if err := s.BeginRound(ctx, provider, "evt_rounds", 2, now.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(ctx, provider, "evt_rounds", "applied", 2, now.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	rec := mustEvent(t, s, "evt_rounds")
	want := []store.Round{{Round: 1, At: now.Add(time.Minute), Outcome: store.RoundFailed}, {Round: 2, At: now.Add(3 * time.Minute), Outcome: "applied"}}
	if rec.Status != store.Processed || len(rec.Rounds) != 2 {
		t.Fatalf("record %+v, want processed after 2 rounds", rec)
	}
	for i, r := range want {
		if got := rec.Rounds[i]; got.Round != r.Round || got.Outcome != r.Outcome || !got.At.Equal(r.At) {
			t.Errorf("round %d: %+v, want %+v", i+1, got, r)
		}
	}
	// Never for a permanent failure, a forgotten event, or no record.
	dead("evt_perm", 0, true, now)
	dead("evt_forgot", 0, false, now)
	if err := s.Forget(ctx, provider, "evt_forgot", now); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"evt_perm", "evt_forgot", "evt_none"} {
		if err := s.BeginRound(ctx, provider, key, 1, now); !errors.Is(err, store.ErrRoundTaken) {
			t.Errorf("BeginRound of %s: %v, want ErrRoundTaken", key, err)
		}
	}
}
