package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/transaction"
)

func TestMain(m *testing.M) { os.Exit(hubtest.Main(m)) }

type result struct {
	code           int
	stdout, stderr string
}

// hub runs the built hubctl to completion.
func hub(t *testing.T, env []string, args ...string) result {
	t.Helper()
	code, stdout, stderr := hubtest.RunHubctl(t, env, args...)
	return result{code, stdout, stderr}
}

func TestHelpAndUsageErrors(t *testing.T) {
	t.Parallel()
	r := hub(t, nil, "--help")
	for _, want := range []string{"work", "setup", "transactions", "events", "Exit codes"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("hubctl --help: %d, lacks %q:\n%s", r.code, want, r.stdout)
		}
	}
	for _, cmd := range []string{"work", "setup", "transactions", "events"} {
		if r := hub(t, nil, cmd, "--help"); r.code != 0 || !strings.Contains(r.stdout, "Example") {
			t.Errorf("hubctl %s --help: %d\n%s", cmd, r.code, r.stdout)
		}
	}
	for _, args := range [][]string{{"nope"}, {"transactions"}, {"transactions", "get"}, {"events", "get", "paypal", "x"}, {"work", "--concurrency", "0"}, {"work", "--bogus"}} {
		if r := hub(t, nil, args...); r.code != 2 || r.stderr == "" {
			t.Errorf("hubctl %v: exit %d stderr %q, want 2 and a sentence", args, r.code, r.stderr)
		}
	}
	if r := hub(t, []string{"QUEUE_URL=", "BACKOFF_SECONDS=10,x"}, "work"); r.code != 2 || !strings.Contains(r.stderr, "QUEUE_URL") || !strings.Contains(r.stderr, "BACKOFF_SECONDS") {
		t.Errorf("bad configuration: exit %d: %s", r.code, r.stderr)
	}
}

func parseEnv(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestSetupTwiceChangesNothingAndPrintsTheEnvironment(t *testing.T) {
	t.Parallel()
	hubtest.Require(t, hubtest.EnvSQS, hubtest.EnvDynamoDB)
	names := []string{"QUEUE_NAME=" + hubtest.Name("setup-q"), "DLQ_NAME=" + hubtest.Name("setup-dlq"), "EVENTS_TABLE=" + hubtest.Name("setup-ev"), "TRANSACTIONS_TABLE=" + hubtest.Name("setup-tx")}
	first := hub(t, names, "setup")
	if first.code != 0 || !strings.Contains(first.stderr, "created") {
		t.Fatalf("setup: %d\n%s%s", first.code, first.stdout, first.stderr)
	}
	env := parseEnv(first.stdout)
	for _, k := range []string{"QUEUE_URL", "DLQ_URL", "EVENTS_TABLE", "TRANSACTIONS_TABLE"} {
		if env[k] == "" {
			t.Fatalf("setup printed no %s:\n%s", k, first.stdout)
		}
	}
	second := hub(t, names, "setup")
	if second.code != 0 || second.stdout != first.stdout || strings.Contains(second.stderr, "created") {
		t.Fatalf("second setup changed something: %d\n%s%s", second.code, second.stdout, second.stderr)
	}
	// The queue has the production settings.
	c := hubtest.SQS(t)
	out, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(env["QUEUE_URL"]), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Attributes["VisibilityTimeout"] != "60" || !strings.Contains(out.Attributes["RedrivePolicy"], "3") {
		t.Fatalf("queue attributes %v", out.Attributes)
	}
	// setup's output is what every other command reads.
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	if r := hub(t, kv, "transactions", "get", "tx_missing"); r.code != 1 || !strings.Contains(r.stderr, "no transaction") {
		t.Fatalf("missing transaction: %d %q", r.code, r.stderr)
	}
}

func startWorker(t *testing.T, env []string, args ...string) *hubtest.Process {
	t.Helper()
	return hubtest.StartHubctl(t, env, append([]string{"work", "--wait", "1s"}, args...)...)
}

func sendMonetbil(t *testing.T, s *hubtest.Stack, txID, paymentID string) {
	t.Helper()
	form := url.Values{"transaction_id": {paymentID}, "status": {"success"}, "payment_ref": {txID}}
	form.Set("sign", monetbil.Sign("x", form))
	n, _ := monetbil.ParseNotification(form)
	pub, err := sqsqueue.NewPublisher(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Enqueue(context.Background(), envelope.Envelope{Version: 1, Provider: "monetbil", EventKey: n.EventKey(), EventType: n.EventType(), TransactionID: txID, ReceivedAt: time.Now().UTC(), Payload: form.Encode()}); err != nil {
		t.Fatal(err)
	}
}

// workerEnv points hubctl work at the stack and the Monetbil stand-in, with
// a scaled backoff. The automatic redrive is off: these tests watch the DLQ
// and act on it themselves, and a pass holds what it reads for a moment;
// the redrive's tests turn it on (extra settings win).
func workerEnv(s *hubtest.Stack, m *hubtest.Monetbil, extra ...string) []string {
	return append(append(s.Env(), "MONETBIL_API_URL="+m.URL, "BACKOFF_SECONDS=1,2,3", "AUTO_REDRIVE_SECONDS=off"), extra...)
}

func TestWorkRefusesToStartWhenMaxAttemptsDiffersFromTheRedrivePolicy(t *testing.T) {
	t.Parallel()
	s := hubtest.NewStack(t, hubtest.Options{})
	r := hub(t, append(s.Env(), "MAX_ATTEMPTS=5"), "work", "--once")
	if r.code != 1 || !strings.Contains(r.stderr, "maxReceiveCount 3") || !strings.Contains(r.stderr, "MAX_ATTEMPTS is 5") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

func TestWorkerKilledMidJobLosesNothing(t *testing.T) {
	t.Parallel()
	// A short visibility timeout so the killed job's message comes back soon.
	s := hubtest.NewStack(t, hubtest.Options{VisibilityTimeout: 4 * time.Second})
	m := hubtest.NewMonetbil(t)
	m.Set("MB-kill", 1, 0, time.Minute) // the first worker hangs in checkPayment
	env := workerEnv(s, m, "JOB_TIMEOUT_SECONDS=2")
	first := startWorker(t, env)
	sendMonetbil(t, s, "tx-kill", "MB-kill")
	hubtest.WaitFor(t, "the job to start", 20*time.Second, func() bool { return len(m.Calls("MB-kill")) == 1 })
	if err := first.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !first.Exited(5 * time.Second) {
		t.Fatal("worker survived SIGKILL")
	}
	m.Set("MB-kill", 1, 0, 0)
	startWorker(t, env)
	hubtest.WaitFor(t, "the event to be applied after the restart", 30*time.Second, func() bool {
		tx, err := s.Store.Transaction(context.Background(), "tx-kill")
		return err == nil && tx.HasEvent("MB-kill:success")
	})
	tx, err := s.Store.Transaction(context.Background(), "tx-kill")
	if err != nil || tx.Status != transaction.Succeeded || tx.Version != 1 {
		t.Fatalf("transaction %+v %v, want succeeded once", tx, err)
	}
}

func TestSIGTERMFinishesRunningJobsAndReleasesTheRest(t *testing.T) {
	t.Parallel()
	s := hubtest.NewStack(t, hubtest.Options{})
	m := hubtest.NewMonetbil(t)
	for _, id := range []string{"MB-t1", "MB-t2", "MB-t3"} {
		m.Set(id, 1, 0, 2*time.Second)
	}
	for i, id := range []string{"MB-t1", "MB-t2", "MB-t3"} {
		sendMonetbil(t, s, fmt.Sprintf("tx-term-%d", i+1), id)
	}
	w := startWorker(t, workerEnv(s, m), "--concurrency", "1")
	hubtest.WaitFor(t, "a job to start", 20*time.Second, func() bool { return m.Requests() == 1 })
	if err := w.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !w.Exited(15 * time.Second) {
		t.Fatal("worker did not stop after SIGTERM")
	}
	if code := w.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	// The running job finished: exactly one event processed.
	processed := 0
	for i, id := range []string{"MB-t1", "MB-t2", "MB-t3"} {
		if tx, err := s.Store.Transaction(context.Background(), fmt.Sprintf("tx-term-%d", i+1)); err == nil && tx.HasEvent(id+":success") {
			processed++
		}
	}
	if processed != 1 {
		t.Fatalf("%d events processed, want the 1 that was running", processed)
	}
	// What the worker held without starting is visible again at once (not
	// after the 60 s visibility timeout), and nothing is lost.
	got := 0
	deadline := time.Now().Add(5 * time.Second)
	for got < 2 && time.Now().Before(deadline) {
		out, err := s.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.Queues.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		got += len(out.Messages)
	}
	if got != 2 {
		t.Fatalf("%d messages visible after shutdown, want the 2 not processed", got)
	}
}

func TestTransactionsGetJSON(t *testing.T) {
	t.Parallel()
	s := hubtest.NewStack(t, hubtest.Options{})
	m := hubtest.NewMonetbil(t)
	m.Set("MB-json", 1, 0, 0)
	sendMonetbil(t, s, "tx-json", "MB-json")
	if r := hub(t, workerEnv(s, m), "work", "--once", "--wait", "5s"); r.code != 0 {
		t.Fatalf("work --once: %d %s", r.code, r.stderr)
	}
	r := hub(t, s.Env(), "transactions", "get", "tx-json", "--json")
	var tx map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &tx); err != nil || r.code != 0 {
		t.Fatalf("transactions get --json: %d %v\n%s", r.code, err, r.stdout)
	}
	if tx["transaction_id"] != "tx-json" || tx["status"] != "succeeded" {
		t.Fatalf("transaction JSON %v", tx)
	}
	r = hub(t, s.Env(), "events", "get", "monetbil", "MB-json:success")
	if r.code != 0 || !bufio.NewScanner(strings.NewReader(r.stdout)).Scan() || !strings.Contains(r.stdout, "PROCESSED") {
		t.Fatalf("events get: %d\n%s", r.code, r.stdout)
	}
}

func TestTransactionsExpect(t *testing.T) {
	t.Parallel()
	s := hubtest.NewStack(t, hubtest.Options{})
	env := s.Env()
	r := hub(t, env, "transactions", "expect", "tx-exp", "--provider", "monetbil", "--amount", "5000", "--currency", "xaf")
	if r.code != 0 || !strings.Contains(r.stdout, "transaction tx-exp (monetbil) expects 5000 XAF; status pending") {
		t.Fatalf("expect: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// The same again changes nothing; another is refused with a sentence.
	r = hub(t, env, "transactions", "expect", "tx-exp", "--provider", "monetbil", "--amount", "5000", "--currency", "XAF", "--json")
	var tx struct {
		Version  int `json:"version"`
		Expected struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
		} `json:"expected"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &tx); err != nil || r.code != 0 || tx.Version != 1 || tx.Expected.Amount != 5000 || tx.Expected.Currency != "XAF" {
		t.Fatalf("expect again: %d %v %+v %s", r.code, err, tx, r.stderr)
	}
	r = hub(t, env, "transactions", "expect", "tx-exp", "--provider", "monetbil", "--amount", "4000", "--currency", "XAF")
	if r.code != 1 || !strings.Contains(r.stderr, "already expects 5000 XAF") {
		t.Fatalf("a conflicting expectation: %d %q", r.code, r.stderr)
	}
	if r := hub(t, env, "transactions", "get", "tx-exp"); r.code != 0 || !regexp.MustCompile(`expected\s+5000 XAF`).MatchString(r.stdout) {
		t.Fatalf("transactions get: %d %s", r.code, r.stdout)
	}
}
