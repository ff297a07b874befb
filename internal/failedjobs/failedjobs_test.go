package failedjobs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/failedjobs"
	"github.com/payments-hub/hub/internal/sqsqueue/sqsqueuetest"
	"github.com/payments-hub/hub/internal/store"
)

func newService(t *testing.T, d *fakeDLQ, src *fakeSource, recs *fakeRecords, tune func(*failedjobs.Config)) *failedjobs.Service {
	t.Helper()
	cfg := failedjobs.Config{DLQ: d, Source: src, Records: recs}
	if tune != nil {
		tune(&cfg)
	}
	svc, err := failedjobs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestListJoinsTheRecordsInBatchesAndLeavesEveryMessageVisible(t *testing.T) {
	t.Parallel()
	d, recs := &fakeDLQ{}, &fakeRecords{}
	d.fill(250)
	for i := range 250 {
		if i%50 != 7 {
			recs.failed("monetbil", fmt.Sprintf("MB-%05d:success", i), 3)
		}
	}
	var last failedjobs.Progress
	l, err := newService(t, d, &fakeSource{}, recs, nil).List(context.Background(), failedjobs.ListOptions{Progress: func(p failedjobs.Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Jobs) != 250 || l.Stopped != failedjobs.StopEmpty || l.Note(time.Minute, time.Minute) != "" {
		t.Fatalf("%d jobs, stopped %q", len(l.Jobs), l.Stopped)
	}
	if recs.calls != 3 || recs.largest > 100 {
		t.Errorf("%d record reads, largest %d refs: want 3 reads of at most 100", recs.calls, recs.largest)
	}
	missing := 0
	for _, j := range l.Jobs {
		switch j.Record {
		case "missing":
			missing++
		case string(store.Failed):
			if j.Attempts != 3 || j.ErrorType != "transient" || j.TransactionID == "" || j.ReceiveCount != 1 {
				t.Fatalf("job %+v", j)
			}
		default:
			t.Fatalf("job %+v", j)
		}
	}
	if missing != 5 {
		t.Errorf("%d jobs without a record, want 5", missing)
	}
	if last.Read != 250 || last.Joined != 250 {
		t.Errorf("last progress %+v, want 250 read and joined", last)
	}
	if ids, hidden := d.Left(); len(ids) != 250 || hidden != 0 {
		t.Errorf("after listing: %d messages, %d hidden; want 250, none hidden", len(ids), hidden)
	}
}

// A big DLQ read slowly: the first messages' hide runs out and they come
// back. The listing must show each message once and stop there, not read
// round and round to its cap.
func TestListStopsWhenMessagesComeRoundAgain(t *testing.T) {
	t.Parallel()
	d := &fakeDLQ{sqsqueuetest.DLQ{ComeBackEvery: 3}}
	d.fill(50)
	l, err := newService(t, d, &fakeSource{}, &fakeRecords{}, nil).List(context.Background(), failedjobs.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, j := range l.Jobs {
		if seen[j.MessageID] {
			t.Fatalf("message %s listed twice", j.MessageID)
		}
		seen[j.MessageID] = true
	}
	if len(l.Jobs) != 30 || l.Stopped != failedjobs.StopRepeat || !strings.Contains(l.Note(time.Minute, time.Minute), "came round again") {
		t.Fatalf("%d jobs, stopped %q, note %q; want 30, repeat", len(l.Jobs), l.Stopped, l.Note(time.Minute, time.Minute))
	}
	if _, hidden := d.Left(); hidden != 0 {
		t.Errorf("%d messages left hidden", hidden)
	}
}

// A receive whose answer is lost hides its messages all the same: the
// listing cannot show them, and says how many are hidden.
func TestListSaysHowManyMessagesAreHiddenFromIt(t *testing.T) {
	t.Parallel()
	d := &fakeDLQ{}
	d.fill(25)
	if _, err := d.Scan(context.Background(), 10, 0, 0); err != nil { // an answer lost on the way
		t.Fatal(err)
	}
	l, err := newService(t, d, &fakeSource{}, &fakeRecords{}, nil).List(context.Background(), failedjobs.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Jobs) != 15 || l.Hidden != 10 || !strings.Contains(l.Note(time.Minute, 5*time.Minute), "about 10 DLQ messages were in flight") {
		t.Fatalf("%d listed, %d hidden, note %q", len(l.Jobs), l.Hidden, l.Note(time.Minute, 5*time.Minute))
	}
}

func TestListStopsAtTheTimeBudget(t *testing.T) {
	t.Parallel()
	d := &fakeDLQ{sqsqueuetest.DLQ{ReceiveDelay: 20 * time.Millisecond}}
	d.fill(1000)
	svc := newService(t, d, &fakeSource{}, &fakeRecords{}, func(c *failedjobs.Config) { c.Budget = 100 * time.Millisecond })
	l, err := svc.List(context.Background(), failedjobs.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Stopped != failedjobs.StopBudget || len(l.Jobs) == 0 || len(l.Jobs) >= 1000 || !strings.Contains(l.Note(svc.Budget(), svc.Hide()), "time budget") {
		t.Fatalf("%d jobs, stopped %q", len(l.Jobs), l.Stopped)
	}
	if _, hidden := d.Left(); hidden != 0 {
		t.Errorf("%d messages left hidden", hidden)
	}
}

func TestListReleasesWhatItReadWhenInterrupted(t *testing.T) {
	t.Parallel()
	d := &fakeDLQ{sqsqueuetest.DLQ{ReceiveDelay: 5 * time.Millisecond}}
	d.fill(500)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := newService(t, d, &fakeSource{}, &fakeRecords{}, nil).List(ctx, failedjobs.ListOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the deadline", err)
	}
	if _, hidden := d.Left(); hidden != 0 || d.Released() == 0 {
		t.Errorf("%d messages left hidden, %d released", hidden, d.Released())
	}
}

func TestRetryStopsReadingOnceEveryIDIsFound(t *testing.T) {
	t.Parallel()
	d, src := &fakeDLQ{}, &fakeSource{}
	d.fill(1000)
	out, err := newService(t, d, src, &fakeRecords{}, nil).Retry(context.Background(), []string{"m-00012", "m-00005"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Receives() != 2 {
		t.Errorf("%d receives to find messages among the first 20, want 2", d.Receives())
	}
	if len(out) != 2 || out[0].Result != "retried" || out[0].EventKey != "MB-00012:success" || out[1].NewMessageID == "" {
		t.Fatalf("outcomes %+v", out)
	}
	if len(src.sent) != 2 || src.sent[0].Body != "body of m-00012" || src.sent[0].Attributes["event_key"] != "MB-00012:success" || src.sent[0].Attributes["redrive"] != "manual" {
		t.Fatalf("sent %+v", src.sent)
	}
	ids, hidden := d.Left()
	if len(ids) != 998 || hidden != 0 || slices.Contains(ids, "m-00005") {
		t.Errorf("%d left, %d hidden", len(ids), hidden)
	}
}

func TestRetryOfAnIDNotInTheDLQFails(t *testing.T) {
	t.Parallel()
	d := &fakeDLQ{}
	d.fill(15)
	out, err := newService(t, d, &fakeSource{}, &fakeRecords{}, nil).Retry(context.Background(), []string{"m-00003", "nope"}, nil)
	if err == nil || len(out) != 2 || out[0].Result != "retried" || out[1].Result != "not_found" || !strings.Contains(out[1].Error, "not in the DLQ") {
		t.Fatalf("%+v %v", out, err)
	}
	if _, hidden := d.Left(); hidden != 0 {
		t.Errorf("%d left hidden", hidden)
	}
}

func TestForgetDeletesEveryCopyOfTheEvent(t *testing.T) {
	t.Parallel()
	d, recs := &fakeDLQ{}, &fakeRecords{}
	d.fill(30)
	// Two more deliveries of event 4 were dead-lettered, one of them late.
	d.add("dup-1", "MB-00004:success")
	for i := range 20 {
		d.add(fmt.Sprintf("late-%d", i), fmt.Sprintf("MB-late-%d:success", i))
	}
	d.add("dup-2", "MB-00004:success")
	recs.failed("monetbil", "MB-00004:success", 3)
	o, err := newService(t, d, &fakeSource{}, recs, nil).Forget(context.Background(), "m-00004", nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Result != "forgotten" || o.Deleted != 3 || o.Error != "" {
		t.Fatalf("outcome %+v, want 3 deleted", o)
	}
	ids, hidden := d.Left()
	if len(ids) != 49 || hidden != 0 || slices.Contains(ids, "dup-2") {
		t.Fatalf("%d left (%d hidden): %v", len(ids), hidden, ids)
	}
	if len(recs.forgotten) != 1 || recs.forgotten[0].EventKey != "MB-00004:success" {
		t.Fatalf("forgotten %v", recs.forgotten)
	}
	if _, err := newService(t, d, &fakeSource{}, recs, nil).Forget(context.Background(), "m-00004", nil); err == nil || !strings.Contains(err.Error(), "not in the DLQ") {
		t.Fatalf("forget twice: %v", err)
	}
}

func TestMoveClientSideMovesAllAndKeepsWhatTheQueueRefused(t *testing.T) {
	t.Parallel()
	d := &fakeDLQ{}
	d.fill(45)
	src := &fakeSource{refuse: map[string]bool{"body of m-00033": true}}
	moved, err := newService(t, d, src, &fakeRecords{}, nil).MoveClientSide(context.Background(), nil)
	if err == nil || moved != 39 {
		t.Fatalf("moved %d, err %v; want 39 moved and an error for the refused one", moved, err)
	}
	ids, hidden := d.Left()
	if len(ids) != 6 || hidden != 0 {
		t.Fatalf("left %v (%d hidden), want the refused message and the 5 after its batch", ids, hidden)
	}
	src.refuse = nil
	moved, err = newService(t, d, src, &fakeRecords{}, nil).MoveClientSide(context.Background(), nil)
	if err != nil || moved != 6 || len(src.sent) != 45 {
		t.Fatalf("second move: %d, %v, %d sent", moved, err, len(src.sent))
	}
	for _, m := range src.sent {
		if m.Attributes["redrive"] != "manual" || m.Attributes["event_key"] == "" {
			t.Fatalf("moved copy %+v: want its attributes and the redrive mark", m)
		}
	}
}

func TestFlushPurges(t *testing.T) {
	t.Parallel()
	d := &fakeDLQ{}
	d.fill(3)
	if err := newService(t, d, &fakeSource{}, &fakeRecords{}, nil).Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ids, _ := d.Left(); len(ids) != 0 {
		t.Fatalf("%d left", len(ids))
	}
}

func TestNewNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	for _, cfg := range []failedjobs.Config{{Source: &fakeSource{}, Records: &fakeRecords{}}, {DLQ: &fakeDLQ{}, Records: &fakeRecords{}}, {DLQ: &fakeDLQ{}, Source: &fakeSource{}}} {
		if _, err := failedjobs.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestMoveClientSideWaitsForMessagesALostReceiveHid(t *testing.T) {
	t.Parallel()
	d := &fakeDLQ{}
	d.fill(25)
	if _, err := d.Scan(context.Background(), 10, 0, 0); err != nil { // an answer lost on the way
		t.Fatal(err)
	}
	d.ComeBackEvery = 6 // the lost ones are visible again from the 7th receive
	moved, err := newService(t, d, &fakeSource{}, &fakeRecords{}, func(c *failedjobs.Config) { c.Wait = time.Millisecond }).MoveClientSide(context.Background(), nil)
	if err != nil || moved != 25 {
		t.Fatalf("moved %d, %v; want all 25", moved, err)
	}
	if ids, _ := d.Left(); len(ids) != 0 {
		t.Fatalf("%d left in the DLQ", len(ids))
	}
}

func TestMoveClientSideGivesUpOnMessagesThatStayHidden(t *testing.T) {
	t.Parallel()
	d := &fakeDLQ{}
	d.fill(12)
	if _, err := d.Scan(context.Background(), 10, 0, 0); err != nil {
		t.Fatal(err)
	}
	svc := newService(t, d, &fakeSource{}, &fakeRecords{}, func(c *failedjobs.Config) { c.Wait, c.Hide = time.Millisecond, 20*time.Millisecond })
	moved, err := svc.MoveClientSide(context.Background(), nil)
	if moved != 2 || err == nil || !strings.Contains(err.Error(), "10 messages stay hidden") {
		t.Fatalf("moved %d, %v; want 2 and the 10 hidden named", moved, err)
	}
}
