package autoredrive_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/autoredrive"
	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/store/memstore"
)

// now is the tests' clock: the records' times are set relative to it.
var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

var schedule = autoredrive.Schedule{5 * time.Minute, 30 * time.Minute, 2 * time.Hour}

// body is a queued envelope of a Monetbil notification (or a Stripe event).
func body(t *testing.T, provider, key string) string {
	t.Helper()
	id, _, _ := strings.Cut(key, ":")
	payload := url.Values{"transaction_id": {id}, "status": {"success"}, "payment_ref": {"tx-" + key}}.Encode()
	if provider == envelope.ProviderStripe {
		payload = `{"id":"` + key + `","object":"event"}`
	}
	b, err := envelope.Encode(envelope.Envelope{Version: 1, Provider: provider, EventKey: key, EventType: "payment.success", ReceivedAt: now, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rig is one pass's world: a DLQ, the queue, the records, a Monetbil
// breaker, and the log.
type rig struct {
	t       *testing.T
	dlq     *fakeDLQ
	queue   *fakeQueue
	records *memstore.Store
	breaker *fakeBreaker
	log     *bytes.Buffer
	r       *autoredrive.Redriver
}

func newRig(t *testing.T, tune func(*autoredrive.Config)) *rig {
	t.Helper()
	g := &rig{t: t, dlq: newFakeDLQ(), queue: &fakeQueue{}, records: memstore.New(0), breaker: &fakeBreaker{}, log: &bytes.Buffer{}}
	cfg := autoredrive.Config{
		DLQ: g.dlq, Queue: g.queue, Records: g.records, Schedule: schedule,
		Breakers: map[string]autoredrive.Breaker{envelope.ProviderMonetbil: g.breaker},
		Logger:   slog.New(slog.NewJSONHandler(&syncWriter{w: g.log}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:      func() time.Time { return now },
	}
	if tune != nil {
		tune(&cfg)
	}
	r, err := autoredrive.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g.r = r
	return g
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// failed records a transient failure that reached the DLQ at, and puts
// its message in the DLQ.
func (g *rig) failed(provider, key string, at time.Time, permanent bool) {
	g.t.Helper()
	err := g.records.Fail(context.Background(), store.Failure{Provider: provider, EventKey: key, MessageID: "m-" + key, Attempt: 3,
		Error: "checkPayment: HTTP 500", ErrorType: "*monetbil.CheckError", Permanent: permanent, DeadLettered: true, Now: at})
	if err != nil {
		g.t.Fatal(err)
	}
	g.dlq.add("m-"+key, provider, key, body(g.t, provider, key))
}

// round records round n of key, begun at and ended with outcome.
func (g *rig) round(provider, key string, n int, at time.Time, outcome string) {
	g.t.Helper()
	ctx := context.Background()
	if err := g.records.BeginRound(ctx, provider, key, n, at); err != nil {
		g.t.Fatal(err)
	}
	if outcome == store.RoundFailed {
		err := g.records.Fail(ctx, store.Failure{Provider: provider, EventKey: key, Attempt: 3, Error: "HTTP 500", DeadLettered: true, Round: n, Now: at.Add(time.Minute)})
		if err != nil {
			g.t.Fatal(err)
		}
	}
}

func (g *rig) pass() autoredrive.Summary {
	g.t.Helper()
	sum, err := g.r.Pass(context.Background())
	if err != nil {
		g.t.Fatalf("pass: %v", err)
	}
	return sum
}

func (g *rig) rounds(provider, key string) []store.Round {
	g.t.Helper()
	rec, err := g.records.Event(context.Background(), provider, key)
	if err != nil {
		g.t.Fatal(err)
	}
	return rec.Rounds
}

func TestAPassMovesOnlyTheDueTransientFailures(t *testing.T) {
	t.Parallel()
	g := newRig(t, nil)
	ctx := context.Background()
	g.failed("monetbil", "MB-due:success", now.Add(-6*time.Minute), false)
	g.failed("stripe", "evt_due", now.Add(-5*time.Minute), false)
	g.failed("monetbil", "MB-soon:success", now.Add(-4*time.Minute), false)
	g.failed("monetbil", "MB-perm:success", now.Add(-time.Hour), true)
	g.failed("monetbil", "MB-forgot:success", now.Add(-time.Hour), false)
	if err := g.records.Forget(ctx, "monetbil", "MB-forgot:success", now.Add(-50*time.Minute)); err != nil {
		t.Fatal(err)
	}
	g.failed("monetbil", "MB-spent:success", now.Add(-10*time.Hour), false)
	for n := 1; n <= 3; n++ {
		g.round("monetbil", "MB-spent:success", n, now.Add(time.Duration(n-10)*time.Hour), store.RoundFailed)
	}
	g.dlq.add("m-norecord", "monetbil", "MB-norecord:success", body(t, "monetbil", "MB-norecord:success"))
	g.failed("monetbil", "MB-done:success", now.Add(-time.Hour), false)
	if err := g.records.Resolve(ctx, "monetbil", "MB-done:success", "already_applied", 0, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}

	sum := g.pass()
	if got := g.queue.keys(); !slices.Equal(got, []string{"MB-due:success auto:1", "evt_due auto:1"}) {
		t.Fatalf("moved %q, want the two due ones, round 1", got)
	}
	want := map[autoredrive.Verdict]int{autoredrive.NotDue: 1, autoredrive.Permanent: 1, autoredrive.Forgotten: 1, autoredrive.Exhausted: 1, autoredrive.NoRecord: 1, autoredrive.NotFailed: 1}
	if sum.Read != 8 || sum.Moved != 2 || sum.Postponed != 0 || fmt.Sprint(sum.Left) != fmt.Sprint(want) || sum.Stopped != autoredrive.StopEmpty {
		t.Fatalf("summary %+v", sum)
	}
	if !sum.NextDueAt.Equal(now.Add(time.Minute)) {
		t.Errorf("next due %s, want MB-soon's, in a minute", sum.NextDueAt)
	}
	if r := g.rounds("monetbil", "MB-due:success"); len(r) != 1 || r[0].Round != 1 || r[0].Outcome != store.RoundRedriven || !r[0].At.Equal(now) {
		t.Errorf("rounds %+v", r)
	}
	if r := g.rounds("monetbil", "MB-soon:success"); len(r) != 0 {
		t.Errorf("a round not due was begun: %+v", r)
	}
	// The copies keep the original attributes; what was not moved is
	// visible again at once.
	if g.queue.sent[0].Attributes["transaction_id"] != "tx-MB-due:success" || g.queue.sent[0].Body != body(t, "monetbil", "MB-due:success") {
		t.Errorf("copy %+v", g.queue.sent[0])
	}
	if ids, hidden := g.dlq.Left(); len(ids) != 6 || hidden != 0 {
		t.Errorf("DLQ after the pass: %v, %d hidden; want 6 left, none hidden", ids, hidden)
	}
	if n := strings.Count(g.log.String(), `"msg":"automatic redrive: moved back to the queue"`); n != 2 || !strings.Contains(g.log.String(), `"round":1`) {
		t.Errorf("%d moved lines:\n%s", n, g.log)
	}
	if !strings.Contains(g.log.String(), `"msg":"automatic redrive pass"`) {
		t.Errorf("no summary line:\n%s", g.log)
	}
}

func TestTheNextRoundIsDueAfterThePreviousOneFailed(t *testing.T) {
	t.Parallel()
	g := newRig(t, nil)
	// Round 1 began 40 minutes ago and failed a minute later: round 2 is
	// due 30 minutes after that failure.
	g.failed("monetbil", "MB-2:success", now.Add(-2*time.Hour), false)
	g.round("monetbil", "MB-2:success", 1, now.Add(-40*time.Minute), store.RoundFailed)
	g.failed("monetbil", "MB-early:success", now.Add(-2*time.Hour), false)
	g.round("monetbil", "MB-early:success", 1, now.Add(-20*time.Minute), store.RoundFailed)
	sum := g.pass()
	if got := g.queue.keys(); !slices.Equal(got, []string{"MB-2:success auto:2"}) || sum.Left[autoredrive.NotDue] != 1 {
		t.Fatalf("moved %q, summary %+v", got, sum)
	}
	if r := g.rounds("monetbil", "MB-2:success"); len(r) != 2 || r[0].Outcome != store.RoundFailed || r[1].Outcome != store.RoundRedriven {
		t.Errorf("rounds %+v", r)
	}
	if !sum.NextDueAt.Equal(now.Add(-19*time.Minute + 30*time.Minute)) {
		t.Errorf("next due %s", sum.NextDueAt)
	}
}

func TestAnOpenBreakerPostponesEveryRoundOfItsProvider(t *testing.T) {
	t.Parallel()
	g := newRig(t, nil)
	for i := range 3 {
		g.failed("monetbil", fmt.Sprintf("MB-%d:success", i), now.Add(-time.Hour), false)
	}
	g.failed("stripe", "evt_1", now.Add(-time.Hour), false)
	g.breaker.err = errors.New("checkPayment: HTTP 503")

	sum := g.pass()
	if got := g.queue.keys(); !slices.Equal(got, []string{"evt_1 auto:1"}) || sum.Postponed != 3 || sum.Moved != 1 {
		t.Fatalf("moved %q, summary %+v; want only the Stripe event (no outside dependency)", got, sum)
	}
	if !slices.Equal(g.breaker.probed, []string{"MB-0:success"}) {
		t.Errorf("probed %q, want once with the first due message", g.breaker.probed)
	}
	for i := range 3 {
		if r := g.rounds("monetbil", fmt.Sprintf("MB-%d:success", i)); len(r) != 0 {
			t.Errorf("a postponed round was spent: %+v", r)
		}
	}
	if !strings.Contains(g.log.String(), "postponed") || !strings.Contains(g.log.String(), "HTTP 503") {
		t.Errorf("the postponement is not logged:\n%s", g.log)
	}
	if _, hidden := g.dlq.Left(); hidden != 0 {
		t.Errorf("%d postponed messages left hidden", hidden)
	}

	// Monetbil answers again: the next pass moves them, round 1 still.
	g.breaker.err = nil
	if sum := g.pass(); sum.Moved != 3 || sum.Postponed != 0 {
		t.Fatalf("after recovery: %+v", sum)
	}
	if got := g.queue.keys(); len(got) != 4 || got[1] != "MB-0:success auto:1" {
		t.Fatalf("moved %q", got)
	}
}

// takingRecords is the records as another pass races this one: right
// after the read, the other pass begins the round of every event read.
type takingRecords struct{ *memstore.Store }

func (r takingRecords) Events(ctx context.Context, refs []store.EventRef) (map[store.EventRef]store.EventRecord, error) {
	recs, err := r.Store.Events(ctx, refs)
	for ref := range recs {
		_ = r.BeginRound(ctx, ref.Provider, ref.EventKey, 1, now)
	}
	return recs, err
}

func TestARoundTakenByAnotherPassIsSkipped(t *testing.T) {
	t.Parallel()
	var records *memstore.Store
	g := newRig(t, func(c *autoredrive.Config) {
		records = c.Records.(*memstore.Store)
		c.Records = takingRecords{records}
	})
	g.failed("monetbil", "MB-race:success", now.Add(-time.Hour), false)
	sum := g.pass()
	if sum.Taken != 1 || sum.Moved != 0 || len(g.queue.sent) != 0 {
		t.Fatalf("summary %+v, sent %q", sum, g.queue.keys())
	}
	if ids, hidden := g.dlq.Left(); len(ids) != 1 || hidden != 0 {
		t.Fatalf("DLQ %v (%d hidden): the skipped message must stay, visible", ids, hidden)
	}
	if r := g.rounds("monetbil", "MB-race:success"); len(r) != 1 {
		t.Fatalf("rounds %+v: only the other pass's", r)
	}
}

// Two passes at once, over a DLQ whose hide does not hold (every receive
// sees every message, as after a lost receive), with two copies of each
// event: each event goes back exactly once.
func TestTwoConcurrentPassesNeverMoveAnEventTwice(t *testing.T) {
	t.Parallel()
	for run := range 20 {
		g := newRig(t, nil)
		g.dlq.HideBroken = true
		for i := range 5 {
			key := fmt.Sprintf("MB-%d-%d:success", run, i)
			g.failed("monetbil", key, now.Add(-time.Hour), false)
			g.dlq.add(fmt.Sprintf("copy-%d", i), "monetbil", key, body(t, "monetbil", key))
		}
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { _, _ = g.r.Pass(context.Background()) })
		}
		wg.Wait()
		sent := g.queue.keys()
		slices.Sort(sent)
		if len(sent) != 5 || len(slices.Compact(slices.Clone(sent))) != 5 {
			t.Fatalf("run %d: sent %q, want each of the 5 events once", run, sent)
		}
		for i := range 5 {
			if r := g.rounds("monetbil", fmt.Sprintf("MB-%d-%d:success", run, i)); len(r) != 1 {
				t.Fatalf("run %d: rounds %+v", run, r)
			}
		}
	}
}

func TestAPassStopsAtItsDeadlineAndReleasesWhatItRead(t *testing.T) {
	t.Parallel()
	g := newRig(t, nil)
	g.dlq.ReceiveDelay = 20 * time.Millisecond
	for i := range 300 {
		g.failed("monetbil", fmt.Sprintf("MB-%03d:success", i), now.Add(-time.Minute), false) // none due
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	sum, err := g.r.Pass(ctx)
	if err != nil || sum.Stopped != autoredrive.StopDeadline || sum.Read == 0 || sum.Read == 300 {
		t.Fatalf("summary %+v, %v: want a partial read stopped at the deadline", sum, err)
	}
	t.Logf("read %d of 300 messages in %s", sum.Read, time.Since(start))
	if _, hidden := g.dlq.Left(); hidden != 0 {
		t.Fatalf("%d messages left hidden after the pass", hidden)
	}
}

func TestAFailedSendCountsTheRoundAndLeavesTheMessage(t *testing.T) {
	t.Parallel()
	g := newRig(t, nil)
	g.queue.refuse = true
	g.failed("monetbil", "MB-x:success", now.Add(-time.Hour), false)
	sum, err := g.r.Pass(context.Background())
	if err == nil || !strings.Contains(err.Error(), "access denied") || sum.Errors != 1 || sum.Moved != 0 {
		t.Fatalf("summary %+v, %v", sum, err)
	}
	if ids, hidden := g.dlq.Left(); len(ids) != 1 || hidden != 0 {
		t.Fatalf("DLQ %v, %d hidden", ids, hidden)
	}
	if !strings.Contains(g.log.String(), "round 1 is counted") {
		t.Errorf("log:\n%s", g.log)
	}
}

func TestWithNoScheduleAPassReadsNothing(t *testing.T) {
	t.Parallel()
	g := newRig(t, func(c *autoredrive.Config) { c.Schedule = nil })
	g.failed("monetbil", "MB-off:success", now.Add(-time.Hour), false)
	if sum := g.pass(); sum.Stopped != autoredrive.StopOff || sum.Read != 0 || g.dlq.Receives() != 0 {
		t.Fatalf("summary %+v, %d receives", sum, g.dlq.Receives())
	}
}
