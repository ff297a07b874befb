package hubtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	hubctlOnce sync.Once
	hubctlDir  string
	hubctlPath string
	hubctlErr  error
)

// Main runs a test binary's tests and then removes the hubctl they built:
// func TestMain(m *testing.M) { os.Exit(hubtest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	if hubctlDir != "" {
		_ = os.RemoveAll(hubctlDir)
	}
	return code
}

// Hubctl returns the path of the hubctl binary, built once per test binary
// (the end-to-end tests run the real command, exit codes included).
func Hubctl(t testing.TB) string {
	t.Helper()
	hubctlOnce.Do(func() {
		if hubctlDir, hubctlErr = os.MkdirTemp("", "hubtest-hubctl"); hubctlErr != nil {
			return
		}
		hubctlPath = filepath.Join(hubctlDir, "hubctl")
		out, err := exec.Command("go", "build", "-o", hubctlPath, "github.com/payments-hub/hub/cmd/hubctl").CombinedOutput()
		if err != nil {
			hubctlErr = fmt.Errorf("build hubctl: %w\n%s", err, out)
		}
	})
	if hubctlErr != nil {
		t.Fatal(hubctlErr)
	}
	return hubctlPath
}

// RunHubctl runs one hubctl command to completion with env added to the
// test's environment.
func RunHubctl(t testing.TB, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(Hubctl(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// Process is a running hubctl (work, dev), killed when the test ends.
type Process struct {
	Cmd  *exec.Cmd
	Logs *Logs
	done chan struct{}
}

// StartHubctl starts hubctl with args; its stdout and stderr go to Logs,
// shown (the last 4 KB) when the test fails.
func StartHubctl(t testing.TB, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{Logs: &Logs{}, done: make(chan struct{})}
	p.Cmd = exec.Command(Hubctl(t), args...)
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Logs, p.Logs
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.Cmd.Process.Kill() // the process this test started, by its PID
		<-p.done
		if t.Failed() {
			t.Logf("hubctl %s output (last 4 KB):\n%s", strings.Join(args, " "), tail(p.Logs.String(), 4096))
		}
	})
	return p
}

// Exited reports whether the process ended within timeout.
func (p *Process) Exited(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// WaitFor polls cond until it holds, failing the test after timeout.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
