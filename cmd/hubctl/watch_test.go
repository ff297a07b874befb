package main_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/payments-hub/hub/internal/hubtest"
)

// tmux is a tmux server of the test's own (its own socket), killed when
// the test ends.
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		msg := "the live view's test needs tmux: install it (Debian: apt-get install tmux)"
		if os.Getenv(hubtest.EnvRequire) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	x := &tmux{t: t, socket: hubtest.Name("hubctl-watch")}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", x.socket, "kill-server").Run() })
	return x
}

func (x *tmux) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", x.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// screen is what the pane shows now.
func (x *tmux) screen() string { return x.run("capture-pane", "-p", "-t", "watch") }

// waitScreen waits until the pane shows what ok accepts, and returns it.
func (x *tmux) waitScreen(what string, ok func(string) bool) string {
	x.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := x.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("gave up after 60s waiting for %s; the screen:\n%s", what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The live view under a real terminal (tmux, 100 columns wide): it redraws
// in place, every line fits 80 columns, the flow of `hubctl dev` shows, and
// q and Ctrl-C each end it with exit 0 and the terminal restored.
func TestTheLiveViewRedrawsInPlaceAndQuitsCleanly(t *testing.T) {
	t.Parallel()
	x := newTmux(t)
	_, env := startDev(t)
	if r := hub(t, env, "send", "stripe", "payment_intent.succeeded", "--transaction", "tx-watch-1"); r.code != 0 {
		t.Fatalf("send: %d %s", r.code, r.stderr)
	}
	// Two views in a row in one shell: the first quits with q, the second
	// with Ctrl-C; after each, the shell says its exit code and whether the
	// terminal is back in line mode with echo, and waits for a line.
	script := filepath.Join(t.TempDir(), "watch.sh")
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "export %s='%s'\n", k, v)
	}
	for i := 1; i <= 2; i++ {
		fmt.Fprintf(&b, "'%s' status --watch --interval 1s\necho \"EXIT%d=$? $(stty -a | grep -o -- '-\\?icanon') $(stty -a | grep -o -- ' -\\?echo ')\"\nread next\n", hubtest.Hubctl(t), i)
	}
	b.WriteString("sleep 600\n")
	if err := os.WriteFile(script, []byte(b.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	x.run("new-session", "-d", "-s", "watch", "-x", "100", "-y", "50", script)

	live := func(s string) bool { return strings.Contains(s, "Payments Hub - live") && strings.Contains(s, "QUEUE") }
	first := x.waitScreen("the live view", live)
	checkFrame(t, first)
	stamp := regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`)
	second := x.waitScreen("the view redrawn with a later time", func(s string) bool {
		return live(s) && stamp.FindString(s) != "" && stamp.FindString(s) != stamp.FindString(first)
	})
	checkFrame(t, second)
	// The flow is live: the warm-up event and the payment sent are
	// counted, then the next payment.
	processed := regexp.MustCompile(`stripe\s+processed\s+\S+\s+(\d+)`)
	x.waitScreen("the payment counted", func(s string) bool { m := processed.FindStringSubmatch(s); return m != nil && m[1] == "2" })
	if r := hub(t, env, "send", "stripe", "payment_intent.succeeded", "--transaction", "tx-watch-2"); r.code != 0 {
		t.Fatalf("send: %d %s", r.code, r.stderr)
	}
	checkFrame(t, x.waitScreen("the second payment counted", func(s string) bool { m := processed.FindStringSubmatch(s); return m != nil && m[1] == "3" }))

	x.run("send-keys", "-t", "watch", "q")
	s := x.waitScreen("the view to quit on q", func(s string) bool { return strings.Contains(s, "EXIT1=") })
	restored := regexp.MustCompile(`EXIT(\d)=(\d+) (-?icanon) +(-?echo)\s`)
	if m := restored.FindStringSubmatch(s + "\n"); m == nil || m[1] != "1" || m[2] != "0" || m[3] != "icanon" || m[4] != "echo" || strings.Contains(s, "Payments Hub - live") {
		t.Fatalf("after q:\n%s", s)
	}
	x.run("send-keys", "-t", "watch", "next", "Enter")
	x.waitScreen("the second view", live)
	x.run("send-keys", "-t", "watch", "C-c")
	s = x.waitScreen("the view to quit on Ctrl-C", func(s string) bool { return strings.Contains(s, "EXIT2=") })
	if m := restored.FindAllStringSubmatch(s+"\n", -1); len(m) != 2 || m[1][2] != "0" || m[1][3] != "icanon" || m[1][4] != "echo" {
		t.Fatalf("after Ctrl-C:\n%s", s)
	}
}

// checkFrame checks one screen of the view: drawn from the top, once, each
// line within 80 columns.
func checkFrame(t *testing.T, s string) {
	t.Helper()
	lines := strings.Split(s, "\n")
	if !strings.HasPrefix(lines[0], "Payments Hub - live") || strings.Count(s, "Payments Hub - live") != 1 {
		t.Fatalf("the view is not drawn in place, from the top:\n%s", s)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Fatalf("a line of %d columns:\n%s", n, l)
		}
	}
}

// Where CloudWatch answers (AWS, LocalStack), status reads the oldest
// message's age from it; one that cannot be reached leaves the age unknown
// and says why, and the rest of the status stands. (make test records the
// call for the operator's IAM set.)
func TestStatusSaysWhenCloudWatchCannotBeRead(t *testing.T) {
	t.Parallel()
	s := hubtest.NewStack(t, hubtest.Options{})
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	r := hub(t, append(s.Env(), "AWS_ENDPOINT_URL_CLOUDWATCH="+closed.URL), "status", "--json", "--failures", "1")
	if r.code != 0 || !strings.Contains(r.stdout, `"oldest_age_note": "unknown (CloudWatch:`) || !strings.Contains(r.stdout, `"next_redrive": null`) {
		t.Fatalf("status: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
