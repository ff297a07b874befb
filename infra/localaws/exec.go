package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/payments-hub/hub/internal/localaws"
)

func cmdExec(args []string) (int, error) {
	var state string
	argv, err := parse("exec", args, &state, false)
	if err != nil {
		return 0, err
	}
	if len(argv) == 0 {
		return 0, fmt.Errorf("%w: exec needs a command: exec [--state DIR] -- CMD [ARGS...]", errUsage)
	}
	// Fail before spending seconds on the servers if CMD cannot run at all.
	if _, err := exec.LookPath(argv[0]); err != nil {
		return 127, err // as a shell reports a command not found
	}
	relay := newRelay()
	defer relay.stop()

	if err := install(relay.ctx); err != nil {
		return relay.code(1), err
	}
	st, err := localaws.StartAll(relay.ctx, localaws.Options{StateDir: state, Logf: logf})
	if err != nil {
		return relay.code(1), err
	}
	defer func() {
		began := time.Now()
		if err := st.Stop(); err != nil {
			logf("stopping servers: %v", err)
			return
		}
		logf("servers stopped in %.1fs", time.Since(began).Seconds())
	}()

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), st.Env()...)
	cmd.SysProcAttr = cmdSysProcAttr()
	if code, err := relay.start(cmd); err != nil {
		return code, err
	}
	return exitCode(cmd.Wait())
}

// relay handles signals around a command: before the command runs they
// cancel the start-up; once it runs they are forwarded to it, and the
// servers are stopped after it exits. The command shares our process group,
// so a Ctrl-C in a terminal reaches it directly too (and once more through
// us); the servers have groups of their own and only stop when we stop them.
type relay struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	sigs   chan os.Signal

	mu       sync.Mutex
	child    *os.Process
	received os.Signal
}

func newRelay() *relay {
	r := &relay{sigs: make(chan os.Signal, 4)}
	r.ctx, r.cancel = context.WithCancelCause(context.Background())
	signal.Notify(r.sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go r.loop()
	return r
}

func (r *relay) loop() {
	for sig := range r.sigs {
		r.mu.Lock()
		if r.child != nil {
			_ = r.child.Signal(sig)
		} else if r.received == nil {
			r.received = sig
			r.cancel(fmt.Errorf("received %v", sig))
		}
		r.mu.Unlock()
	}
}

func (r *relay) stop() {
	signal.Stop(r.sigs)
	r.cancel(nil)
}

// code is the exit code to report: 128 + the signal that interrupted the
// start-up, as a shell reports it, or otherwise.
func (r *relay) code(otherwise int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.received.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return otherwise
}

// start starts cmd, unless a signal arrived while the servers were
// starting; from then on signals go to it.
func (r *relay) start(cmd *exec.Cmd) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.received.(syscall.Signal); ok {
		return 128 + int(s), fmt.Errorf("interrupted before %s started", cmd.Path)
	}
	if err := cmd.Start(); err != nil {
		code := 126 // found but not runnable, as a shell reports it
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = 127
		}
		return code, err
	}
	r.child = cmd.Process
	return 0, nil
}

// exitCode reports a finished command's exit as a shell does.
func exitCode(err error) (int, error) {
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil // a command killed by a signal
		}
		return exitErr.ExitCode(), nil
	default:
		return 1, err
	}
}
