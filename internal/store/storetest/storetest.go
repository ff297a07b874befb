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
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/store"
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
