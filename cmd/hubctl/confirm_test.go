package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/hubtest"
)

// On a terminal, a filtered retry of more than 100 messages asks first:
// anything but "yes" moves nothing; "yes" moves them. Not parallel: the
// process's own environment names the stack, as the IAM recording of the
// command's calls (make test) reads it.
func TestAFilteredRetryOfMoreThanAHundredAsksOnATerminal(t *testing.T) {
	s := hubtest.NewStack(t, hubtest.Options{})
	at := time.Now().Add(-time.Hour).UTC()
	var events []hubtest.DeadEvent
	for i := range 101 {
		events = append(events, hubtest.DeadEvent{Provider: "stripe", EventKey: fmt.Sprintf("evt_ask_%03d", i), TransactionID: "tx-ask", FailedAt: at})
	}
	s.DeadLetter(t, events...)
	env := map[string]string{}
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
		t.Setenv(k, v)
	}
	retry := func(answer string) (int, string, string) {
		var out, errb bytes.Buffer
		c := &cli{stdin: strings.NewReader(answer), stdout: &out, stderr: &errb, interactive: true, env: config.LoadHubctl(func(k string) string { return env[k] })}
		code := run(context.Background(), c, []string{"failed", "retry", "--transaction", "tx-ask", "--hide", "15s"})
		return code, out.String(), errb.String()
	}
	// Every message visible first, so that the retry counts them all.
	s.Settle(t, s.Queues.DLQURL, time.Minute)
	if code, _, stderr := retry("no\n"); code != 1 || !strings.Contains(stderr, "Move 10") || !strings.Contains(stderr, "not confirmed; nothing was moved") {
		t.Fatalf("answered no: %d %q", code, stderr)
	}
	// "yes" moves them; what a lost receive hid moves on a later run.
	moved := 0
	for try := 1; moved < 101 && try <= 3; try++ {
		s.Settle(t, s.Queues.DLQURL, time.Minute)
		code, stdout, stderr := retry("yes\n")
		if code != 0 || !strings.Contains(stdout, "back to the queue") {
			t.Fatalf("answered yes: %d %s %s", code, stdout, stderr)
		}
		moved += len(s.Drain(t, s.Queues.URL))
	}
	if moved != 101 {
		t.Fatalf("%d moved, want the 101", moved)
	}
}
