package hubstatus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/payments-hub/hub/internal/hubstatus"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

type fakeQueue struct {
	url   string
	depth sqsqueue.Depth
	err   error
}

func (q fakeQueue) URL() string { return q.url }
func (q fakeQueue) Depth(context.Context) (sqsqueue.Depth, error) {
	return q.depth, q.err
}

type fakeRedrives struct {
	tasks []sqsqueue.MoveTask
	err   error
}

func (r fakeRedrives) MoveTasks(context.Context) ([]sqsqueue.MoveTask, error) { return r.tasks, r.err }

type fakeFailures struct {
	recs  []store.EventRecord
	err   error
	asked *int
}

func (f fakeFailures) Failures(_ context.Context, limit int) ([]store.EventRecord, error) {
	*f.asked = limit
	return f.recs, f.err
}

type fakeAges map[string]time.Duration

func (a fakeAges) OldestAges(context.Context, ...string) (map[string]time.Duration, error) {
	return a, nil
}

func TestReadGathersCountsAgesActiveRedrivesAndFailures(t *testing.T) {
	t.Parallel()
	asked := 0
	r := hubstatus.Reader{
		Queue:    fakeQueue{url: "https://sqs.eu-west-1.amazonaws.com/1/payments-hub-events", depth: sqsqueue.Depth{Visible: 4, InFlight: 2, Delayed: 1}},
		DLQ:      fakeQueue{url: "https://sqs.eu-west-1.amazonaws.com/1/payments-hub-failed-jobs", depth: sqsqueue.Depth{Visible: 7}},
		Redrives: fakeRedrives{tasks: []sqsqueue.MoveTask{{Handle: "h1", Status: "RUNNING"}, {Handle: "h0", Status: "COMPLETED"}}},
		Failures: fakeFailures{recs: []store.EventRecord{{Provider: "monetbil", EventKey: "MB-1:success"}}, asked: &asked},
		Ages:     fakeAges{"payments-hub-failed-jobs": 90 * time.Second},
	}
	st, err := r.Read(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queue.Name != "payments-hub-events" || st.Queue.Visible != 4 || st.Queue.InFlight != 2 || st.Queue.Delayed != 1 || st.DLQ.Visible != 7 {
		t.Fatalf("counts %+v %+v", st.Queue, st.DLQ)
	}
	if st.DLQ.OldestAgeSeconds == nil || *st.DLQ.OldestAgeSeconds != 90 || st.Queue.OldestAgeSeconds != nil || !strings.Contains(st.Queue.OldestAgeNote, "no CloudWatch data") {
		t.Fatalf("ages %+v %+v", st.Queue, st.DLQ)
	}
	if len(st.ActiveMoves) != 1 || st.ActiveMoves[0].Handle != "h1" || asked < 3 || len(st.LastFailures) != 1 {
		t.Fatalf("status %+v (asked for %d failures)", st, asked)
	}
}

func TestReadSaysWhatItCouldNotRead(t *testing.T) {
	t.Parallel()
	asked := 0
	r := hubstatus.Reader{
		Queue: fakeQueue{url: "http://localhost/q"}, DLQ: fakeQueue{url: "http://localhost/dlq"},
		Redrives: fakeRedrives{err: sqsqueue.ErrMoveTasksUnsupported},
		Failures: fakeFailures{err: errors.New("throttled"), asked: &asked},
	}
	st, err := r.Read(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.Queue.OldestAgeNote, "CloudWatch not available") || !strings.Contains(st.MovesNote, "no message move tasks") || !strings.Contains(st.FailuresNote, "throttled") {
		t.Fatalf("notes %+v", st)
	}
	asked = 0
	if _, err := r.Read(context.Background(), 0); err != nil || asked != 0 {
		t.Fatalf("--failures 0 read the failures (asked %d): %v", asked, err)
	}
	r.DLQ = fakeQueue{url: "http://localhost/dlq", err: errors.New("access denied")}
	if _, err := r.Read(context.Background(), 0); err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Fatalf("unreadable DLQ: %v", err)
	}
}

func TestReadFindsTheNextAutomaticRedriveAmongEveryFailure(t *testing.T) {
	t.Parallel()
	asked := 0
	now := time.Now().UTC()
	recs := []store.EventRecord{
		{Provider: "stripe", EventKey: "evt_recent", Status: store.Failed, LastFailedAt: now.Add(-time.Minute)},
		{Provider: "monetbil", EventKey: "MB-perm:success", Status: store.Failed, Permanent: true, LastFailedAt: now.Add(-2 * time.Minute)},
		{Provider: "monetbil", EventKey: "MB-old:success", Status: store.Failed, LastFailedAt: now.Add(-3 * time.Minute)},
	}
	r := hubstatus.Reader{
		Queue: fakeQueue{url: "http://localhost/q"}, DLQ: fakeQueue{url: "http://localhost/dlq"}, Redrives: fakeRedrives{},
		Failures: fakeFailures{recs: recs, asked: &asked}, Rounds: []time.Duration{5 * time.Minute, 30 * time.Minute},
	}
	st, err := r.Read(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	n := st.NextRedrive
	if n == nil || n.EventKey != "MB-old:success" || n.Round != 1 || n.Rounds != 2 || !n.DueAt.Equal(recs[2].LastFailedAt.Add(5*time.Minute)) {
		t.Fatalf("next redrive %+v", n)
	}
	if len(st.LastFailures) != 1 || asked < 1000 || st.AutoRedrive != "5m0s, 30m0s" {
		t.Fatalf("%d last failures (asked for %d), schedule %q", len(st.LastFailures), asked, st.AutoRedrive)
	}
	r.Rounds = nil
	if st, _ := r.Read(context.Background(), 1); st.NextRedrive != nil || st.AutoRedrive != "off" {
		t.Fatalf("off: %+v", st)
	}
}

// countingAges counts its reads.
type countingAges struct {
	fakeAges
	reads *int
}

func (a countingAges) OldestAges(ctx context.Context, names ...string) (map[string]time.Duration, error) {
	*a.reads++
	return a.fakeAges.OldestAges(ctx, names...)
}

// The live view's reader reads the failures and the ages once per period,
// the queue counts every time; the next round is worked out at each read.
func TestThrottledReadsFailuresAndAgesOncePerPeriod(t *testing.T) {
	t.Parallel()
	asked, ageReads := 0, 0
	queue := &fakeQueue{url: "http://localhost/q", depth: sqsqueue.Depth{Visible: 1}}
	r := hubstatus.Reader{
		Queue: queue, DLQ: fakeQueue{url: "http://localhost/dlq"}, Redrives: fakeRedrives{},
		Failures: fakeFailures{recs: []store.EventRecord{{Provider: "stripe", EventKey: "evt_1"}}, asked: &asked},
		Ages:     countingAges{fakeAges: fakeAges{"q": time.Minute}, reads: &ageReads},
	}.Throttled(time.Hour)
	for i := range 3 {
		queue.depth.Visible = int64(i)
		st, err := r.Read(context.Background(), 5)
		if err != nil {
			t.Fatal(err)
		}
		if st.Queue.Visible != int64(i) || len(st.LastFailures) != 1 || st.Queue.OldestAgeSeconds == nil || *st.Queue.OldestAgeSeconds != 60 {
			t.Fatalf("read %d: %+v", i, st)
		}
		if i == 0 {
			asked = 0
		}
	}
	if asked != 0 || ageReads != 1 {
		t.Fatalf("failures read again (asked %d), ages read %d times", asked, ageReads)
	}
}

// fakeCloudWatch answers GetMetricData with a value per query but the last.
type fakeCloudWatch struct{ calls *int }

func (f fakeCloudWatch) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	*f.calls++
	out := &cloudwatch.GetMetricDataOutput{}
	for i, q := range in.MetricDataQueries[:len(in.MetricDataQueries)-1] {
		out.MetricDataResults = append(out.MetricDataResults, cwtypes.MetricDataResult{Id: q.Id, Values: []float64{float64(10 * (i + 1)), 1}})
	}
	return out, nil
}

// Both queues' ages come from one GetMetricData call.
func TestCloudWatchAgesReadsEveryQueueInOneCall(t *testing.T) {
	t.Parallel()
	calls := 0
	ages, err := hubstatus.CloudWatchAges{Client: fakeCloudWatch{calls: &calls}}.OldestAges(context.Background(), "events", "failed-jobs", "other")
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || len(ages) != 2 || ages["events"] != 10*time.Second || ages["failed-jobs"] != 20*time.Second {
		t.Fatalf("%d calls, ages %v", calls, ages)
	}
}
