package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/flowmetrics"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

// scaledRedrive is the production schedule scaled down: attempts after
// 0.2, 0.4 and 0.6 s, rounds after 1, 2 and 4 s in the DLQ, a pass every
// half second.
var scaledRedrive = []string{"BACKOFF_SECONDS=0.2,0.4,0.6", "AUTO_REDRIVE_SECONDS=1,2,4"}

type roundsJSON struct {
	Status   string        `json:"status"`
	Attempts int           `json:"attempts"`
	Rounds   []store.Round `json:"rounds"`
}

// The "done when": a Monetbil payment whose confirmation fails for
// minutes (scaled: checkPayment answers 500 for at least 6 s, and until the
// redrive has postponed a due round at least once) ends applied with no
// operator action, through the built hubctl work, and its record shows the
// round that applied it.
func TestAPaymentWhoseConfirmationFailsForMinutesEndsAppliedWithNoOperator(t *testing.T) {
	t.Parallel()
	s := hubtest.NewStack(t, hubtest.Options{})
	m := hubtest.NewMonetbil(t)
	outageStart := time.Now()
	m.FailUntil("MB-outage", 1, outageStart.Add(time.Hour))
	env := append(workerEnv(s, m), scaledRedrive...)
	w := startWorker(t, env, "--redrive-every", "500ms", "--metrics-addr", "127.0.0.1:0")
	sendMonetbil(t, s, "tx-outage", "MB-outage")

	// Three attempts fail, the event reaches the DLQ, its first round falls
	// due, and the breaker postpones it: checkPayment still fails.
	hubtest.WaitFor(t, "a postponed round", 90*time.Second, func() bool { return w.Logs.Count("automatic redrive postponed", `"provider":"monetbil"`) > 0 })
	var jobs []failedJobRounds
	hubtest.WaitFor(t, "the event listed in the DLQ", 30*time.Second, func() bool {
		jobs = listFailedRounds(t, env)
		return len(jobs) == 1
	})
	if j := jobs[0]; j.RoundsTotal != 3 || len(j.Rounds) != 0 || j.NextRound != 1 || j.NextRoundAt.IsZero() || j.Permanent {
		t.Fatalf("failed list while postponed: %+v", j)
	}
	if rest := 6*time.Second - time.Since(outageStart); rest > 0 {
		time.Sleep(rest) // the outage lasts at least 6 s
	}
	m.FailUntil("MB-outage", 1, time.Time{})
	t.Logf("checkPayment failed for %s; %d passes postponed the round", time.Since(outageStart).Round(100*time.Millisecond), w.Logs.Count("automatic redrive postponed"))

	hubtest.WaitFor(t, "the payment applied", 60*time.Second, func() bool {
		tx, err := s.Store.Transaction(context.Background(), "tx-outage")
		return err == nil && tx.Status == transaction.Succeeded
	})
	t.Logf("applied %s after the notification", time.Since(outageStart).Round(100*time.Millisecond))
	r := hub(t, env, "events", "get", "monetbil", "MB-outage:success", "--json")
	var rec roundsJSON
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 0 {
		t.Fatalf("events get --json: %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	// The postponed round was not spent: one round, the one that applied it.
	if rec.Status != "PROCESSED" || len(rec.Rounds) != 1 || rec.Rounds[0].Round != 1 || rec.Rounds[0].Outcome != "applied" || rec.Attempts < 4 {
		t.Fatalf("record %+v", rec)
	}
	if human := hub(t, env, "events", "get", "monetbil", "MB-outage:success"); !regexp.MustCompile(`round 1\s.*applied`).MatchString(human.stdout) {
		t.Errorf("events get shows no rounds:\n%s", human.stdout)
	}
	if w.Logs.Count("automatic redrive: moved back to the queue", `"round":1`, "MB-outage:success") != 1 {
		t.Errorf("the move is not logged once:\n%s", w.Logs.String())
	}
	checkWorkMetrics(t, w)
}

type failedJobRounds struct {
	failedJob
	Rounds      []store.Round `json:"rounds"`
	RoundsTotal int           `json:"rounds_total"`
	NextRound   int           `json:"next_round"`
	NextRoundAt time.Time     `json:"next_round_at"`
}

func listFailedRounds(t *testing.T, env []string) []failedJobRounds {
	t.Helper()
	r := hub(t, env, "failed", "list", "--json", "--hide", "15s")
	var jobs []failedJobRounds
	if err := json.Unmarshal([]byte(r.stdout), &jobs); err != nil || r.code != 0 {
		t.Fatalf("failed list --json: %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	return jobs
}

// checkWorkMetrics reads the worker's metrics sink: the attempts it made
// are counted there as CloudWatch would count them.
func checkWorkMetrics(t *testing.T, w *hubtest.Process) {
	t.Helper()
	url := regexp.MustCompile(`"msg":"serving metrics","url":"([^"]+)"`).FindStringSubmatch(w.Logs.String())
	if url == nil {
		t.Fatalf("hubctl work --metrics-addr logged no URL:\n%s", w.Logs.String())
	}
	snap, err := flowmetrics.Remote{URL: url[1], Client: http.DefaultClient}.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mb := snap.Providers["monetbil"]
	if mb.Total("EventsProcessed") != 1 || mb.Total("EventsFailed") != 1 || mb.Total("EventsRetried") != 2 || mb.LatencyP50 == nil {
		t.Errorf("metrics %+v (p50 %v)", mb.PerMinute, mb.LatencyP50)
	}
	if !strings.Contains(url[1], "127.0.0.1:") {
		t.Errorf("metrics served on %s", url[1])
	}
}
