package main

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"net/url"
	"strconv"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

// docs/COST.md P6 states these totals; the model must give the same.
func TestReproducesCOSTmd(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		busy           bool
		url, accessLog bool
		want           float64
	}{
		{"B busy hours, defaults", true, false, false, 3.27},
		{"A trickle, defaults", false, false, false, 3.74},
		{"B busy hours, function URL", true, true, false, 2.25},
		{"A trickle, function URL", false, true, false, 2.72},
		{"B busy hours, access log on", true, false, true, 3.48},
	}
	for _, c := range cases {
		b, _ := PerMillion(Defaults(), c.busy, 0.39, c.url, c.accessLog)
		if got := math.Round(b.Total()*100) / 100; got != c.want {
			t.Errorf("%s: $%.2f per million, docs/COST.md says $%.2f (%+v)", c.name, got, c.want, b)
		}
	}
}

func TestDefaultsSustain500WithBurstsOf1000(t *testing.T) {
	t.Parallel()
	for _, tr := range []Traffic{Steady("500/s", 500, 300), Burst("1,000/s for 2 min", 500, 1000, 60, 120, 300)} {
		r := Run(Defaults(), tr)
		if r.Throttled429 != 0 || r.IngestThrottled != 0 || r.WastedReceives != 0 || r.DLQ != 0 || r.Accepted != r.Offered {
			t.Fatalf("%s: %+v", tr.Name, r)
		}
		// Nothing waits: the backlog never exceeds what arrives within the batching window.
		if r.MaxAge > Defaults().Window+1 || r.DrainSeconds > Defaults().Window+1 {
			t.Fatalf("%s: oldest %.1f s, drained %.1f s after the traffic", tr.Name, r.MaxAge, r.DrainSeconds)
		}
	}
	// Above the stage's rate the excess is refused, not queued.
	r := Run(Defaults(), Steady("2,000/s", 2000, 60))
	if want := 60*2000 - (60*1000 + 2000); math.Abs(float64(r.Throttled429-want)) > 0.01*float64(want) {
		t.Fatalf("2,000/s against a 1,000/s stage with a 2,000 burst: %d throttled, want about %d", r.Throttled429, want)
	}
}

func TestRules(t *testing.T) {
	t.Parallel()
	s := Defaults()
	// A replay drains at maximum_concurrency x batch_size / batch time, once the mapping has
	// scaled from 5 to 40 concurrent batches at 300 a minute (7 s).
	r := Run(s, Traffic{Queued: 100000})
	if want := 100000 / (40 * 10 / 0.25); r.DrainSeconds < want || r.DrainSeconds > want+10 {
		t.Fatalf("replay of 100,000 drained in %.0f s, want %.0f-%.0f", r.DrainSeconds, want, want+10)
	}
	// Failing events: maxReceiveCount attempts on the backoff schedule, then the DLQ.
	s.FailingFraction = 1
	r = Run(s, Traffic{Queued: 100})
	if r.Attempts != 300 || r.DLQ != 100 || r.Processed != 0 {
		t.Fatalf("always failing: %d attempts, %d in the DLQ, %d processed", r.Attempts, r.DLQ, r.Processed)
	}
	if r.DrainSeconds < 100 || r.DrainSeconds > 102 {
		t.Fatalf("always failing: in the DLQ after %.1f s, want 10+30+60 and the batches' time", r.DrainSeconds)
	}
	// Reserved concurrency below the mapping's: throttled invocations spend attempts.
	s = Defaults()
	s.Reserved = 5
	r = Run(s, Steady("500/s", 500, 60))
	if r.WastedReceives == 0 {
		t.Fatal("reserved 5 < maximum_concurrency 40 wasted no receive")
	}
	// DynamoDB on demand: writes beyond what a new table serves fail and retry.
	s = Defaults()
	s.TableWrites = 100
	if r = Run(s, Steady("500/s", 500, 30)); r.VisibilityChanges == 0 {
		t.Fatal("writes beyond the table's capacity were all served")
	}
}

// The real pipeline, scaled down: the processing core in hubctl work against the local SQS and
// DynamoDB servers, checkPayment failing for some events. Compared are what the rules fix, not
// CPU speed: the attempts, the DLQ arrivals, and the time to the last DLQ arrival, which is the
// backoff schedule (2+4+6 s) plus a few round trips.
func TestLocalRunMatchesTheModel(t *testing.T) {
	const succeed, fail = 6, 4
	backoff := []float64{2, 4, 6}
	s := hubtest.NewStack(t, hubtest.Options{VisibilityTimeout: 30 * time.Second})
	m := hubtest.NewMonetbil(t)
	hubctl := filepath.Join(t.TempDir(), "hubctl")
	if out, err := exec.Command("go", "build", "-o", hubctl, "../../cmd/hubctl").CombinedOutput(); err != nil {
		t.Fatalf("build hubctl: %v\n%s", err, out)
	}
	pub, err := sqsqueue.NewPublisher(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < succeed+fail; i++ {
		id := "MB-sm-" + strconv.Itoa(i)
		fails := 0
		if i >= succeed {
			fails = -1
		}
		m.Set(id, 1, fails, 0)
		form := url.Values{"transaction_id": {id}, "status": {"success"}, "payment_ref": {"tx-sm-" + strconv.Itoa(i)}}
		form.Set("sign", monetbil.Sign("x", form))
		n, _ := monetbil.ParseNotification(form)
		if _, err := pub.Enqueue(ctx, envelope.Envelope{Version: 1, Provider: "monetbil", EventKey: n.EventKey(), EventType: n.EventType(),
			TransactionID: "tx-sm-" + strconv.Itoa(i), ReceivedAt: time.Now().UTC(), Payload: form.Encode()}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	cmd := exec.Command(hubctl, "work", "--concurrency", "4", "--wait", "1s")
	cmd.Env = append(append(os.Environ(), s.Env()...), "MONETBIL_API_URL="+m.URL, "BACKOFF_SECONDS=2,4,6", "JOB_TIMEOUT_SECONDS=5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	var inDLQ int
	var lastArrival time.Duration
	for time.Since(start) < 60*time.Second && inDLQ < fail {
		out, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.Queues.DLQURL), AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages"}})
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"]); n > inDLQ {
			inDLQ, lastArrival = n, time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	attempts := 0
	for i := 0; i < succeed+fail; i++ {
		attempts += len(m.Calls("MB-sm-" + strconv.Itoa(i)))
	}

	model := Defaults()
	model.BatchSize, model.Window, model.MaxConcurrency, model.Reserved = 1, 0, 4, 4
	model.BatchSeconds, model.VisibilityTimeout, model.Backoff = 0.05, 30, backoff
	model.FailingFraction = float64(fail) / float64(succeed+fail)
	r := Run(model, Traffic{Queued: succeed + fail})
	t.Logf("model: %d attempts, %d in the DLQ after %.2f s; local run: %d attempts, %d in the DLQ after %.2f s",
		r.Attempts, r.DLQ, r.DrainSeconds, attempts, inDLQ, lastArrival.Seconds())
	within := func(got, want float64) bool { return math.Abs(got-want) <= 0.15*want }
	if r.Attempts != succeed+3*fail || r.DLQ != fail {
		t.Fatalf("the model itself: %d attempts, %d dead-lettered", r.Attempts, r.DLQ)
	}
	if !within(float64(attempts), float64(r.Attempts)) || !within(float64(inDLQ), float64(r.DLQ)) || !within(lastArrival.Seconds(), r.DrainSeconds) {
		t.Fatalf("the local run is more than 15 %% off the model")
	}
}
