package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/hubtest"
)

// devEnv reads the env file `hubctl dev` writes, as KEY=value pairs.
func devEnv(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var env []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		kv := strings.TrimPrefix(line, "export ")
		if strings.HasPrefix(kv, "PATH=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

type txJSON struct {
	ID      string `json:"transaction_id"`
	Status  string `json:"status"`
	Version int    `json:"version"`
}

func transactionStatus(t *testing.T, env []string, id string) txJSON {
	t.Helper()
	r := hub(t, env, "transactions", "get", id, "--json")
	var tx txJSON
	if r.code == 0 {
		if err := json.Unmarshal([]byte(r.stdout), &tx); err != nil {
			t.Fatalf("transactions get --json: %v\n%s", err, r.stdout)
		}
	}
	return tx
}

// startDev runs `hubctl dev` as a process against the local servers, with
// a scaled schedule, and returns it with the environment it wrote for other
// terminals, once its intake answers.
func startDev(t *testing.T, extra ...string) (*hubtest.Process, []string) {
	t.Helper()
	hubtest.Require(t, hubtest.EnvSQS, hubtest.EnvDynamoDB)
	envFile := filepath.Join(t.TempDir(), "dev.env")
	dev := hubtest.StartHubctl(t, append([]string{
		"QUEUE_NAME=" + hubtest.Name("dev-q"), "DLQ_NAME=" + hubtest.Name("dev-dlq"),
		"EVENTS_TABLE=" + hubtest.Name("dev-ev"), "TRANSACTIONS_TABLE=" + hubtest.Name("dev-tx"),
		"BACKOFF_SECONDS=1,2,3", "STRIPE_WEBHOOK_SECRET=", "MONETBIL_SERVICE_SECRET=", "MONETBIL_API_URL=",
	}, extra...), "dev", "--addr", "127.0.0.1:0", "--env-file", envFile, "--log-format", "json")
	hubtest.WaitFor(t, "hubctl dev to write its env file", 30*time.Second, func() bool { return len(devEnv(t, envFile)) > 0 })
	env := devEnv(t, envFile)
	hubtest.WaitFor(t, "the intake to answer", 10*time.Second, func() bool {
		return hub(t, env, "send", "stripe", "customer.created", "--transaction", "tx-warmup").code == 0
	})
	return dev, env
}

// TestDevEndToEnd runs `hubctl dev` as a process against the local servers,
// with a scaled schedule, and drives it only through hubctl send,
// transactions get --json and failed ... --json.
func TestDevEndToEnd(t *testing.T) {
	t.Parallel()
	dev, env := startDev(t)

	// Success path.
	if r := hub(t, env, "send", "stripe", "payment_intent.succeeded", "--transaction", "tx-e2e-1"); r.code != 0 || !strings.Contains(r.stdout, "200") {
		t.Fatalf("send stripe: %d %s %s", r.code, r.stdout, r.stderr)
	}
	hubtest.WaitFor(t, "tx-e2e-1 succeeded", 20*time.Second, func() bool { return transactionStatus(t, env, "tx-e2e-1").Status == "succeeded" })

	// Duplicates: three deliveries of one event, one change.
	if r := hub(t, env, "send", "stripe", "payment_intent.succeeded", "--transaction", "tx-e2e-2", "--dup", "3"); r.code != 0 || strings.Count(r.stdout, "-> 200") != 3 {
		t.Fatalf("send --dup 3: %d %s", r.code, r.stdout)
	}
	hubtest.WaitFor(t, "tx-e2e-2 succeeded", 20*time.Second, func() bool { return transactionStatus(t, env, "tx-e2e-2").Status == "succeeded" })
	time.Sleep(2 * time.Second) // let the duplicates be processed too
	if tx := transactionStatus(t, env, "tx-e2e-2"); tx.Version != 1 {
		t.Fatalf("duplicates changed the transaction %d times", tx.Version)
	}

	// Refused deliveries: bad signature, stale timestamp.
	if r := hub(t, env, "send", "stripe", "payment_intent.succeeded", "--transaction", "tx-e2e-bad", "--bad-signature"); r.code != 1 || !strings.Contains(r.stdout, "400") || !strings.Contains(r.stdout, "signature_mismatch") {
		t.Fatalf("--bad-signature: %d %s", r.code, r.stdout)
	}
	if r := hub(t, env, "send", "stripe", "payment_intent.succeeded", "--transaction", "tx-e2e-stale", "--stale"); r.code != 1 || !strings.Contains(r.stdout, "timestamp_too_old") {
		t.Fatalf("--stale: %d %s", r.code, r.stdout)
	}

	// A confirmation that fails twice, then succeeds on attempt 3.
	if r := hub(t, env, "send", "monetbil", "--transaction", "tx-e2e-3", "--status", "success", "--fail-confirmations", "2"); r.code != 0 || !strings.Contains(r.stdout, "received") {
		t.Fatalf("send monetbil: %d %s %s", r.code, r.stdout, r.stderr)
	}
	hubtest.WaitFor(t, "tx-e2e-3 succeeded after retries", 30*time.Second, func() bool { return transactionStatus(t, env, "tx-e2e-3").Status == "succeeded" })

	// One that fails all three attempts, lands in the DLQ, and is retried.
	if r := hub(t, env, "send", "monetbil", "--transaction", "tx-e2e-4", "--status", "failed", "--fail-confirmations", "3"); r.code != 0 {
		t.Fatalf("send monetbil: %d %s %s", r.code, r.stdout, r.stderr)
	}
	var jobs []failedJob
	hubtest.WaitFor(t, "the event in the DLQ", 40*time.Second, func() bool {
		jobs = listFailed(t, env)
		return len(jobs) == 1
	})
	if jobs[0].TransactionID != "tx-e2e-4" || !strings.Contains(jobs[0].Error, "500") || jobs[0].Attempts != 3 {
		t.Fatalf("failed list: %+v", jobs)
	}
	if r := hub(t, env, "failed", "retry", "--all", "--json"); r.code != 0 {
		t.Fatalf("failed retry --all: %d %s %s", r.code, r.stdout, r.stderr)
	}
	hubtest.WaitFor(t, "tx-e2e-4 applied after the retry", 20*time.Second, func() bool { return transactionStatus(t, env, "tx-e2e-4").Status == "failed" })
	if jobs := listFailed(t, env); len(jobs) != 0 {
		t.Fatalf("DLQ not empty at the end: %+v", jobs)
	}

	// Ctrl-C stops it cleanly.
	if err := dev.Cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if !dev.Exited(20 * time.Second) {
		t.Fatal("hubctl dev did not stop on SIGINT")
	}
	if code := dev.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("hubctl dev exited %d after SIGINT", code)
	}
}
