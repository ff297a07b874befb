package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// TestR3 sends poison events (short: 1, soak: 20): Monetbil payments whose
// confirmation always fails with HTTP 500, a transient failure. Each must
// be tried exactly 3 times on the scaled schedule (1 s, then 2 s), land in
// the DLQ with its error in its failure record, and, once checkPayment
// answers again, come back with one command (`hubctl failed retry --all`)
// and be applied once.
//
// The schedule is checked as a lower bound only (a retry never comes
// early); how late it comes is measured by infra/bench (P5), not asserted.
//
// What it proves: the hub's retries are bounded (3 attempts),
// spaced by the backoff, end in the DLQ with the error kept, and the
// operator's one-command retry applies each event once.
func TestR3(t *testing.T) {
	t.Parallel()
	n := size(1, 20)
	s := hubtest.NewStack(t, hubtest.Options{})
	m := hubtest.NewMonetbil(t)
	hooks := make([]hook, n)
	for i := range hooks {
		hooks[i] = monetbilHook("r3", i)
		m.Set(hooks[i].paymentID, 1, -1, 0) // HTTP 500, always
	}
	env := append(s.Env(), "MONETBIL_API_URL="+m.URL, "BACKOFF_SECONDS=1,2,3")
	// One job at a time: each receive then asks for one message, whose
	// answer is too small to be lost (see helpers_test.go), so every
	// receive is an attempt the test can count.
	w := hubtest.StartHubctl(t, env, "work", "--concurrency", "1", "--wait", "1s")
	pub, err := sqsqueue.NewPublisher(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, pub, hooks)

	hubtest.WaitFor(t, fmt.Sprintf("%d messages in the DLQ", n), 60*time.Second, func() bool { return visible(s.SQS, s.Queues.DLQURL) == n })
	requireEmpty(t, s.SQS, s.Queues.URL, "the queue")
	for _, h := range hooks {
		calls := m.Calls(h.paymentID)
		if len(calls) != 3 {
			t.Fatalf("%s: %d attempts, want exactly 3", h.eventKey, len(calls))
		}
		for i, want := range []time.Duration{time.Second, 2 * time.Second} {
			if gap := calls[i+1].Sub(calls[i]); gap < want-50*time.Millisecond {
				t.Errorf("%s: attempt %d came %s after attempt %d, before the %s backoff", h.eventKey, i+2, gap.Round(time.Millisecond), i+1, want)
			}
		}
		t.Logf("%s: attempts at +0, +%s, +%s", h.eventKey, calls[1].Sub(calls[0]).Round(time.Millisecond), calls[2].Sub(calls[0]).Round(time.Millisecond))
		rec, err := s.Store.Event(context.Background(), h.provider, h.eventKey)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != store.Failed || rec.Attempts != 3 || !rec.DeadLettered || rec.Permanent || !strings.Contains(rec.LastError, "HTTP 500") || rec.ErrorType == "" {
			t.Fatalf("failure record %+v, want FAILED after 3 attempts, dead-lettered, transient, with the HTTP 500 error", rec)
		}
		if got := w.Logs.Count(`"msg":"job failed; will retry"`, h.eventKey); got != 2 {
			t.Errorf("%s: %d retries logged, want 2", h.eventKey, got)
		}
		if got := w.Logs.Count(`"msg":"job failed; the event is going to the DLQ"`, h.eventKey); got != 1 {
			t.Errorf("%s: %d dead-letterings logged, want 1", h.eventKey, got)
		}
	}

	// The operator sees each failure with its error. (Listing receives from
	// the DLQ: a receive whose answer is lost hides its messages from this
	// list and the next command for 30 s; see helpers_test.go.)
	code, out, errOut := hubtest.RunHubctl(t, env, "failed", "list", "--json")
	var listed []struct {
		EventKey string `json:"event_key"`
		Attempts int    `json:"attempts"`
		Error    string `json:"error"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed) == 0 || len(listed) > n {
		t.Fatalf("failed list: exit %d, %d jobs, want %d\n%s%s", code, len(listed), n, out, errOut)
	}
	for _, j := range listed {
		if j.Attempts != 3 || !strings.Contains(j.Error, "HTTP 500") {
			t.Fatalf("failed list shows %+v, want 3 attempts and the HTTP 500 error", j)
		}
	}
	if len(listed) < n {
		t.Logf("failed list showed %d of %d (a DLQ receive's answer was lost)", len(listed), n)
	}

	// Monetbil answers again; one command brings every event back. It is
	// run again only for messages a lost receive had hidden, as an operator
	// would when `hubctl status` still shows the DLQ holding some.
	for _, h := range hooks {
		m.Set(h.paymentID, 1, 0, 0)
	}
	movedRe := regexp.MustCompile(`(\d+) messages moved`)
	moved, runs := 0, 0
	hubtest.WaitFor(t, "every failed event to be moved back", 2*time.Minute, func() bool {
		if visible(s.SQS, s.Queues.DLQURL) == 0 {
			return false // hidden by a lost receive: wait until visible
		}
		runs++
		code, out, errOut := hubtest.RunHubctl(t, env, "failed", "retry", "--all")
		match := movedRe.FindStringSubmatch(out)
		if code != 0 || match == nil {
			t.Fatalf("failed retry --all: exit %d\n%s%s", code, out, errOut)
		}
		k, _ := strconv.Atoi(match[1])
		moved += k
		return moved >= n
	})
	if moved != n || (n == 1 && runs != 1) {
		t.Fatalf("failed retry --all moved %d messages in %d runs, want %d in one", moved, runs, n)
	}
	hubtest.WaitFor(t, "the retried events to be processed", 60*time.Second, func() bool { return w.Logs.Count(`"msg":"processed"`) == n })
	waitDrained(t, s.SQS, s.Queues.URL, 30*time.Second)
	requireEmpty(t, s.SQS, s.Queues.DLQURL, "the DLQ")
	requireAppliedOnce(t, s.DynamoDB, tables{events: s.EventsTable, transactions: s.TransactionsTable, store: s.Store}, hooks)
	for _, h := range hooks {
		if calls := len(m.Calls(h.paymentID)); calls != 4 {
			t.Errorf("%s: %d confirmations asked, want 4 (3 failed, 1 after the retry)", h.eventKey, calls)
		}
		rec, err := s.Store.Event(context.Background(), h.provider, h.eventKey)
		if err != nil || rec.Attempts != 4 || rec.Outcome != "applied" {
			t.Errorf("event record %+v (%v), want PROCESSED after 4 attempts, applied", rec, err)
		}
	}
}
