package processing_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

func stripeMessage(id, eventID, typ, txID string, created time.Time) processing.Message {
	payload := fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"created":%d,"data":{"object":{"id":"pi_1","metadata":{"transaction_id":%q}}}}`, eventID, typ, created.Unix(), txID)
	body, err := envelope.Encode(envelope.Envelope{Version: 1, Provider: "stripe", EventKey: eventID, EventType: typ, TransactionID: txID, ReceivedAt: created, Payload: payload})
	if err != nil {
		panic(err)
	}
	return processing.Message{ID: id, ReceiptHandle: "rh-" + id, Body: body, Attempt: 1}
}

func newProcessor(t *testing.T, st store.Store, c *clock, job processing.Job) *processing.Processor {
	t.Helper()
	jobsByProvider := map[string]processing.Job{"stripe": jobs.Stripe{}}
	if job != nil {
		jobsByProvider["stripe"] = job
	}
	p, err := processing.New(processing.Config{Store: st, Visibility: &noVisibility{}, Jobs: jobsByProvider, Policy: retry.Default(), JobTimeout: 10 * time.Second, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFiftyConcurrentDeliveriesApplyOnce(t *testing.T) {
	t.Parallel()
	st := memstore.New(0)
	c := &clock{now: time.Now()}
	p := newProcessor(t, st, c, nil)
	msgs := make([]processing.Message, 50)
	for i := range msgs {
		msgs[i] = stripeMessage(fmt.Sprint(i), "evt_50", "payment_intent.succeeded", "tx_50", c.Now())
	}
	results := p.ProcessBatch(context.Background(), msgs, time.Time{}, 50)
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Outcome]++
	}
	// Each delivery either applied it, found it processed, or found it in
	// progress (and is retried later, then finds it processed).
	if counts["applied"] != 1 || counts["already_processed"]+counts["busy"] != 49 {
		t.Fatalf("outcomes %v, want 1 applied and 49 duplicates", counts)
	}
	tx, _ := st.Transaction(context.Background(), "tx_50")
	if tx.Version != 1 {
		t.Fatalf("transaction changed %d times", tx.Version)
	}
}

// crashAfterApply applies the change and then "crashes": the processor
// never completes the event.
type crashAfterApply struct {
	st    store.Store
	now   func() time.Time
	count atomic.Int64
}

func (j *crashAfterApply) Decide(ctx context.Context, e envelope.Envelope) (processing.Decision, error) {
	d, err := jobs.Stripe{}.Decide(ctx, e)
	if err != nil || j.count.Add(1) > 1 {
		return d, err
	}
	if _, _, err := j.st.Apply(ctx, *d.Change, j.now()); err != nil {
		return d, err
	}
	return d, errors.New("crashed after the transaction write")
}

func TestWriteOrderIsSafeToRepeatAfterACrash(t *testing.T) {
	t.Parallel()
	st := memstore.New(0)
	c := &clock{now: time.Now()}
	job := &crashAfterApply{st: st, now: c.Now}
	p := newProcessor(t, st, c, job)
	m := stripeMessage("m1", "evt_crash", "payment_intent.succeeded", "tx_crash", c.Now())

	if r := p.Process(context.Background(), m, time.Time{}); r.Action != processing.Retry {
		t.Fatalf("first attempt: %+v", r)
	}
	c.Add(11 * time.Second)
	m.Attempt = 2
	r := p.Process(context.Background(), m, time.Time{})
	if r.Action != processing.Ack || r.Outcome != string(transaction.AlreadyApplied) {
		t.Fatalf("repeat after the crash: %+v, want ack with already_applied", r)
	}
	tx, _ := st.Transaction(context.Background(), "tx_crash")
	if tx.Version != 1 || tx.Status != transaction.Succeeded {
		t.Fatalf("transaction = %+v, want succeeded once", tx)
	}
	rec, _ := st.Event(context.Background(), "stripe", "evt_crash")
	if rec.Status != store.Processed {
		t.Fatalf("event record = %+v", rec)
	}
}

// slowJob blocks until released.
type slowJob struct{ release chan struct{} }

func (j slowJob) Decide(ctx context.Context, e envelope.Envelope) (processing.Decision, error) {
	<-j.release
	return jobs.Stripe{}.Decide(ctx, e)
}

func TestADeliveryFindingTheEventInProgressIsRetriedNotAppliedInParallel(t *testing.T) {
	t.Parallel()
	st := memstore.New(0)
	c := &clock{now: time.Now()}
	job := slowJob{release: make(chan struct{})}
	p := newProcessor(t, st, c, job)
	m := stripeMessage("m1", "evt_busy", "payment_intent.succeeded", "tx_busy", c.Now())
	first := make(chan processing.Result)
	go func() { first <- p.Process(context.Background(), m, time.Time{}) }()
	// Wait for the claim.
	for {
		rec, err := st.Event(context.Background(), "stripe", "evt_busy")
		if err == nil && rec.Status == store.InProgress {
			break
		}
		time.Sleep(time.Millisecond)
	}
	second := p.Process(context.Background(), stripeMessage("m2", "evt_busy", "payment_intent.succeeded", "tx_busy", c.Now()), time.Time{})
	if second.Action != processing.Retry || second.Outcome != "busy" || second.Delay <= 0 {
		t.Fatalf("second delivery: %+v, want retried later", second)
	}
	close(job.release)
	if r := <-first; r.Outcome != "applied" {
		t.Fatalf("first delivery: %+v", r)
	}
	if r := p.Process(context.Background(), stripeMessage("m2", "evt_busy", "payment_intent.succeeded", "tx_busy", c.Now()), time.Time{}); r.Outcome != "already_processed" {
		t.Fatalf("retried delivery: %+v", r)
	}
}

func TestAnExpiredClaimLetsALaterAttemptProceed(t *testing.T) {
	t.Parallel()
	st := memstore.New(0)
	c := &clock{now: time.Now()}
	// A crashed attempt: claimed, never completed.
	if res, _, err := st.Claim(context.Background(), store.Claim{Provider: "stripe", EventKey: "evt_exp", Token: "dead", Now: c.Now(), LeaseUntil: c.Now().Add(12 * time.Second)}); err != nil || res != store.Claimed {
		t.Fatal(res, err)
	}
	p := newProcessor(t, st, c, nil)
	m := stripeMessage("m1", "evt_exp", "payment_intent.succeeded", "tx_exp", c.Now())
	if r := p.Process(context.Background(), m, time.Time{}); r.Outcome != "busy" {
		t.Fatalf("before expiry: %+v", r)
	}
	c.Add(13 * time.Second)
	if r := p.Process(context.Background(), m, time.Time{}); r.Outcome != "applied" {
		t.Fatalf("after expiry: %+v", r)
	}
}

func TestIgnoredAndUnmatchedEventsAreAcknowledged(t *testing.T) {
	t.Parallel()
	st := memstore.New(0)
	c := &clock{now: time.Now()}
	p := newProcessor(t, st, c, nil)
	for _, tc := range []struct {
		msg  processing.Message
		want string
	}{
		{stripeMessage("a", "evt_ign", "customer.created", "tx_1", c.Now()), "ignored"},
		{stripeMessage("b", "evt_unm", "payment_intent.succeeded", "", c.Now()), "unmatched"},
	} {
		r := p.Process(context.Background(), tc.msg, time.Time{})
		if r.Action != processing.Ack || r.Outcome != tc.want {
			t.Errorf("%s: %+v, want ack %s", tc.msg.ID, r, tc.want)
		}
	}
}
