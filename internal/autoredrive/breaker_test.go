package autoredrive_test

import (
	"context"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/autoredrive"
	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/store"
)

func TestTheMonetbilBreakerOpensOnlyOnATransientFailure(t *testing.T) {
	t.Parallel()
	m := hubtest.NewMonetbil(t)
	m.Set("MB-down", 1, -1, 0) // HTTP 500, always
	m.Set("MB-up", 1, 0, 0)
	// MB-unknown: 404, a permanent failure.
	client, err := monetbil.NewClient(m.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := autoredrive.MonetbilBreaker{Checker: client}
	probe := func(key string) error {
		var e envelope.Envelope
		if err := decodeInto(body(t, "monetbil", key), &e); err != nil {
			t.Fatal(err)
		}
		return b.Probe(context.Background(), e)
	}
	if err := probe("MB-down:success"); err == nil {
		t.Error("a 500 from checkPayment left the breaker closed")
	}
	if err := probe("MB-up:success"); err != nil {
		t.Errorf("an answer: %v", err)
	}
	if err := probe("MB-unknown:success"); err != nil {
		t.Errorf("a permanent failure (404) must let the round go: %v", err)
	}
	if err := b.Probe(context.Background(), envelope.Envelope{Provider: "monetbil", Payload: "%zz"}); err != nil {
		t.Errorf("an unreadable notification: %v", err)
	}
	if got := len(m.Calls("MB-down")) + len(m.Calls("MB-up")) + len(m.Calls("MB-unknown")); got != 3 {
		t.Errorf("%d checkPayment calls, want one per probe", got)
	}
}

func decodeInto(s string, e *envelope.Envelope) error {
	d, err := envelope.Decode([]byte(s))
	*e = d
	return err
}

func TestThePlanOfAnEvent(t *testing.T) {
	t.Parallel()
	failedAt := now.Add(-10 * time.Minute)
	rec := func(rounds ...time.Time) store.EventRecord {
		r := store.EventRecord{Status: store.Failed, LastFailedAt: failedAt}
		for i, at := range rounds {
			r.Rounds = append(r.Rounds, store.Round{Round: i + 1, At: at, Outcome: store.RoundFailed})
		}
		return r
	}
	for _, tc := range []struct {
		name    string
		rec     store.EventRecord
		found   bool
		s       autoredrive.Schedule
		verdict autoredrive.Verdict
		round   int
		dueAt   time.Time
	}{
		{"round 1 due", rec(), true, schedule, autoredrive.Due, 1, failedAt.Add(5 * time.Minute)},
		{"due exactly now", rec(), true, autoredrive.Schedule{10 * time.Minute}, autoredrive.Due, 1, now},
		{"round 1 later", rec(), true, autoredrive.Schedule{time.Hour}, autoredrive.NotDue, 1, failedAt.Add(time.Hour)},
		{"round 2 after a round that began later than the failure", rec(now.Add(-time.Minute)), true, schedule, autoredrive.NotDue, 2, now.Add(29 * time.Minute)},
		{"every round spent", rec(failedAt, failedAt, failedAt), true, schedule, autoredrive.Exhausted, 0, time.Time{}},
		{"no record", store.EventRecord{}, false, schedule, autoredrive.NoRecord, 0, time.Time{}},
		{"off", rec(), true, nil, autoredrive.Off, 0, time.Time{}},
		{"permanent", store.EventRecord{Status: store.Failed, Permanent: true}, true, schedule, autoredrive.Permanent, 0, time.Time{}},
		{"forgotten", store.EventRecord{Status: store.Forgotten}, true, schedule, autoredrive.Forgotten, 0, time.Time{}},
		{"processed", store.EventRecord{Status: store.Processed}, true, schedule, autoredrive.NotFailed, 0, time.Time{}},
	} {
		p := tc.s.Plan(tc.rec, tc.found, now)
		if p.Verdict != tc.verdict || p.Round != tc.round || !p.DueAt.Equal(tc.dueAt) {
			t.Errorf("%s: %+v, want %s round %d at %s", tc.name, p, tc.verdict, tc.round, tc.dueAt)
		}
	}
	if got := autoredrive.Progress(len(rec(now).Rounds), len(schedule)); got != "1/3" {
		t.Errorf("progress %q", got)
	}
}
