package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

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
