package failedjobs_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/failedjobs"
	"github.com/payments-hub/hub/internal/store"
)

var failedAt = time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)

func TestAFilterSelectsByProviderErrorTypeTimeAndTransaction(t *testing.T) {
	t.Parallel()
	transient := failedjobs.FailedJob{Provider: "monetbil", TransactionID: "tx-1", ErrorType: "*monetbil.CheckError", FailedAt: failedAt, Record: "FAILED"}
	permanent := failedjobs.FailedJob{Provider: "stripe", ErrorType: "invalid_envelope", Permanent: true, FailedAt: failedAt.Add(time.Hour), Record: "FAILED"}
	missing := failedjobs.FailedJob{Provider: "monetbil", Record: "missing"}
	for _, tc := range []struct {
		f    failedjobs.Filter
		want []bool // transient, permanent, missing
	}{
		{failedjobs.Filter{}, []bool{true, true, true}},
		{failedjobs.Filter{Provider: "monetbil"}, []bool{true, false, true}},
		{failedjobs.Filter{ErrorType: "transient"}, []bool{true, false, false}},
		{failedjobs.Filter{ErrorType: "Permanent"}, []bool{false, true, false}},
		{failedjobs.Filter{ErrorType: "*monetbil.CheckError"}, []bool{true, false, false}},
		{failedjobs.Filter{ErrorType: "monetbil.checkerror"}, []bool{true, false, false}},
		{failedjobs.Filter{ErrorType: "CheckError"}, []bool{true, false, false}},
		{failedjobs.Filter{ErrorType: "Error"}, []bool{false, false, false}},
		{failedjobs.Filter{Since: failedAt.Add(time.Minute)}, []bool{false, true, false}},
		{failedjobs.Filter{Until: failedAt}, []bool{true, false, false}},
		{failedjobs.Filter{Since: failedAt, Until: failedAt.Add(time.Hour)}, []bool{true, true, false}},
		{failedjobs.Filter{TransactionID: "tx-1"}, []bool{true, false, false}},
	} {
		for i, j := range []failedjobs.FailedJob{transient, permanent, missing} {
			if got := tc.f.Match(j); got != tc.want[i] {
				t.Errorf("%+v matches job %d: %t, want %t", tc.f, i, got, tc.want[i])
			}
		}
	}
}

// mixed fills a DLQ with both providers' events, transient and permanent
// failures, and returns the ids of the transient Monetbil ones.
func mixed(d *fakeDLQ, recs *fakeRecords) (want []string) {
	recs.recs = map[store.EventRef]store.EventRecord{}
	for i := range 40 {
		provider, key := "monetbil", fmt.Sprintf("MB-%02d:success", i)
		if i%2 == 1 {
			provider, key = "stripe", fmt.Sprintf("evt_%02d", i)
		}
		id := fmt.Sprintf("m-%02d", i)
		d.Add(id, "body of "+id, map[string]string{envelope.AttrProvider: provider, envelope.AttrEventKey: key})
		permanent := i%4 >= 2
		rec := store.EventRecord{Provider: provider, EventKey: key, Status: store.Failed, Attempts: 3, ErrorType: "*monetbil.CheckError", Permanent: permanent, LastFailedAt: failedAt}
		recs.recs[store.EventRef{Provider: provider, EventKey: key}] = rec
		if provider == "monetbil" && !permanent {
			want = append(want, id)
		}
	}
	return want
}

func TestAFilteredRetryMovesExactlyTheSelectedMessages(t *testing.T) {
	t.Parallel()
	d, src, recs := &fakeDLQ{}, &fakeSource{}, &fakeRecords{}
	want := mixed(d, recs)
	svc := newService(t, d, src, recs, nil)
	f := failedjobs.Filter{Provider: "monetbil", ErrorType: "transient"}

	// The preview is a listing: nothing moves.
	l, err := svc.List(context.Background(), failedjobs.ListOptions{Filter: f})
	if err != nil || len(l.Jobs) != len(want) || l.Read != 40 || len(src.sent) != 0 {
		t.Fatalf("preview: %d jobs of %d read, %d sent, %v", len(l.Jobs), l.Read, len(src.sent), err)
	}
	sel, err := svc.Select(context.Background(), f, nil)
	if err != nil || len(sel.Jobs) != len(want) {
		t.Fatalf("select: %+v %v", sel, err)
	}
	if _, hidden := d.Left(); hidden != len(want) {
		t.Fatalf("%d hidden after the selection, want only the %d selected", hidden, len(want))
	}
	out, err := svc.Move(context.Background(), sel, nil)
	if err != nil || len(out) != len(want) {
		t.Fatalf("move: %d outcomes, %v", len(out), err)
	}
	var sent []string
	for _, m := range src.sent {
		sent = append(sent, m.Body[len("body of "):])
		if m.Attributes[envelope.AttrRedrive] != envelope.RedriveManual {
			t.Fatalf("copy not marked manual: %+v", m.Attributes)
		}
	}
	if !slices.Equal(sent, want) {
		t.Fatalf("moved %v, want %v", sent, want)
	}
	if ids, hidden := d.Left(); len(ids) != 40-len(want) || hidden != 0 {
		t.Fatalf("DLQ after: %d left, %d hidden", len(ids), hidden)
	}
}

func TestAReleasedSelectionMovesNothing(t *testing.T) {
	t.Parallel()
	d, src, recs := &fakeDLQ{}, &fakeSource{}, &fakeRecords{}
	mixed(d, recs)
	svc := newService(t, d, src, recs, nil)
	sel, err := svc.Select(context.Background(), failedjobs.Filter{Provider: "stripe"}, nil)
	if err != nil || len(sel.Jobs) != 20 {
		t.Fatalf("select: %v", err)
	}
	if err := svc.Release(context.Background(), sel); err != nil {
		t.Fatal(err)
	}
	if ids, hidden := d.Left(); len(ids) != 40 || hidden != 0 || len(src.sent) != 0 {
		t.Fatalf("%d left, %d hidden, %d sent", len(ids), hidden, len(src.sent))
	}
}

func TestAListingShowsEachJobsRoundsAndWhenTheNextIsDue(t *testing.T) {
	t.Parallel()
	d, recs := &fakeDLQ{}, &fakeRecords{}
	d.fill(3)
	recs.failed("monetbil", "MB-00000:success", 3)
	recs.failed("monetbil", "MB-00001:success", 3)
	r := recs.recs[store.EventRef{Provider: "monetbil", EventKey: "MB-00001:success"}]
	r.Rounds = []store.Round{{Round: 1, At: r.LastFailedAt.Add(10 * time.Minute), Outcome: store.RoundFailed}}
	recs.recs[store.EventRef{Provider: "monetbil", EventKey: "MB-00001:success"}] = r
	schedule := []time.Duration{5 * time.Minute, 30 * time.Minute}
	svc := newService(t, d, &fakeSource{}, recs, func(c *failedjobs.Config) {
		c.Rounds = schedule
		c.Now = func() time.Time { return r.LastFailedAt }
	})
	l, err := svc.List(context.Background(), failedjobs.ListOptions{})
	if err != nil || len(l.Jobs) != 3 {
		t.Fatalf("%+v %v", l, err)
	}
	first, second, missing := l.Jobs[0], l.Jobs[1], l.Jobs[2]
	if first.RoundsTotal != 2 || len(first.Rounds) != 0 || first.NextRound != 1 || !first.NextRoundAt.Equal(r.LastFailedAt.Add(5*time.Minute)) {
		t.Errorf("first %+v", first)
	}
	if len(second.Rounds) != 1 || second.NextRound != 2 || !second.NextRoundAt.Equal(r.LastFailedAt.Add(40*time.Minute)) {
		t.Errorf("second %+v", second)
	}
	if missing.NextRound != 0 || !missing.NextRoundAt.IsZero() || missing.Rounds == nil {
		t.Errorf("a job without a record has no next round: %+v", missing)
	}
}
