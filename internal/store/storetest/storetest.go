// Package storetest is the conformance suite every store.Store must pass, so
// that the in-memory store the domain's unit tests use behaves exactly like
// the DynamoDB one in production.
//
// The suite passes explicit times to the store and never sleeps: leases run
// out because a later Now is passed, not because time passes. The one
// exception is expiry, which Event can only judge by the clock: the suite
// ages records by processing them further in the past than Retention.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

// Retention is the retention of PROCESSED and FORGOTTEN records that the
// stores under test must be built with.
const Retention = 24 * time.Hour

const (
	provider = "stripe"
	lease    = 30 * time.Second
)

// Run runs the suite. newStore returns an empty store built with Retention;
// it is called once per subtest, and subtests run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		test func(t *testing.T, s store.Store)
	}{
		{"ClaimNew", testClaimNew},
		{"ClaimWhileLeasedIsBusy", testClaimWhileLeased},
		{"ClaimAfterCompleteIsAlreadyProcessed", testClaimAfterComplete},
		{"ClaimAfterLeaseExpiry", testClaimAfterLeaseExpiry},
		{"FailReleasesClaim", testFailReleasesClaim},
		{"FailureHistory", testFailureHistory},
		{"FailWithoutToken", testFailWithoutToken},
		{"FailWithoutTokenOnProcessedIsLeaseLost", testFailWithoutTokenOnProcessed},
		{"Forget", testForget},
		{"EventMissing", testEventMissing},
		{"ExpiredRecordCountsAsAbsent", testExpired},
		{"InvalidInput", testInvalidInput},
		{"ConcurrentClaimsOneWins", testConcurrentClaims},
		{"Apply", testApply},
		{"ApplyRefused", testApplyRefused},
		{"ConcurrentApplyLosesNothing", testConcurrentApply},
		{"TransactionMissing", testTransactionMissing},
		{"FailuresNewestFirst", testFailures},
		{"RetriedClaimWithTheSameTokenIsClaimed", testRetriedClaim},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, newStore(t))
		})
	}
}

// base is a time on a whole millisecond, the precision of leases, and near
// the real clock, by which Event judges expiry.
func base() time.Time { return time.Now().UTC().Truncate(time.Second) }

func claimAt(key, token string, now time.Time) store.Claim {
	return store.Claim{
		Provider: provider, EventKey: key, EventType: "payment_intent.succeeded", TransactionID: "tx-" + key,
		MessageID: "msg-" + token, Token: token, Now: now, LeaseUntil: now.Add(lease),
	}
}

func mustClaim(t *testing.T, s store.Store, c store.Claim, want store.ClaimResult) store.EventRecord {
	t.Helper()
	got, rec, err := s.Claim(context.Background(), c)
	if err != nil {
		t.Fatalf("Claim(%s, token %s): %v", c.EventKey, c.Token, err)
	}
	if got != want {
		t.Fatalf("Claim(%s, token %s) = %s, want %s (record %+v)", c.EventKey, c.Token, got, want, rec)
	}
	return rec
}

func mustEvent(t *testing.T, s store.Store, key string) store.EventRecord {
	t.Helper()
	rec, err := s.Event(context.Background(), provider, key)
	if err != nil {
		t.Fatalf("Event(%s): %v", key, err)
	}
	return rec
}

func mustComplete(t *testing.T, s store.Store, key, token, outcome string, now time.Time) {
	t.Helper()
	if err := s.Complete(context.Background(), provider, key, token, outcome, now); err != nil {
		t.Fatalf("Complete(%s, token %s): %v", key, token, err)
	}
}

func failure(key, token, msg string, now time.Time) store.Failure {
	return store.Failure{
		Provider: provider, EventKey: key, EventType: "payment_intent.succeeded", TransactionID: "tx-" + key,
		MessageID: "msg-" + token, Token: token, Error: msg, ErrorType: "transient", Now: now,
	}
}

func mustFail(t *testing.T, s store.Store, f store.Failure) {
	t.Helper()
	if err := s.Fail(context.Background(), f); err != nil {
		t.Fatalf("Fail(%s, token %q): %v", f.EventKey, f.Token, err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func testClaimNew(t *testing.T, s store.Store) {
	now := base()
	rec := mustClaim(t, s, claimAt("evt_new", "tok-1", now), store.Claimed)
	want := store.EventRecord{
		Provider: provider, EventKey: "evt_new", EventType: "payment_intent.succeeded", TransactionID: "tx-evt_new",
		Status: store.InProgress, Attempts: 1, MessageID: "msg-tok-1", Token: "tok-1",
		LeaseUntil: now.Add(lease), UpdatedAt: now,
	}
	checkEvent(t, "claimed record", rec, want)
	checkEvent(t, "stored record", mustEvent(t, s, "evt_new"), want)
}

// checkEvent compares records field by field, times with Equal.
func checkEvent(t *testing.T, what string, got, want store.EventRecord) {
	t.Helper()
	// Everything but the times, which compare with Equal below.
	strip := func(r store.EventRecord) store.EventRecord {
		r.LeaseUntil, r.ProcessedAt, r.FirstFailedAt, r.LastFailedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		r.ForgottenAt, r.UpdatedAt, r.ExpiresAt = time.Time{}, time.Time{}, time.Time{}
		return r
	}
	if g, w := strip(got), strip(want); g != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
	wantTime(t, what+": LeaseUntil", got.LeaseUntil, want.LeaseUntil)
	wantTime(t, what+": ProcessedAt", got.ProcessedAt, want.ProcessedAt)
	wantTime(t, what+": FirstFailedAt", got.FirstFailedAt, want.FirstFailedAt)
	wantTime(t, what+": LastFailedAt", got.LastFailedAt, want.LastFailedAt)
	wantTime(t, what+": ForgottenAt", got.ForgottenAt, want.ForgottenAt)
	wantTime(t, what+": UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	wantTime(t, what+": ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func testClaimWhileLeased(t *testing.T, s store.Store) {
	now := base()
	mustClaim(t, s, claimAt("evt_busy", "tok-1", now), store.Claimed)
	holder := mustClaim(t, s, claimAt("evt_busy", "tok-2", now.Add(time.Second)), store.Busy)
	if holder.Token != "tok-1" || holder.Status != store.InProgress || holder.Attempts != 1 {
		t.Errorf("Busy returned %+v, want the holder's record (tok-1, IN_PROGRESS, 1 attempt)", holder)
	}
	wantTime(t, "holder's lease", holder.LeaseUntil, now.Add(lease))
	// The lease still holds at its very last millisecond.
	mustClaim(t, s, claimAt("evt_busy", "tok-3", now.Add(lease)), store.Busy)
	if rec := mustEvent(t, s, "evt_busy"); rec.Token != "tok-1" || rec.Attempts != 1 {
		t.Errorf("after busy claims: token %s, attempts %d; want tok-1, 1", rec.Token, rec.Attempts)
	}
}

func testClaimAfterComplete(t *testing.T, s store.Store) {
	now := base()
	mustClaim(t, s, claimAt("evt_done", "tok-1", now), store.Claimed)
	done := now.Add(2 * time.Second)
	mustComplete(t, s, "evt_done", "tok-1", "applied", done)
	want := store.EventRecord{
		Provider: provider, EventKey: "evt_done", EventType: "payment_intent.succeeded", TransactionID: "tx-evt_done",
		Status: store.Processed, Attempts: 1, MessageID: "msg-tok-1", Outcome: "applied",
		ProcessedAt: done, UpdatedAt: done, ExpiresAt: done.Add(Retention),
	}
	checkEvent(t, "completed record", mustEvent(t, s, "evt_done"), want)
	rec := mustClaim(t, s, claimAt("evt_done", "tok-2", done.Add(time.Hour)), store.AlreadyProcessed)
	checkEvent(t, "AlreadyProcessed record", rec, want)
	// Completing twice is not allowed either: the claim is gone.
	err := s.Complete(context.Background(), provider, "evt_done", "tok-1", "applied", done.Add(time.Second))
	wantErr(t, "second Complete", err, store.ErrLeaseLost)
}

func testClaimAfterLeaseExpiry(t *testing.T, s store.Store) {
	now := base()
	mustClaim(t, s, claimAt("evt_lease", "tok-1", now), store.Claimed)
	later := now.Add(lease + time.Millisecond)
	rec := mustClaim(t, s, claimAt("evt_lease", "tok-2", later), store.Claimed)
	if rec.Attempts != 2 || rec.Token != "tok-2" || rec.MessageID != "msg-tok-2" {
		t.Errorf("reclaimed record: attempts %d, token %s, message %s; want 2, tok-2, msg-tok-2", rec.Attempts, rec.Token, rec.MessageID)
	}
	wantTime(t, "new lease", rec.LeaseUntil, later.Add(lease))
	ctx := context.Background()
	err := s.Complete(ctx, provider, "evt_lease", "tok-1", "applied", later.Add(time.Second))
	wantErr(t, "Complete with the expired claim's token", err, store.ErrLeaseLost)
	err = s.Fail(ctx, failure("evt_lease", "tok-1", "late", later.Add(time.Second)))
	wantErr(t, "Fail with the expired claim's token", err, store.ErrLeaseLost)
	if rec := mustEvent(t, s, "evt_lease"); rec.Status != store.InProgress || rec.Token != "tok-2" {
		t.Errorf("after the old attempt's calls: %s held by %s, want IN_PROGRESS held by tok-2", rec.Status, rec.Token)
	}
	mustComplete(t, s, "evt_lease", "tok-2", "applied", later.Add(time.Second))
	if rec := mustEvent(t, s, "evt_lease"); rec.Status != store.Processed || rec.Attempts != 2 {
		t.Errorf("after Complete: %s, %d attempts; want PROCESSED, 2", rec.Status, rec.Attempts)
	}
}

func testFailReleasesClaim(t *testing.T, s store.Store) {
	now := base()
	mustClaim(t, s, claimAt("evt_fail", "tok-1", now), store.Claimed)
	wantErr(t, "Fail with another token", s.Fail(context.Background(), failure("evt_fail", "tok-x", "boom", now)), store.ErrLeaseLost)
	mustFail(t, s, failure("evt_fail", "tok-1", "boom", now.Add(time.Second)))
	rec := mustEvent(t, s, "evt_fail")
	if rec.Status != store.Failed || rec.Token != "" || !rec.LeaseUntil.IsZero() || rec.Attempts != 1 || !rec.ExpiresAt.IsZero() {
		t.Errorf("failed record %+v: want FAILED, no token, no lease, 1 attempt, no expiry", rec)
	}
	// Well within the old lease: FAILED is claimable at once.
	rec = mustClaim(t, s, claimAt("evt_fail", "tok-2", now.Add(2*time.Second)), store.Claimed)
	if rec.Attempts != 2 || rec.Token != "tok-2" {
		t.Errorf("claim after Fail: attempts %d, token %s; want 2, tok-2", rec.Attempts, rec.Token)
	}
}

func testFailureHistory(t *testing.T, s store.Store) {
	t0 := base()
	key := "evt_history"
	mustClaim(t, s, claimAt(key, "tok-1", t0), store.Claimed)
	t1 := t0.Add(time.Second)
	mustFail(t, s, failure(key, "tok-1", "timeout", t1))
	t2 := t0.Add(10 * time.Second)
	mustClaim(t, s, claimAt(key, "tok-2", t2), store.Claimed)
	t3 := t2.Add(time.Second)
	f := failure(key, "tok-2", "card declined", t3)
	f.ErrorType, f.Permanent, f.DeadLettered = "permanent", true, true
	mustFail(t, s, f)
	want := store.EventRecord{
		Provider: provider, EventKey: key, EventType: "payment_intent.succeeded", TransactionID: "tx-" + key,
		Status: store.Failed, Attempts: 2, MessageID: "msg-tok-2", LastError: "card declined", ErrorType: "permanent",
		Permanent: true, DeadLettered: true, DLQMessageID: "msg-tok-2", FirstFailedAt: t1, LastFailedAt: t3, UpdatedAt: t3,
	}
	checkEvent(t, "after two failures", mustEvent(t, s, key), want)

	// A later success keeps the failure history for the record.
	t4 := t3.Add(time.Minute)
	mustClaim(t, s, claimAt(key, "tok-3", t4), store.Claimed)
	t5 := t4.Add(time.Second)
	mustComplete(t, s, key, "tok-3", "applied", t5)
	want.Status, want.Attempts, want.MessageID, want.Outcome = store.Processed, 3, "msg-tok-3", "applied"
	want.ProcessedAt, want.UpdatedAt, want.ExpiresAt = t5, t5, t5.Add(Retention)
	checkEvent(t, "after success", mustEvent(t, s, key), want)
}

func testFailWithoutToken(t *testing.T, s store.Store) {
	now := base()
	key := "evt_undecodable"
	// A failure before any claim creates the record and counts an attempt.
	f := failure(key, "", "bad envelope", now)
	f.MessageID, f.EventType, f.TransactionID = "msg-1", "", ""
	mustFail(t, s, f)
	want := store.EventRecord{
		Provider: provider, EventKey: key, Status: store.Failed, Attempts: 1, MessageID: "msg-1",
		LastError: "bad envelope", ErrorType: "transient", FirstFailedAt: now, LastFailedAt: now, UpdatedAt: now,
	}
	checkEvent(t, "failure before any claim", mustEvent(t, s, key), want)
	rec := mustClaim(t, s, claimAt(key, "tok-1", now.Add(time.Second)), store.Claimed)
	if rec.Attempts != 2 || rec.LastError != "bad envelope" {
		t.Errorf("claim after a token-less failure: attempts %d, last error %q; want 2, %q", rec.Attempts, rec.LastError, "bad envelope")
	}
	// A token-less failure never steals a live claim.
	err := s.Fail(context.Background(), failure(key, "", "other delivery", now.Add(2*time.Second)))
	wantErr(t, "token-less Fail during a live claim", err, store.ErrLeaseLost)
	if rec := mustEvent(t, s, key); rec.Status != store.InProgress || rec.Token != "tok-1" {
		t.Errorf("a token-less Fail took the live claim: %+v", rec)
	}
	// A token-less failure of an expired claim counts too, and releases it.
	later := now.Add(time.Second + lease + time.Millisecond)
	mustFail(t, s, failure(key, "", "still bad", later))
	rec = mustEvent(t, s, key)
	if rec.Status != store.Failed || rec.Attempts != 3 || rec.Token != "" {
		t.Errorf("after a token-less failure: %s, %d attempts, token %q; want FAILED, 3, none", rec.Status, rec.Attempts, rec.Token)
	}
	wantTime(t, "first failure kept", rec.FirstFailedAt, now)
	wantTime(t, "last failure", rec.LastFailedAt, later)
}

func testFailWithoutTokenOnProcessed(t *testing.T, s store.Store) {
	now := base()
	mustClaim(t, s, claimAt("evt_processed", "tok-1", now), store.Claimed)
	mustComplete(t, s, "evt_processed", "tok-1", "applied", now.Add(time.Second))
	err := s.Fail(context.Background(), failure("evt_processed", "", "duplicate delivery failed", now.Add(time.Minute)))
	wantErr(t, "token-less Fail on a PROCESSED event", err, store.ErrLeaseLost)
	rec := mustEvent(t, s, "evt_processed")
	if rec.Status != store.Processed || rec.Attempts != 1 || rec.LastError != "" {
		t.Errorf("PROCESSED record changed by a refused Fail: %+v", rec)
	}
}

func testForget(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	key := "evt_forget"
	wantErr(t, "Forget of a missing event", s.Forget(ctx, provider, key, now), store.ErrNotFound)
	mustClaim(t, s, claimAt(key, "tok-1", now), store.Claimed)
	if err := s.Forget(ctx, provider, key, now); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Forget of an IN_PROGRESS event: error %v, want a not-FAILED error", err)
	}
	mustFail(t, s, failure(key, "tok-1", "boom", now.Add(time.Second)))
	forgot := now.Add(time.Hour)
	if err := s.Forget(ctx, provider, key, forgot); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	rec := mustEvent(t, s, key)
	if rec.Status != store.Forgotten || rec.LastError != "boom" {
		t.Errorf("forgotten record: %s, last error %q; want FORGOTTEN, boom", rec.Status, rec.LastError)
	}
	wantTime(t, "ForgottenAt", rec.ForgottenAt, forgot)
	wantTime(t, "ExpiresAt", rec.ExpiresAt, forgot.Add(Retention))
	if err := s.Forget(ctx, provider, key, forgot); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Forget: error %v, want a not-FAILED error", err)
	}
	// A new delivery of a forgotten event may still be processed.
	rec = mustClaim(t, s, claimAt(key, "tok-2", forgot.Add(time.Minute)), store.Claimed)
	if rec.Attempts != 2 || !rec.ExpiresAt.IsZero() {
		t.Errorf("claim of a forgotten event: attempts %d, expires %v; want 2, never", rec.Attempts, rec.ExpiresAt)
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
	key := "evt_expired"
	mustClaim(t, s, claimAt(key, "tok-1", old), store.Claimed)
	mustComplete(t, s, key, "tok-1", "applied", old.Add(time.Second))
	// Processed longer ago than the retention: DynamoDB's TTL may not have
	// deleted it yet, but it reads as absent.
	_, err := s.Event(ctx, provider, key)
	wantErr(t, "Event of an expired record", err, store.ErrNotFound)
	wantErr(t, "Forget of an expired record", s.Forget(ctx, provider, key, now), store.ErrNotFound)
	rec := mustClaim(t, s, claimAt(key, "tok-2", now), store.Claimed)
	if rec.Status != store.InProgress || rec.Token != "tok-2" || !rec.ExpiresAt.IsZero() {
		t.Errorf("claim of an expired record: %+v; want IN_PROGRESS, tok-2, no expiry", rec)
	}
	mustComplete(t, s, key, "tok-2", "already_applied", now.Add(time.Second))
	wantTime(t, "new expiry", mustEvent(t, s, key).ExpiresAt, now.Add(time.Second).Add(Retention))

	// An expired record does not stop a token-less failure either.
	key = "evt_expired_fail"
	mustClaim(t, s, claimAt(key, "tok-1", old), store.Claimed)
	mustComplete(t, s, key, "tok-1", "applied", old.Add(time.Second))
	mustFail(t, s, failure(key, "", "bad envelope", now))
	if rec := mustEvent(t, s, key); rec.Status != store.Failed || !rec.ExpiresAt.IsZero() {
		t.Errorf("token-less failure of an expired record: %s, expires %v; want FAILED, never", rec.Status, rec.ExpiresAt)
	}
}

func testInvalidInput(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base()
	for name, c := range map[string]store.Claim{
		"no provider":   {EventKey: "e", Token: "t", Now: now, LeaseUntil: now.Add(lease)},
		"'#' provider":  {Provider: "a#b", EventKey: "e", Token: "t", Now: now, LeaseUntil: now.Add(lease)},
		"no event key":  {Provider: provider, Token: "t", Now: now, LeaseUntil: now.Add(lease)},
		"no token":      {Provider: provider, EventKey: "e", Now: now, LeaseUntil: now.Add(lease)},
		"no lease":      {Provider: provider, EventKey: "e", Token: "t", Now: now},
		"lease in past": {Provider: provider, EventKey: "e", Token: "t", Now: now, LeaseUntil: now.Add(-time.Second)},
	} {
		if _, _, err := s.Claim(ctx, c); err == nil {
			t.Errorf("Claim with %s: no error", name)
		}
	}
	if err := s.Complete(ctx, provider, "e", "", "applied", now); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Complete without a token: error %v, want ErrLeaseLost", err)
	}
	if err := s.Fail(ctx, store.Failure{Provider: provider, Now: now}); err == nil {
		t.Error("Fail without an event key: no error")
	}
	if _, _, err := s.Apply(ctx, transaction.Change{TransactionID: "tx", Status: "paid", EventKey: "e"}, now); err == nil {
		t.Error("Apply with an unknown status: no error")
	}
	if _, _, err := s.Apply(ctx, transaction.Change{TransactionID: "tx", Status: transaction.Pending}, now); err == nil {
		t.Error("Apply without an event key: no error")
	}
	if _, err := s.Event(ctx, provider, "e"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("invalid calls left a record: Event error %v, want ErrNotFound", err)
	}
}

func testConcurrentClaims(t *testing.T, s store.Store) {
	const n = 50
	now := base()
	key := "evt_race"
	results := make([]store.ClaimResult, n)
	records := make([]store.EventRecord, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], records[i], errs[i] = s.Claim(context.Background(), claimAt(key, fmt.Sprintf("tok-%d", i), now))
		})
	}
	close(start)
	wg.Wait()
	winner := ""
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("claim %d: %v", i, errs[i])
		}
		if results[i] == store.Claimed {
			if winner != "" {
				t.Fatalf("two claims won: %s and %s", winner, records[i].Token)
			}
			winner = records[i].Token
		} else if results[i] != store.Busy {
			t.Errorf("claim %d = %s, want claimed or busy", i, results[i])
		}
	}
	if winner == "" {
		t.Fatal("no claim won")
	}
	for i := range n {
		if results[i] == store.Busy && records[i].Token != winner {
			t.Errorf("busy claim %d saw holder %s, want %s", i, records[i].Token, winner)
		}
	}
	if rec := mustEvent(t, s, key); rec.Token != winner || rec.Attempts != 1 {
		t.Errorf("stored record: token %s, %d attempts; want %s, 1", rec.Token, rec.Attempts, winner)
	}
}

func change(id string, status transaction.Status, key string, at time.Time) transaction.Change {
	return transaction.Change{TransactionID: id, Status: status, Provider: provider, EventKey: key, EventAt: at}
}

func mustApply(t *testing.T, s store.Store, c transaction.Change, now time.Time, want transaction.Verdict) transaction.Transaction {
	t.Helper()
	verdict, tx, err := s.Apply(context.Background(), c, now)
	if err != nil {
		t.Fatalf("Apply(%s -> %s by %s): %v", c.TransactionID, c.Status, c.EventKey, err)
	}
	if verdict != want {
		t.Fatalf("Apply(%s -> %s by %s) = %s, want %s (transaction %+v)", c.TransactionID, c.Status, c.EventKey, verdict, want, tx)
	}
	stored := mustTransaction(t, s, c.TransactionID)
	checkTransaction(t, "Apply's transaction against the stored one", tx, stored)
	return stored
}

func mustTransaction(t *testing.T, s store.Store, id string) transaction.Transaction {
	t.Helper()
	tx, err := s.Transaction(context.Background(), id)
	if err != nil {
		t.Fatalf("Transaction(%s): %v", id, err)
	}
	return tx
}

func checkTransaction(t *testing.T, what string, got, want transaction.Transaction) {
	t.Helper()
	g, w := got, want
	g.LastEventAt, g.CreatedAt, g.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
	w.LastEventAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
	if g != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
	wantTime(t, what+": LastEventAt", got.LastEventAt, want.LastEventAt)
	wantTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
	wantTime(t, what+": UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func testApply(t *testing.T, s store.Store) {
	now := base()
	id := "tx_apply"
	created := change(id, transaction.Pending, "evt_1", now.Add(-time.Minute))
	created.Amount, created.Currency = 5000, "eur"
	tx := mustApply(t, s, created, now, transaction.Applied)
	checkTransaction(t, "created", tx, transaction.Transaction{
		ID: id, Status: transaction.Pending, Provider: provider, Amount: 5000, Currency: "eur",
		LastEventKey: "evt_1", LastEventAt: now.Add(-time.Minute), CreatedAt: now, UpdatedAt: now, Version: 1,
	})

	moved := now.Add(time.Second)
	tx = mustApply(t, s, change(id, transaction.Succeeded, "evt_2", now), moved, transaction.Applied)
	checkTransaction(t, "moved", tx, transaction.Transaction{
		ID: id, Status: transaction.Succeeded, Provider: provider, Amount: 5000, Currency: "eur",
		LastEventKey: "evt_2", LastEventAt: now, CreatedAt: now, UpdatedAt: moved, Version: 2,
	})

	// Nothing below writes: the version stays 2.
	later := now.Add(time.Hour)
	mustApply(t, s, change(id, transaction.Succeeded, "evt_2", now), later, transaction.AlreadyApplied)
	mustApply(t, s, change(id, transaction.Failed, "evt_old", now.Add(-30*time.Second)), later, transaction.Stale)
	mustApply(t, s, change(id, transaction.Succeeded, "evt_3", now.Add(time.Second)), later, transaction.Unchanged)
	checkTransaction(t, "after verdicts that write nothing", mustTransaction(t, s, id), tx)
}

func testApplyRefused(t *testing.T, s store.Store) {
	now := base()
	id := "tx_refused"
	mustApply(t, s, change(id, transaction.Succeeded, "evt_1", now), now, transaction.Applied)
	tx := mustApply(t, s, change(id, transaction.Failed, "evt_2", now.Add(time.Second)), now, transaction.Refused)
	if tx.Status != transaction.Succeeded || tx.Version != 1 {
		t.Errorf("succeeded -> failed changed the transaction: %+v", tx)
	}
	mustApply(t, s, change(id, transaction.Refunded, "evt_3", now.Add(2*time.Second)), now, transaction.Applied)
	tx = mustApply(t, s, change(id, transaction.Succeeded, "evt_4", now.Add(3*time.Second)), now, transaction.Refused)
	if tx.Status != transaction.Refunded || tx.Version != 2 || tx.LastEventKey != "evt_3" {
		t.Errorf("refunded -> succeeded changed the transaction: %+v", tx)
	}
}

func testConcurrentApply(t *testing.T, s store.Store) {
	const n = 20
	now := base()
	id := "tx_race"
	mustApply(t, s, change(id, transaction.Succeeded, "evt_paid", now), now, transaction.Applied)
	// Partial refunds always apply on top of each other: every change must
	// land, none may overwrite another.
	verdicts := make([]transaction.Verdict, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			c := change(id, transaction.PartiallyRefunded, fmt.Sprintf("evt_refund_%d", i), time.Time{})
			c.Amount = int64(100 + i)
			verdicts[i], _, errs[i] = s.Apply(context.Background(), c, now.Add(time.Second))
		})
	}
	close(start)
	wg.Wait()
	applied := 1 // the creation
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("apply %d: %v", i, errs[i])
		}
		if verdicts[i] == transaction.Applied {
			applied++
		}
	}
	tx := mustTransaction(t, s, id)
	if tx.Version != int64(applied) {
		t.Errorf("version %d after %d applied changes: an update was lost", tx.Version, applied)
	}
	if applied != n+1 {
		t.Errorf("%d of %d partial refunds applied, want all", applied-1, n)
	}
	if tx.Status != transaction.PartiallyRefunded {
		t.Errorf("status %s, want %s", tx.Status, transaction.PartiallyRefunded)
	}
}

func testTransactionMissing(t *testing.T, s store.Store) {
	_, err := s.Transaction(context.Background(), "tx_missing")
	wantErr(t, "Transaction of a missing transaction", err, store.ErrNotFound)
}

func testFailures(t *testing.T, s store.Store) {
	now := time.Now().Add(-time.Minute)
	mustFail(t, s, failure("evt_f1", "", "first", now))
	mustFail(t, s, failure("evt_f2", "", "second", now.Add(time.Second)))
	mustClaim(t, s, claimAt("evt_ok", "tok-1", now), store.Claimed)
	mustComplete(t, s, "evt_ok", "tok-1", "applied", now.Add(time.Second))
	got, err := s.Failures(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].EventKey != "evt_f2" || got[1].EventKey != "evt_f1" {
		t.Fatalf("Failures = %+v, want evt_f2 then evt_f1 only", got)
	}
	if got, _ := s.Failures(context.Background(), 1); len(got) != 1 {
		t.Fatalf("limit 1 gave %d", len(got))
	}
}

// A claim whose answer was lost is retried by the SDK with the same token:
// it must not find itself busy.
func testRetriedClaim(t *testing.T, s store.Store) {
	now := base()
	first := mustClaim(t, s, claimAt("evt_retried", "tok-1", now), store.Claimed)
	again := mustClaim(t, s, claimAt("evt_retried", "tok-1", now.Add(time.Millisecond)), store.Claimed)
	if again.Token != "tok-1" || again.Attempts != first.Attempts {
		t.Errorf("retried claim: %+v, want the same claim (attempts %d)", again, first.Attempts)
	}
	mustClaim(t, s, claimAt("evt_retried", "tok-2", now.Add(time.Second)), store.Busy)
}
