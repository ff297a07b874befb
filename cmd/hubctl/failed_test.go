package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

type failedJob struct {
	MessageID     string `json:"message_id"`
	Provider      string `json:"provider"`
	EventKey      string `json:"event_key"`
	TransactionID string `json:"transaction_id"`
	Attempts      int    `json:"attempts"`
	Error         string `json:"error"`
	Permanent     bool   `json:"permanent"`
}

// listFailed lists the DLQ; what a lost receive hides comes back within
// the 15 s hide, not hubctl's default 5 minutes.
func listFailed(t *testing.T, env []string) []failedJob {
	t.Helper()
	r := hub(t, env, "failed", "list", "--json", "--hide", "15s")
	if r.code != 0 {
		t.Fatalf("failed list: %d %s", r.code, r.stderr)
	}
	var jobs []failedJob
	if err := json.Unmarshal([]byte(r.stdout), &jobs); err != nil {
		t.Fatalf("failed list --json is not a JSON array: %v\n%s", err, r.stdout)
	}
	return jobs
}

func dlqVisible(t *testing.T, env []string) int {
	t.Helper()
	r := hub(t, env, "status", "--json", "--failures", "0")
	var st struct {
		DLQ struct {
			Visible  int `json:"visible"`
			InFlight int `json:"in_flight"`
		} `json:"dlq"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != 0 {
		t.Fatalf("status --json: %d %v %s %s", r.code, err, r.stdout, r.stderr)
	}
	return st.DLQ.Visible
}

// poison sends Monetbil events whose confirmation fails for good (the
// payment is unknown: 404) and waits until the DLQ holds them all.
func poison(t *testing.T, s *hubtest.Stack, env []string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		sendMonetbil(t, s, "tx-"+id, id)
	}
	hubtest.WaitFor(t, fmt.Sprintf("%d messages in the DLQ", len(ids)), 30*time.Second, func() bool { return dlqVisible(t, env) == len(ids) })
}

func TestPoisonEventIsListedFixedRetriedAndAppliedOnce(t *testing.T) {
	t.Parallel()
	s := hubtest.NewStack(t, hubtest.Options{})
	m := hubtest.NewMonetbil(t)
	env := workerEnv(s, m)
	startWorker(t, env)
	poison(t, s, env, "MB-poison")

	jobs := listFailed(t, env)
	if len(jobs) != 1 || jobs[0].EventKey != "MB-poison:success" || jobs[0].Provider != "monetbil" || !strings.Contains(jobs[0].Error, "404") || !jobs[0].Permanent || jobs[0].TransactionID != "tx-MB-poison" {
		t.Fatalf("failed list = %+v", jobs)
	}
	// Listing consumed nothing: the message is visible again at once.
	if n := dlqVisible(t, env); n != 1 {
		t.Fatalf("after listing, %d visible in the DLQ, want 1", n)
	}
	human := hub(t, env, "failed", "list")
	if human.code != 0 || !strings.Contains(human.stdout, "MB-poison:success") || !strings.Contains(human.stdout, "MESSAGE ID") {
		t.Fatalf("failed list: %s", human.stdout)
	}

	m.Set("MB-poison", 1, 0, 0) // the fix: Monetbil now knows the payment
	retried := jobs[0].MessageID
	r := hub(t, env, "failed", "retry", retried)
	if r.code != 0 || !strings.Contains(r.stdout, "retried") {
		t.Fatalf("failed retry: %d %s %s", r.code, r.stdout, r.stderr)
	}
	hubtest.WaitFor(t, "the retried event to be applied", 20*time.Second, func() bool {
		tx, err := s.Store.Transaction(context.Background(), "tx-MB-poison")
		return err == nil && tx.Status == transaction.Succeeded
	})
	tx, _ := s.Store.Transaction(context.Background(), "tx-MB-poison")
	if tx.Version != 1 {
		t.Fatalf("applied %d times", tx.Version)
	}
	if jobs := listFailed(t, env); len(jobs) != 0 {
		t.Fatalf("DLQ not empty after the retry: %+v", jobs)
	}
	// A second retry of the same id is a clear failure.
	if r := hub(t, env, "failed", "retry", retried); r.code != 1 && r.code != 2 {
		t.Fatalf("retry of a message no longer in the DLQ: exit %d", r.code)
	}
}

func TestForgetAndFlush(t *testing.T) {
	t.Parallel()
	s := hubtest.NewStack(t, hubtest.Options{})
	m := hubtest.NewMonetbil(t)
	env := workerEnv(s, m)
	w := startWorker(t, env)
	poison(t, s, env, "MB-f1", "MB-f2", "MB-f3")
	_ = w

	jobs := listFailed(t, env)
	var target failedJob
	for _, j := range jobs {
		if j.EventKey == "MB-f1:success" {
			target = j
		}
	}
	r := hub(t, env, "failed", "forget", target.MessageID, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"forgotten"`) {
		t.Fatalf("forget: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if rec, err := s.Store.Event(context.Background(), "monetbil", "MB-f1:success"); err != nil || rec.Status != store.Forgotten {
		t.Fatalf("record after forget: %+v %v", rec, err)
	}
	if r := hub(t, env, "failed", "forget", target.MessageID); r.code != 1 || !strings.Contains(r.stderr, "not in the DLQ") {
		t.Fatalf("forget twice: %d %s", r.code, r.stderr)
	}
	if n := len(listFailed(t, env)); n != 2 {
		t.Fatalf("%d left after forget, want 2", n)
	}

	// flush asks first; anything but "flush" deletes nothing.
	cmd := exec.Command(hubtest.Hubctl(t), "failed", "flush")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader("no\n")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not confirmed") {
		t.Fatalf("unconfirmed flush: %v %s", err, out)
	}
	if n := dlqVisible(t, env); n != 2 {
		t.Fatalf("unconfirmed flush deleted messages: %d left", n)
	}
	if r := hub(t, env, "failed", "flush", "--force"); r.code != 0 {
		t.Fatalf("flush --force: %d %s", r.code, r.stderr)
	}
	hubtest.WaitFor(t, "an empty DLQ", 70*time.Second, func() bool { return dlqVisible(t, env) == 0 })
	if rec, err := s.Store.Event(context.Background(), "monetbil", "MB-f2:success"); err != nil || rec.Status != store.Failed {
		t.Fatalf("flush must keep failure records: %+v %v", rec, err)
	}
}

func TestRetryAllFallsBackToAClientSideMove(t *testing.T) {
	t.Parallel()
	s := hubtest.NewStack(t, hubtest.Options{})
	m := hubtest.NewMonetbil(t)
	env := workerEnv(s, m)
	w := startWorker(t, env)
	poison(t, s, env, "MB-a1", "MB-a2")
	// Stop processing so that the moved messages can be counted.
	_ = w.Cmd.Process.Kill()
	w.Exited(10 * time.Second)

	r := hub(t, env, "failed", "retry", "--all", "--json")
	if r.code != 0 || !strings.Contains(r.stderr, "does not implement StartMessageMoveTask") {
		t.Fatalf("retry --all: %d %s %s", r.code, r.stdout, r.stderr)
	}
	var task struct {
		Status     string `json:"status"`
		Moved      int    `json:"moved"`
		ClientSide bool   `json:"client_side"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &task); err != nil || task.Status != "COMPLETED" || task.Moved != 2 || !task.ClientSide {
		t.Fatalf("task %+v %v", task, err)
	}
	if n := dlqVisible(t, env); n != 0 {
		t.Fatalf("%d left in the DLQ", n)
	}
	// The killed worker's last long poll may still take one on the server:
	// count what is in flight too.
	out, err := s.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.Queues.URL), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	}})
	var visible, inFlight int
	if err == nil {
		fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &visible)
		fmt.Sscan(out.Attributes["ApproximateNumberOfMessagesNotVisible"], &inFlight)
	}
	if err != nil || visible+inFlight != 2 {
		t.Fatalf("source queue holds %v (%v), want 2", out.Attributes, err)
	}
}

// TestRetryAllWithAMoveTask runs against the SQS server that implements
// StartMessageMoveTask, List and Cancel (local-aws-sqs).
func TestRetryAllWithAMoveTask(t *testing.T) {
	t.Parallel()
	c := hubtest.MoveTaskSQS(t)
	ep := hubtest.Require(t, hubtest.EnvMoveTaskSQS)[0]
	ctx := context.Background()
	spec := provision.QueueSpec{Name: hubtest.Name("mv-q"), DLQName: hubtest.Name("mv-dlq"), VisibilityTimeout: time.Second}
	spec.SetDefaults()
	q, err := provision.Queues(ctx, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"AWS_ENDPOINT_URL_SQS=" + ep, "QUEUE_URL=" + q.URL, "DLQ_URL=" + q.DLQURL}
	// Dead-letter 6 messages through the real redrive policy.
	for i := range 6 {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(fmt.Sprintf("poison %d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	dlqCount := func() int {
		out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.DLQURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &n)
		return n
	}
	hubtest.WaitFor(t, "6 messages dead-lettered", 60*time.Second, func() bool {
		_, _ = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, VisibilityTimeout: 1})
		return dlqCount() == 6
	})
	// Drain nothing from the source from now on: move back slowly, cancel.
	r := hub(t, env, "failed", "retry", "--all", "--no-wait", "--rate", "1", "--json")
	var task struct {
		Handle string `json:"task_handle"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &task); err != nil || r.code != 0 || task.Handle == "" {
		t.Fatalf("retry --all --no-wait: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = hub(t, env, "failed", "moves", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, task.Handle) {
		t.Fatalf("moves: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := hub(t, env, "failed", "moves", "--cancel", task.Handle); r.code != 0 || !strings.Contains(r.stdout, "cancelled") {
		t.Fatalf("moves --cancel: %d %s %s", r.code, r.stdout, r.stderr)
	}
	hubtest.WaitFor(t, "the task to be cancelled", 10*time.Second, func() bool {
		r := hub(t, env, "failed", "moves", "--json")
		return strings.Contains(r.stdout, `"CANCELLED"`)
	})
	// Now the whole redrive, watched to the end.
	r = hub(t, env, "failed", "retry", "--all", "--json")
	var final struct {
		Status string `json:"status"`
		Moved  int    `json:"moved"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &final); err != nil || r.code != 0 || final.Status != "COMPLETED" {
		t.Fatalf("retry --all: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if n := dlqCount(); n != 0 {
		t.Fatalf("%d messages left in the DLQ after the redrive", n)
	}
}
