package processing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/retry"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/store/memstore"
	"github.com/payments-hub/hub/internal/transaction"
)

type noVisibility struct{ calls atomic.Int64 }

func (v *noVisibility) ChangeVisibility(context.Context, string, time.Duration) error {
	v.calls.Add(1)
	return nil
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// logs collects JSON log lines.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.Write(p) }

// lines returns the decoded lines whose msg is msg.
func (l *logs) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var m map[string]any
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func stripeMessage(id, eventID, typ, txID string, created time.Time) processing.Message {
	payload := fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"created":%d,"livemode":false,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":2500,"currency":"eur","metadata":{"transaction_id":%q}}}}`, eventID, typ, created.Unix(), txID)
	body, err := envelope.Encode(envelope.Envelope{Version: 1, Provider: "stripe", EventKey: eventID, EventType: typ, TransactionID: txID, ReceivedAt: created, Payload: payload})
	if err != nil {
		panic(err)
	}
	return processing.Message{ID: id, ReceiptHandle: "rh-" + id, Body: body, Attempt: 1}
}

type setup struct {
	store store.Store
	clock *clock
	logs  *logs
	p     *processing.Processor
}

func newSetup(t *testing.T, st store.Store, job processing.Job, require bool) setup {
	t.Helper()
	s := setup{store: st, clock: &clock{now: time.Now().UTC()}, logs: &logs{}}
	if job == nil {
		job = jobs.Stripe{Mode: jobs.StripeTest, Finder: st}
	}
	p, err := processing.New(processing.Config{Store: st, Visibility: &noVisibility{}, Jobs: map[string]processing.Job{"stripe": job},
		Policy: retry.Default(), JobTimeout: 10 * time.Second, RequireExpected: require, Now: s.clock.Now,
		Logger: slog.New(slog.NewJSONHandler(s.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.p = p
	return s
}

func TestFiftyConcurrentDeliveriesApplyOnce(t *testing.T) {
	t.Parallel()
	s := newSetup(t, memstore.New(0), nil, false)
	msgs := make([]processing.Message, 50)
	for i := range msgs {
		msgs[i] = stripeMessage(fmt.Sprint(i), "evt_50", "payment_intent.succeeded", "tx_50", s.clock.Now())
	}
	counts := map[string]int{}
	for _, r := range s.p.ProcessBatch(context.Background(), msgs, time.Time{}, 50) {
		counts[r.Outcome]++
		if r.Action != processing.Ack {
			t.Errorf("delivery %s: %+v", r.MessageID, r)
		}
	}
	if counts["applied"] != 1 || counts[processing.OutcomeDuplicate] != 49 {
		t.Fatalf("outcomes %v, want 1 applied and 49 duplicates", counts)
	}
	tx, _ := s.store.Transaction(context.Background(), "tx_50")
	if tx.Version != 1 {
		t.Fatalf("transaction changed %d times", tx.Version)
	}
}

// lostAnswer applies changes but loses the answer of the first: a crash
// right after the write.
type lostAnswer struct {
	store.Store
	lost atomic.Bool
}

func (l *lostAnswer) Apply(ctx context.Context, c transaction.Change, now time.Time) (transaction.Verdict, transaction.Transaction, error) {
	v, tx, err := l.Store.Apply(ctx, c, now)
	if err == nil && l.lost.CompareAndSwap(false, true) {
		return "", transaction.Transaction{}, errors.New("connection reset after the write")
	}
	return v, tx, err
}

// TestACrashAfterTheWriteIsRepairedByTheNextDelivery: the change and the
// memory of the event are one write, so the next delivery finds it applied,
// and closes the failure record the lost answer left.
func TestACrashAfterTheWriteIsRepairedByTheNextDelivery(t *testing.T) {
	t.Parallel()
	st := &lostAnswer{Store: memstore.New(0)}
	s := newSetup(t, st, nil, false)
	m := stripeMessage("m1", "evt_crash", "payment_intent.succeeded", "tx_crash", s.clock.Now())
	if r := s.p.Process(context.Background(), m, time.Time{}); r.Action != processing.Retry {
		t.Fatalf("first attempt: %+v", r)
	}
	s.clock.Add(11 * time.Second)
	m.Attempt = 2
	if r := s.p.Process(context.Background(), m, time.Time{}); r.Action != processing.Ack || r.Outcome != processing.OutcomeDuplicate {
		t.Fatalf("repeat after the crash: %+v, want ack as a duplicate", r)
	}
	tx, _ := st.Transaction(context.Background(), "tx_crash")
	if tx.Version != 1 || tx.Status != transaction.Succeeded {
		t.Fatalf("transaction = %+v, want succeeded once", tx)
	}
	rec, err := st.Event(context.Background(), "stripe", "evt_crash")
	if err != nil || rec.Status != store.Processed || rec.Attempts != 2 || rec.LastError == "" {
		t.Fatalf("event record = %+v, %v; want the failure closed after 2 attempts", rec, err)
	}
}

// failingFail cannot record failures.
type failingFail struct{ store.Store }

func (failingFail) Fail(context.Context, store.Failure) error {
	return errors.New("DynamoDB unavailable")
}

// flaky fails its first run.
type flaky struct {
	runs atomic.Int64
	next processing.Job
}

func (f *flaky) Decide(ctx context.Context, e envelope.Envelope) (processing.Decision, error) {
	if f.runs.Add(1) == 1 {
		return processing.Decision{}, errors.New("checkPayment timed out")
	}
	return f.next.Decide(ctx, e)
}

// TestAFailureThatCannotBeRecordedLeavesNothingBehind: there is no claim to
// outlive it, so the next delivery runs the job and applies the event.
func TestAFailureThatCannotBeRecordedLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	st := failingFail{memstore.New(0)}
	job := &flaky{next: jobs.Stripe{Mode: jobs.StripeTest}}
	s := newSetup(t, st, job, false)
	m := stripeMessage("m1", "evt_ff", "payment_intent.succeeded", "tx_ff", s.clock.Now())
	if r := s.p.Process(context.Background(), m, time.Time{}); r.Action != processing.Retry {
		t.Fatalf("first attempt: %+v", r)
	}
	if n := len(s.logs.lines(t, "could not record the failure")); n != 1 {
		t.Errorf("%d lines say the failure was not recorded, want 1", n)
	}
	m.Attempt = 2
	if r := s.p.Process(context.Background(), m, time.Time{}); r.Outcome != "applied" {
		t.Fatalf("second attempt: %+v, want applied", r)
	}
	if job.runs.Load() != 2 {
		t.Errorf("the job ran %d times, want 2", job.runs.Load())
	}
}

// panicky panics on one event.
type panicky struct{ next processing.Job }

func (p panicky) Decide(ctx context.Context, e envelope.Envelope) (processing.Decision, error) {
	if e.EventKey == "evt_panic" {
		var job *jobs.Stripe
		_ = job.Mode // a nil pointer: a bug
	}
	return p.next.Decide(ctx, e)
}

// TestAJobThatPanicsFailsAloneAndForGood: the rest of its batch is applied;
// the panicking event is recorded as a permanent failure with the panic's
// value, and its stack is logged.
func TestAJobThatPanicsFailsAloneAndForGood(t *testing.T) {
	t.Parallel()
	st := memstore.New(0)
	s := newSetup(t, st, panicky{jobs.Stripe{Mode: jobs.StripeTest}}, false)
	msgs := []processing.Message{
		stripeMessage("m1", "evt_ok1", "payment_intent.succeeded", "tx_ok1", s.clock.Now()),
		stripeMessage("m2", "evt_panic", "payment_intent.succeeded", "tx_panic", s.clock.Now()),
		stripeMessage("m3", "evt_ok2", "payment_intent.succeeded", "tx_ok2", s.clock.Now()),
	}
	results := s.p.ProcessBatch(context.Background(), msgs, time.Time{}, 3)
	if results[0].Outcome != "applied" || results[2].Outcome != "applied" {
		t.Errorf("the rest of the batch: %+v %+v", results[0], results[2])
	}
	if r := results[1]; r.Action != processing.DeadLetter || r.Delay != 0 || !processing.IsPermanent(r.Err) {
		t.Errorf("the panicking event: %+v, want a permanent failure", r)
	}
	rec, err := st.Event(context.Background(), "stripe", "evt_panic")
	if err != nil || rec.Status != store.Failed || !rec.Permanent || !strings.Contains(rec.LastError, "panic:") || rec.ErrorType != "panic" {
		t.Errorf("record %+v, %v", rec, err)
	}
	lines := s.logs.lines(t, "job failed; the event is going to the DLQ")
	if len(lines) != 1 || !strings.Contains(fmt.Sprint(lines[0]["stack"]), "panicky") {
		t.Errorf("want one line with the stack naming the panicking job, got %v", lines)
	}
}

func TestOutcomesThatChangeNoTransactionAreRecorded(t *testing.T) {
	t.Parallel()
	st := memstore.New(0)
	s := newSetup(t, st, nil, false)
	ctx := context.Background()
	for _, tc := range []struct {
		msg  processing.Message
		want string
	}{
		{stripeMessage("a", "evt_ign", "customer.created", "tx_1", s.clock.Now()), "ignored"},
		{stripeMessage("b", "evt_unm", "payment_intent.succeeded", "", s.clock.Now()), "unmatched"},
		{stripeMessage("c", "evt_s", "payment_intent.succeeded", "tx_2", s.clock.Now()), "applied"},
		{stripeMessage("d", "evt_f", "payment_intent.payment_failed", "tx_2", s.clock.Now().Add(time.Minute)), "refused"},
		{stripeMessage("e", "evt_old", "payment_intent.processing", "tx_2", s.clock.Now().Add(-time.Minute)), "stale"},
	} {
		r := s.p.Process(ctx, tc.msg, time.Time{})
		if r.Action != processing.Ack || r.Outcome != tc.want {
			t.Errorf("%s: %+v, want ack %s", tc.msg.ID, r, tc.want)
		}
		rec, err := st.Event(ctx, "stripe", map[string]string{"a": "evt_ign", "b": "evt_unm", "c": "evt_s", "d": "evt_f", "e": "evt_old"}[tc.msg.ID])
		switch {
		case (tc.want == "applied" || tc.want == "ignored") && !errors.Is(err, store.ErrNotFound):
			t.Errorf("%s: an %s event has a record (%+v, %v): it costs a write", tc.msg.ID, tc.want, rec, err)
		case tc.want != "applied" && tc.want != "ignored" && (err != nil || rec.Outcome != tc.want || rec.Status != store.Processed):
			t.Errorf("%s: record %+v, %v; want outcome %s", tc.msg.ID, rec, err, tc.want)
		}
	}
}

// TestExpectedTransactions: an amount mismatch is logged at ERROR, counted,
// recorded and not applied; with RequireExpected, an unknown transaction
// creates nothing.
func TestExpectedTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memstore.New(0)
	s := newSetup(t, st, nil, true)
	if _, err := st.Expect(ctx, "tx_exp", "stripe", transaction.Expectation{Amount: 9900, Currency: "EUR"}, s.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r := s.p.Process(ctx, stripeMessage("m1", "evt_1", "payment_intent.succeeded", "tx_exp", s.clock.Now()), time.Time{})
	if r.Action != processing.Ack || r.Outcome != processing.OutcomeAmountMismatch {
		t.Fatalf("%+v, want an acknowledged amount_mismatch", r)
	}
	if tx, _ := st.Transaction(ctx, "tx_exp"); tx.Status != transaction.Pending {
		t.Errorf("transaction %s after an amount mismatch, want pending", tx.Status)
	}
	lines := s.logs.lines(t, "amount mismatch: the confirmed payment is not what the transaction expects; not applied")
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0][processing.MetricAmountMismatch] != 1.0 {
		t.Errorf("amount mismatch lines %v", lines)
	}
	r = s.p.Process(ctx, stripeMessage("m2", "evt_2", "payment_intent.succeeded", "tx_unknown", s.clock.Now()), time.Time{})
	if r.Outcome != processing.OutcomeUnknownTransaction {
		t.Errorf("%+v, want unknown_transaction", r)
	}
	if _, err := st.Transaction(ctx, "tx_unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown transaction was created: %v", err)
	}
}

// TestEveryAttemptEndsInOneLineWithItsMetrics: the line that ends an
// attempt carries CloudWatch metrics in Embedded Metric Format.
func TestEveryAttemptEndsInOneLineWithItsMetrics(t *testing.T) {
	t.Parallel()
	s := newSetup(t, memstore.New(0), nil, false)
	m := stripeMessage("m1", "evt_emf", "payment_intent.succeeded", "tx_emf", s.clock.Now().Add(-2*time.Second))
	s.p.Process(context.Background(), m, time.Time{})
	s.p.Process(context.Background(), m, time.Time{})
	applied := s.logs.lines(t, "processed")
	dup := s.logs.lines(t, "already processed")
	if len(applied) != 1 || len(dup) != 1 {
		t.Fatalf("lines: %d processed, %d already processed", len(applied), len(dup))
	}
	for _, tc := range []struct {
		line   map[string]any
		metric string
	}{{applied[0], processing.MetricProcessed}, {dup[0], processing.MetricDuplicate}} {
		aws, _ := tc.line["_aws"].(map[string]any)
		directives, _ := aws["CloudWatchMetrics"].([]any)
		if len(directives) != 1 || tc.line["provider"] != "stripe" || tc.line[tc.metric] != 1.0 {
			t.Errorf("line %v: want an EMF block with %s=1 by provider", tc.line, tc.metric)
		}
		d, _ := directives[0].(map[string]any)
		if d["Namespace"] != "PaymentsHub" || !strings.Contains(fmt.Sprint(d["Metrics"]), tc.metric) {
			t.Errorf("directive %v", d)
		}
	}
	if ms, _ := applied[0][processing.MetricLatency].(float64); ms < 2000 {
		t.Errorf("receipt to applied %v ms, want at least 2000", applied[0][processing.MetricLatency])
	}
	if applied[0]["transaction_id"] != "tx_emf" || applied[0]["status"] != "succeeded" || applied[0]["attempt"] != 1.0 || applied[0]["event_id"] != "evt_emf" {
		t.Errorf("line %v lacks the event's ids", applied[0])
	}
}

func TestUndecodableMessagesFailForGoodUnderTheirAttributes(t *testing.T) {
	t.Parallel()
	st := memstore.New(0)
	s := newSetup(t, st, nil, false)
	m := processing.Message{ID: "m1", Body: []byte("{not json"), Attempt: 1, Attributes: map[string]string{"provider": "stripe", "event_key": "evt_bad"}}
	r := s.p.Process(context.Background(), m, time.Time{})
	if r.Action != processing.DeadLetter || !errors.Is(r.Err, envelope.ErrInvalid) {
		t.Fatalf("%+v", r)
	}
	rec, err := st.Event(context.Background(), "stripe", "evt_bad")
	if err != nil || !rec.Permanent || rec.ErrorType != "invalid_envelope" {
		t.Errorf("record %+v, %v", rec, err)
	}
	bare := processing.Message{ID: "m2", Body: []byte("x"), Attempt: 1}
	s.p.Process(context.Background(), bare, time.Time{})
	if _, err := st.Event(context.Background(), "unknown", "message:m2"); err != nil {
		t.Errorf("a message without attributes: %v", err)
	}
}

func TestTheSchedule(t *testing.T) {
	t.Parallel()
	s := newSetup(t, memstore.New(0), &flaky{next: failing{}}, false)
	m := stripeMessage("m1", "evt_sched", "payment_intent.succeeded", "tx_sched", s.clock.Now())
	for attempt, want := range map[int]struct {
		action processing.Action
		delay  time.Duration
	}{1: {processing.Retry, 10 * time.Second}, 2: {processing.Retry, 30 * time.Second}, 3: {processing.DeadLetter, 60 * time.Second}} {
		m.Attempt = attempt
		if r := s.p.Process(context.Background(), m, time.Time{}); r.Action != want.action || r.Delay != want.delay {
			t.Errorf("attempt %d: %+v, want %s after %s", attempt, r, want.action, want.delay)
		}
	}
}

type failing struct{}

func (failing) Decide(context.Context, envelope.Envelope) (processing.Decision, error) {
	return processing.Decision{}, errors.New("still down")
}

// noteJob decides a mismatch with a long note.
type noteJob struct{ note string }

func (j noteJob) Decide(context.Context, envelope.Envelope) (processing.Decision, error) {
	return processing.Decision{Outcome: processing.OutcomeMismatch, Mismatch: []string{"amount"}, Detail: "the amount disagrees", Note: j.note}, nil
}

// TestADecisionsNoteIsRecordedCut: the note follows the detail in the
// record, cut on a rune boundary so that the record stays in one write unit.
func TestADecisionsNoteIsRecordedCut(t *testing.T) {
	t.Parallel()
	st := memstore.New(0)
	note := "other field: " + strings.Repeat("é", 1000)
	s := newSetup(t, st, noteJob{note}, false)
	if r := s.p.Process(context.Background(), stripeMessage("m1", "evt_note", "payment_intent.succeeded", "tx_1", s.clock.Now()), time.Time{}); r.Outcome != processing.OutcomeMismatch {
		t.Fatalf("%+v", r)
	}
	rec, err := st.Event(context.Background(), "stripe", "evt_note")
	if err != nil || !strings.HasPrefix(rec.Detail, "the amount disagrees; other field: éé") || !strings.HasSuffix(rec.Detail, "é…") ||
		len(rec.Detail) > 300 || !utf8.ValidString(rec.Detail) {
		t.Errorf("record %q (%d bytes), %v; want the detail, then the note cut", rec.Detail, len(rec.Detail), err)
	}
}
