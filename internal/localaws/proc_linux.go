package localaws

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// sysProcAttr puts the server in a process group of its own, so Stop can signal it and
// anything it spawned without touching the caller's group, and so a Ctrl-C in the terminal
// (sent to the foreground group) does not reach it: the caller decides when it stops.
//
// Attached servers also get a parent-death signal, so they do not outlive a caller that is
// killed outright (a `go test` timeout, kill -9). Linux delivers it when the OS thread that
// started the child exits; Go only ends threads of goroutines that exit while locked to
// them, which nothing here does.
//
// Detached servers start a new session instead (which also makes them group leaders), with
// no parent-death signal, so they survive the launcher and its terminal.
func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// processCmdline returns pid's command line with arguments separated by spaces; it is
// empty for a zombie.
func processCmdline(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return "", err
	}
	return string(bytes.TrimRight(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), " ")), nil
}
