//go:build unix && !linux

package localaws

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr: see proc_linux.go. Other systems have no parent-death signal, so an attached
// server can outlive a caller killed with SIGKILL there.
func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true}
}

// processCmdline returns pid's command line as ps shows it (no /proc here).
func processCmdline(pid int) (string, error) {
	out, err := exec.Command("ps", "-o", "command=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
