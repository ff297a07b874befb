package functions_test

import (
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
)

// The redriver function's bootstrap under the emulator, invoked with what
// EventBridge Scheduler sends (any payload): one pass moves the due
// transient failure back to the queue and leaves the permanent one.
func TestRedriverBootstrapUnderTheEmulator(t *testing.T) {
	s := hubtest.NewStack(t, hubtest.Options{})
	m := hubtest.NewMonetbil(t)
	m.Set("MB-rie", 1, 0, 0) // checkPayment answers: the breaker lets the round go
	at := time.Now().Add(-time.Hour).UTC()
	s.DeadLetter(t,
		hubtest.DeadEvent{Provider: "monetbil", EventKey: "MB-rie:success", TransactionID: "tx-rie-redrive", FailedAt: at},
		hubtest.DeadEvent{Provider: "stripe", EventKey: "evt_rie_perm", TransactionID: "tx-rie-perm", Permanent: true, FailedAt: at})

	emu := startEmulator(t, buildBootstrap(t, "./redriver"), append(s.Env(),
		"AUTO_REDRIVE_SECONDS=60,1800,7200", "MONETBIL_API_URL="+m.URL, "MAX_ATTEMPTS=3",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_LAMBDA_FUNCTION_TIMEOUT=45"))
	var sum struct {
		Read, Moved int
		Left        map[string]int
		Stopped     string
	}
	emu.invoke(t, map[string]any{"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": map[string]any{}}, &sum)
	if sum.Read != 2 || sum.Moved != 1 || sum.Left["permanent"] != 1 || sum.Stopped != "empty" {
		t.Fatalf("pass summary %+v", sum)
	}
	if len(m.Calls("MB-rie")) != 1 {
		t.Errorf("the breaker asked checkPayment %d times, want once", len(m.Calls("MB-rie")))
	}
	moved := s.Drain(t, s.Queues.URL)
	if len(moved) != 1 || moved[0].Attributes[envelope.AttrEventKey] != "MB-rie:success" || moved[0].Attributes[envelope.AttrRedrive] != "auto:1" {
		t.Fatalf("the queue holds %+v", moved)
	}
	s.Settle(t, s.Queues.DLQURL, time.Minute)
	if left := s.Drain(t, s.Queues.DLQURL); len(left) != 1 || left[0].Attributes[envelope.AttrEventKey] != "evt_rie_perm" {
		t.Fatalf("the DLQ holds %+v", left)
	}
}
