package localaws

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	defaultStopGrace = 5 * time.Second
	// killWait bounds the wait for a process to disappear after SIGKILL.
	killWait = 5 * time.Second
	// portAttempts is how often a start is retried when the chosen port was taken between
	// choosing it and the server binding it (another process may bind it in that window).
	portAttempts = 3
	// logTailBytes is how much of a server's log a start error quotes.
	logTailBytes = 4096
)

// Server is a running local server started by this package.
type Server struct {
	Name     string        // NameFauxqs, NameLocalAWSSQS or NameDynamoDB
	Endpoint string        // http://127.0.0.1:<port>
	Port     int           // TCP port the server listens on
	PID      int           // process id; also the process group id
	LogPath  string        // file with the server's stdout and stderr
	Marker   string        // substring of the process's command line that identifies it (see StopPID)
	Startup  time.Duration // from process start to readiness

	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has exited and been reaped
	grace    time.Duration
	ownedDir string // temporary state directory created for this server, removed by Stop
	began    time.Time

	stopOnce sync.Once
	stopErr  error
}

// spec describes how to run and probe one kind of server.
type spec struct {
	name    string
	path    string                  // executable
	args    func(port int) []string // command-line arguments
	env     func(port int) []string // extra environment
	marker  string                  // substring of the command line, for StopPID
	probe   func(ctx context.Context, c *http.Client, endpoint string) error
	timeout time.Duration // default readiness timeout
}

// start runs sp on a free port and waits until it is ready. A start that fails because the
// port was taken in the meantime is retried on another port.
func start(ctx context.Context, sp spec, o Options) (*Server, error) {
	stateDir, ownedDir, err := prepareState(o.StateDir, sp.name)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(stateDir, sp.name+".log")
	// One log file for all attempts (O_APPEND, so the server's stdout and stderr, which share
	// it, never overwrite each other). Children get their own copy of the descriptor, so
	// closing ours when start returns does not affect them.
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("localaws: %w", err)
	}
	defer logFile.Close()
	timeout := cmp.Or(max(o.ReadyTimeout, 0), sp.timeout)

	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		offset, _ := logFile.Seek(0, io.SeekEnd)
		s, err := launch(sp, o, port, stateDir, ownedDir, logFile, logPath)
		if err != nil {
			return nil, err
		}
		err = s.waitReady(ctx, sp.probe, timeout)
		if err == nil {
			s.Startup = time.Since(s.began)
			o.logf("%s ready on %s (pid %d) in %.1fs", s.Name, s.Endpoint, s.PID, s.Startup.Seconds())
			return s, nil
		}
		_ = s.stop()
		if errors.Is(err, errExited) && attempt < portAttempts && portTaken(logPath, offset) {
			o.logf("%s: port %d was taken, retrying on another", sp.name, port)
			continue
		}
		if errors.Is(err, ErrCanceled) { // the caller gave up: the log has nothing to explain
			if ownedDir != "" {
				_ = os.RemoveAll(ownedDir)
			}
			return nil, fmt.Errorf("localaws: %s: %w", sp.name, err)
		}
		return nil, fmt.Errorf("localaws: %s: %w\n--- last lines of %s ---\n%s", sp.name, err, logPath, tail(logPath, logTailBytes))
	}
}

// prepareState returns the absolute state directory, making a temporary one
// (ownedDir, removed by a clean Stop) when none is given.
func prepareState(dir, name string) (stateDir, ownedDir string, err error) {
	if dir == "" {
		if dir, err = os.MkdirTemp("", "localaws-"+name+"-"); err != nil {
			return "", "", fmt.Errorf("localaws: %w", err)
		}
		ownedDir = dir
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("localaws: %w", err)
	}
	if stateDir, err = filepath.Abs(dir); err != nil {
		return "", "", fmt.Errorf("localaws: %w", err)
	}
	return stateDir, ownedDir, nil
}

// launch starts one server process on port and reaps it when it exits, so
// that an early exit is noticed during the readiness wait and Stop can tell
// when the process is gone.
func launch(sp spec, o Options, port int, stateDir, ownedDir string, logFile *os.File, logPath string) (*Server, error) {
	cmd := exec.Command(sp.path, sp.args(port)...)
	cmd.Dir = stateDir
	cmd.Env = append(os.Environ(), sp.env(port)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile // an *os.File is passed as is: no copying goroutine ties the child to us
	cmd.SysProcAttr = sysProcAttr(o.Detach)
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("localaws: start %s: %w", sp.name, err)
	}
	s := &Server{
		Name: sp.name, Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), Port: port, PID: cmd.Process.Pid,
		LogPath: logPath, Marker: sp.marker, cmd: cmd, exited: make(chan struct{}),
		grace: cmp.Or(max(o.StopGrace, 0), defaultStopGrace), ownedDir: ownedDir, began: began,
	}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

var errExited = errors.New("process exited before it was ready")

// ErrCanceled is wrapped by start errors caused by the caller's context ending (a signal, or
// another server of StartAll failing), as opposed to the server failing.
var ErrCanceled = errors.New("start canceled")

// waitReady polls probe until it succeeds, the process exits, the timeout passes or ctx ends.
func (s *Server) waitReady(ctx context.Context, probe func(context.Context, *http.Client, string) error, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := probeClient()
	defer client.CloseIdleConnections()

	delay := 25 * time.Millisecond
	var last error
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("%w (%s)", errExited, s.cmd.ProcessState)
		default:
		}
		// Each probe gets a short deadline of its own so one hung request cannot use up
		// the whole wait.
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		last = probe(pctx, client, s.Endpoint)
		pcancel()
		if last == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%w (%s)", errExited, s.cmd.ProcessState)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("not ready on %s within %s (pid %d; last check: %w)", s.Endpoint, timeout, s.PID, last)
			}
			return fmt.Errorf("%w: %w", ErrCanceled, context.Cause(ctx))
		case <-time.After(delay):
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// Stop stops the server: SIGTERM to its process group, SIGKILL after the grace period.
// It is idempotent and safe to call from several goroutines. A clean stop also removes the
// temporary state directory created when Options.StateDir was empty.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.stopErr = s.stop()
		if s.stopErr == nil && s.ownedDir != "" {
			s.stopErr = os.RemoveAll(s.ownedDir)
		}
	})
	return s.stopErr
}

func (s *Server) stop() error {
	// Signal the group only while the leader has not been reaped: until then its PID, which
	// is the group id, cannot belong to anyone else.
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = syscall.Kill(-s.PID, syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(s.grace):
	}
	_ = syscall.Kill(-s.PID, syscall.SIGKILL)
	select {
	case <-s.exited:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("localaws: %s (pid %d) still running after SIGKILL", s.Name, s.PID)
	}
}

// ErrNotOurs is returned by StopPID when the PID now belongs to another program.
var ErrNotOurs = errors.New("process is not the one localaws started")

// StopPID stops a server started earlier, possibly by another process (the CLI's `down`
// after a detached `up`). It signals the process group pid only if the process still runs a
// command line containing marker and still leads its own group, so a recycled PID is never
// signalled. A process that is already gone is not an error.
func StopPID(pid int, marker string, grace time.Duration) error {
	if pid <= 1 || marker == "" {
		return fmt.Errorf("localaws: refusing to stop pid %d with marker %q", pid, marker)
	}
	if grace <= 0 {
		grace = defaultStopGrace
	}
	ours := func() (alive bool, err error) {
		cmdline, err := processCmdline(pid)
		if err != nil || cmdline == "" { // gone, or a zombie waiting for its parent
			return false, nil
		}
		if !strings.Contains(cmdline, marker) {
			return true, fmt.Errorf("localaws: pid %d runs %q: %w", pid, cmdline, ErrNotOurs)
		}
		if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
			return true, fmt.Errorf("localaws: pid %d does not lead its process group: %w", pid, ErrNotOurs)
		}
		return true, nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		alive, err := ours()
		if err != nil || !alive {
			return err
		}
		_ = syscall.Kill(-pid, sig)
		wait := grace
		if sig == syscall.SIGKILL {
			wait = killWait
		}
		for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if !processAlive(pid) {
				return nil
			}
		}
	}
	return fmt.Errorf("localaws: pid %d still running after SIGKILL", pid)
}

// Running reports whether pid is alive and runs a command line containing marker, i.e. is
// still the server that was started with that marker and not a recycled PID.
func Running(pid int, marker string) bool {
	cmdline, err := processCmdline(pid)
	return err == nil && marker != "" && strings.Contains(cmdline, marker)
}

// processAlive reports whether pid exists and is not a zombie (a zombie has exited; it only
// waits for its parent to reap it).
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	cmdline, err := processCmdline(pid)
	return err == nil && cmdline != ""
}

// freePort returns a TCP port that was free on the loopback interface a moment ago. The
// server binds it shortly after; start retries if someone else got there first.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localaws: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portTaken reports whether the log written since offset says the port was already in use
// (Node: EADDRINUSE; Java: BindException / "Address already in use").
func portTaken(logPath string, offset int64) bool {
	f, err := os.Open(logPath)
	if err != nil {
		return false
	}
	defer f.Close()
	b, _ := io.ReadAll(io.NewSectionReader(f, offset, 1<<20))
	return bytes.Contains(b, []byte("EADDRINUSE")) || bytes.Contains(b, []byte("Address already in use")) ||
		bytes.Contains(b, []byte("BindException"))
}

// tail returns about the last n bytes of a file, starting at a line boundary.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	off := max(info.Size()-n, 0)
	b, _ := io.ReadAll(io.NewSectionReader(f, off, n))
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "(log is empty)"
	}
	return strings.TrimRight(string(b), "\n")
}

// probeClient returns an HTTP client for readiness checks. Keep-alives are off so no idle
// connection to a server outlives its check.
func probeClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true},
		Timeout:   5 * time.Second,
	}
}
