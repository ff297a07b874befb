package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/payments-hub/hub/internal/config"
)

// inProcess runs hubctl in this process with env as the whole environment.
func inProcess(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, env: config.LoadHubctl(func(k string) string { return env[k] })}
	code = run(context.Background(), c, args)
	return code, out.String(), errb.String()
}

func TestUsageErrorsExitTwoWithASentence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"stauts"}, "status"}, // a suggestion
		{[]string{"transactions"}, "want a subcommand: expect or get"},
		{[]string{"transactions", "expect", "tx", "--amount", "5", "--currency", "eur"}, `--provider "": want stripe or monetbil`},
		{[]string{"transactions", "expect", "tx", "--provider", "stripe", "--amount", "0", "--currency", "eur"}, "--amount must be a positive"},
		{[]string{"transactions", "expect", "tx", "--provider", "stripe", "--amount", "5", "--currency", "euro"}, "3-letter ISO 4217"},
		{[]string{"transactions", "expect", "--provider", "stripe"}, "want: transactions expect ID"},
		{[]string{"transactions", "get"}, "want: transactions get ID"},
		{[]string{"transactions", "fetch", "tx"}, `unknown subcommand "fetch"`},
		{[]string{"events", "get", "paypal", "x"}, `provider "paypal"`},
		{[]string{"work", "--concurrency", "0"}, "--concurrency"},
		{[]string{"work", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"failed"}, "want a subcommand: flush, forget, list, moves or retry"},
		{[]string{"failed", "lst"}, `did you mean "list"`},
		{[]string{"failed", "retry"}, "retry ID... or failed retry --all"},
		{[]string{"failed", "retry", "id", "--all"}, "not several"},
		{[]string{"failed", "retry", "id", "--provider", "stripe"}, "not several"},
		{[]string{"failed", "retry", "--all", "--provider", "stripe"}, "give the filters without --all"},
		{[]string{"failed", "retry", "id", "--dry-run"}, "--dry-run previews --all or filters"},
		{[]string{"failed", "retry", "--provider", "paypal"}, `--provider "paypal"`},
		{[]string{"failed", "list", "--since", "yesterday"}, `--since "yesterday": want an RFC 3339 time`},
		{[]string{"failed", "list", "--since", "1h", "--until", "2h"}, "is before --since"},
		{[]string{"work", "--redrive-every", "1ms"}, "--redrive-every"},
		{[]string{"work", "--metrics-addr", "0.0.0.0:9091"}, "loopback"},
		{[]string{"dev", "--redrive-every", "0s"}, "--redrive-every"},
		{[]string{"failed", "retry", "--all", "--rate", "501"}, "--rate"},
		{[]string{"failed", "forget"}, "want: failed forget ID"},
		{[]string{"failed", "list", "--limit", "x"}, "invalid argument"},
		{[]string{"failed", "list"}, "QUEUE_URL is not set"},
		{[]string{"status", "--interval", "10ms"}, "--interval"},
		{[]string{"send", "stripe", "payment_intent.succeeded"}, "--transaction is required"},
		{[]string{"send", "stripe", "payment_intent.succeeded", "--transaction", "tx"}, "STRIPE_WEBHOOK_SECRET is not set"},
		{[]string{"send", "monetbil", "--stale", "--transaction", "tx"}, "unknown flag: --stale"},
		{[]string{"setup", "extra"}, `unexpected argument "extra"`},
	} {
		code, _, stderr := inProcess(nil, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("hubctl %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
}

func TestFailedListNamesBothMissingQueues(t *testing.T) {
	t.Parallel()
	code, _, stderr := inProcess(nil, "failed", "list", "--json")
	if code != 2 || !strings.Contains(stderr, "QUEUE_URL is not set") || !strings.Contains(stderr, "DLQ_URL is not set") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestHelpIsPerCommandWithExamples(t *testing.T) {
	t.Parallel()
	code, stdout, _ := inProcess(nil, "--help")
	for _, want := range []string{"work", "failed", "status", "Coming from Laravel", "php artisan queue:retry all", "Exit codes", "completion"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("hubctl --help: exit %d, lacks %q:\n%s", code, want, stdout)
		}
	}
	if code, stdout, _ := inProcess(nil); code != 2 || !strings.Contains(stdout, "Coming from Laravel") {
		t.Fatalf("hubctl alone: exit %d, want 2 and the usage\n%s", code, stdout)
	}
	for _, args := range [][]string{{"work"}, {"setup"}, {"dev"}, {"send", "stripe"}, {"send", "monetbil"}, {"failed"}, {"failed", "list"}, {"failed", "retry"}, {"failed", "forget"}, {"failed", "flush"}, {"failed", "moves"}, {"status"}, {"transactions", "get"}, {"transactions", "expect"}, {"events", "get"}} {
		code, stdout, _ := inProcess(nil, append(args, "--help")...)
		if code != 0 || !strings.Contains(stdout, "Examples:") || strings.Contains(stdout, "Coming from Laravel") {
			t.Errorf("hubctl %s --help: exit %d\n%s", strings.Join(args, " "), code, stdout)
		}
	}
	// Flags anywhere on the line.
	if code, _, stderr := inProcess(nil, "failed", "--json", "list", "--limit", "3"); code != 2 || !strings.Contains(stderr, "QUEUE_URL") {
		t.Errorf("flag before the command: exit %d %s", code, stderr)
	}
}

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, stdout, stderr := inProcess(nil, "completion", shell)
		if code != 0 || !strings.Contains(stdout, "hubctl") {
			t.Errorf("completion %s: exit %d %s", shell, code, stderr)
		}
	}
}

func TestProgressShowsOnlyOnATerminalAfterASecond(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := (&cli{stderr: &b, terminal: true}).progress()
	p.show("read %d", 1)
	if b.Len() != 0 {
		t.Fatalf("progress shown before a second: %q", b.String())
	}
	p.start = p.start.Add(-2 * progressAfter)
	p.show("read %d", 2)
	p.done()
	if !strings.Contains(b.String(), "read 2") || !strings.HasSuffix(b.String(), "\r\033[K") {
		t.Fatalf("progress %q", b.String())
	}
	b.Reset()
	off := (&cli{stderr: &b}).progress()
	off.start = off.start.Add(-2 * progressAfter)
	off.show("read %d", 3)
	off.done()
	if b.Len() != 0 {
		t.Fatalf("progress shown off a terminal: %q", b.String())
	}
}

func TestABadAutoRedriveScheduleIsAUsageError(t *testing.T) {
	t.Parallel()
	env := map[string]string{"QUEUE_URL": "http://127.0.0.1:1/000000000000/q", "DLQ_URL": "http://127.0.0.1:1/000000000000/dlq", "AUTO_REDRIVE_SECONDS": "5m"}
	for _, args := range [][]string{{"failed", "list"}, {"events", "get", "stripe", "evt_1"}, {"status"}, {"work"}} {
		code, _, stderr := inProcess(env, args...)
		if code != 2 || !strings.Contains(stderr, "AUTO_REDRIVE_SECONDS") {
			t.Errorf("hubctl %s: exit %d %q", strings.Join(args, " "), code, stderr)
		}
	}
}
