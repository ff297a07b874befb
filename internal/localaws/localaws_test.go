package localaws

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests start the real servers. They need npm (the first run installs
// infra/local/node_modules from the registry) and Java; `go test -short` skips them.

var (
	installOnce sync.Once
	installErr  error
)

// installed runs Install once per test binary.
func installed(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real servers; skipped with -short")
	}
	installOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		installErr = Install(ctx)
	})
	if installErr != nil {
		t.Fatal(installErr)
	}
}

func TestServersStartAndStop(t *testing.T) {
	installed(t)
	tests := []struct {
		name  string
		start func(context.Context, Options) (*Server, error)
		// check makes a real request beyond the readiness probe.
		check func(context.Context, *http.Client, string) error
	}{
		{NameFauxqs, StartFauxqs, createQueue},
		{NameLocalAWSSQS, StartLocalAWSSQS, createQueue},
		{NameDynamoDB, StartDynamoDBLocal, listTables},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			state := t.TempDir()
			s, err := tt.start(ctx, Options{StateDir: state})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Stop() })
			t.Logf("%s ready on %s (pid %d) in %s", s.Name, s.Endpoint, s.PID, s.Startup.Round(time.Millisecond))

			if s.Name != tt.name || !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") || s.PID <= 0 {
				t.Fatalf("unexpected server %+v", s)
			}
			if s.LogPath != filepath.Join(state, tt.name+".log") {
				t.Errorf("LogPath = %q, want it in the state dir", s.LogPath)
			}
			cmdline, err := processCmdline(s.PID)
			if err != nil || !strings.Contains(cmdline, s.Marker) {
				t.Errorf("cmdline of pid %d = %q (%v), want it to contain %q", s.PID, cmdline, err, s.Marker)
			}
			if pgid, err := syscall.Getpgid(s.PID); err != nil || pgid != s.PID {
				t.Errorf("pgid of %d = %d (%v), want its own group", s.PID, pgid, err)
			}
			client := probeClient()
			if err := tt.check(ctx, client, s.Endpoint); err != nil {
				t.Fatal(err)
			}
			if tt.name != NameDynamoDB { // DynamoDB Local has no bind-address option
				assertLoopbackOnly(t, s.Port)
			}

			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			if err := s.Stop(); err != nil {
				t.Errorf("second Stop: %v", err)
			}
			assertGone(t, s.PID, s.Port)
		})
	}
}

func TestStartAll(t *testing.T) {
	installed(t)
	t.Setenv("AWS_REGION", "eu-west-3") // must be kept, not overridden
	st, err := StartAll(context.Background(), Options{StateDir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Stop() })

	env := map[string]string{}
	for _, kv := range st.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	want := map[string]string{
		"AWS_ENDPOINT_URL_SQS":       st.Fauxqs.Endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB":  st.DynamoDB.Endpoint,
		"HUB_MOVE_TASK_SQS_ENDPOINT": st.LocalAWSSQS.Endpoint,
		"HUB_LOCAL_NODE":             st.Node,
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["AWS_REGION"]; ok {
		t.Error("Env overrides AWS_REGION that is already set")
	}
	if _, ok := os.LookupEnv("AWS_ACCESS_KEY_ID"); !ok && env["AWS_ACCESS_KEY_ID"] != "test" {
		t.Errorf("AWS_ACCESS_KEY_ID = %q, want test", env["AWS_ACCESS_KEY_ID"])
	}

	ports := map[int]bool{}
	for _, s := range st.Servers() {
		ports[s.Port] = true
	}
	if len(ports) != 3 {
		t.Errorf("servers share ports: %v", ports)
	}
	servers := st.Servers()
	if err := st.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		assertGone(t, s.PID, s.Port)
	}
}

// TestDetachedStopPID covers the CLI's up/down path: a detached server stopped by PID.
func TestDetachedStopPID(t *testing.T) {
	installed(t)
	s, err := StartFauxqs(context.Background(), Options{StateDir: t.TempDir(), Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	if sid, err := getsid(s.PID); err != nil || sid != s.PID {
		t.Errorf("sid of %d = %d (%v), want a session of its own", s.PID, sid, err)
	}

	if err := StopPID(s.PID, "no-such-program.jar", time.Second); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("StopPID with a wrong marker = %v, want ErrNotOurs", err)
	}
	if !processAlive(s.PID) {
		t.Fatal("StopPID with a wrong marker stopped the process")
	}
	if err := StopPID(s.PID, s.Marker, time.Second); err != nil {
		t.Fatal(err)
	}
	assertGone(t, s.PID, s.Port)
	if err := StopPID(s.PID, s.Marker, time.Second); err != nil {
		t.Errorf("StopPID of a stopped server: %v", err)
	}
}

func TestStopPIDRefusesOtherProcesses(t *testing.T) {
	if err := StopPID(os.Getpid(), "DynamoDBLocal.jar", time.Second); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("StopPID(self) = %v, want ErrNotOurs", err)
	}
	if err := StopPID(1, "init", time.Second); err == nil {
		t.Fatal("StopPID(1) succeeded")
	}
}

// TestStartFailureQuotesLog starts "node" that is really a shell, which exits with an error
// message; the start error must carry that message from the log.
func TestStartFailureQuotesLog(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the repository layout; skipped with -short")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "node_modules", "fauxqs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node_modules", "fauxqs", "package.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "node")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'boom: cannot start' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := StartFauxqs(context.Background(), Options{Dir: dir, Node: fake, StateDir: t.TempDir()})
	if err == nil {
		t.Fatal("start succeeded")
	}
	for _, want := range []string{"exited before it was ready", "exit status 3", "boom: cannot start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestReadyTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the repository layout; skipped with -short")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "node_modules", "fauxqs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node_modules", "fauxqs", "package.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A "server" that never listens, and ignores SIGTERM so Stop must escalate to SIGKILL.
	fake := filepath.Join(dir, "node")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\ntrap '' TERM\necho started\nwhile :; do sleep 0.1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err := StartFauxqs(context.Background(), Options{Dir: dir, Node: fake, StateDir: t.TempDir(),
		ReadyTimeout: 500 * time.Millisecond, StopGrace: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "not ready on http://127.0.0.1:") || !strings.Contains(err.Error(), "started") {
		t.Fatalf("err = %v, want a readiness timeout quoting the log", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("timeout and stop took %s", d)
	}
}

func TestRootHonoursHubRepoRoot(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "infra", "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "infra", "local", "package.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HUB_REPO_ROOT", repo)
	got, err := Root()
	if err != nil || got != filepath.Join(repo, "infra", "local") {
		t.Fatalf("Root() = %q, %v", got, err)
	}

	t.Setenv("HUB_REPO_ROOT", t.TempDir())
	if _, err := Root(); err == nil {
		t.Fatal("Root() accepted a directory without infra/local/package.json")
	}
}

func TestRootWalksUpToGoMod(t *testing.T) {
	t.Setenv("HUB_REPO_ROOT", "")
	got, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	// The tests run in internal/localaws.
	wd, _ := os.Getwd()
	if want := filepath.Join(filepath.Dir(filepath.Dir(wd)), "infra", "local"); got != want {
		t.Fatalf("Root() = %q, want %q", got, want)
	}
}

func TestTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte("first line\nsecond line\nthird line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := tail(p, 15); got != "third line" {
		t.Errorf("tail = %q, want whole last line", got)
	}
	if got := tail(p, 1000); got != "first line\nsecond line\nthird line" {
		t.Errorf("tail = %q", got)
	}
}

func createQueue(ctx context.Context, c *http.Client, endpoint string) error {
	req, err := awsJSONRequest(ctx, endpoint, "AmazonSQS.CreateQueue", "sqs", `{"QueueName":"localaws-test"}`)
	if err != nil {
		return err
	}
	_, err = do(c, req, http.StatusOK, "localaws-test")
	return err
}

func listTables(ctx context.Context, c *http.Client, endpoint string) error {
	req, err := awsJSONRequest(ctx, endpoint, "DynamoDB_20120810.ListTables", "dynamodb", `{}`)
	if err != nil {
		return err
	}
	_, err = do(c, req, http.StatusOK, "TableNames")
	return err
}

// assertLoopbackOnly checks the server does not answer on a non-loopback address of this
// machine (if it has one).
func assertLoopbackOnly(t *testing.T, port int) {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.To4() == nil {
			continue
		}
		addr := net.JoinHostPort(ipn.IP.String(), itoa(port))
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("server also listens on %s", addr)
		}
		return
	}
}

// assertGone checks that pid has exited and that nothing listens on port any more.
func assertGone(t *testing.T, pid, port int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for processAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if processAlive(pid) {
		t.Errorf("pid %d still running", pid)
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", itoa(port)), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still accepts connections", port)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// getsid reads pid's session id from /proc (the syscall package has no Getsid).
func getsid(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name: state ppid pgrp session ...
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 4 {
		return 0, errors.New("short /proc stat")
	}
	return strconv.Atoi(fields[3])
}
